"""Masking of personal data for previews, dashboards and logs."""

from __future__ import annotations

import pandas as pd


def mask_phone(phone: object) -> str:
    """``+491511234567`` -> ``+49151*****67``: enough to recognise a number, not to dial it."""
    if phone is None or (not isinstance(phone, str) and pd.isna(phone)):
        return ""
    text = str(phone).strip()
    digits = text.lstrip("+")
    if len(digits) <= 4:
        return "+" * (len(text) - len(digits)) + "*" * len(digits)
    keep_head = min(5, len(digits) - 4)
    head, tail = digits[:keep_head], digits[-2:]
    return "+" * (len(text) - len(digits)) + head + "*" * (len(digits) - keep_head - 2) + tail


def mask_phones(phones: pd.Series) -> pd.Series:
    """``mask_phone`` over a Series, computed once per distinct number."""
    unique = pd.unique(phones.dropna())
    masked = {p: mask_phone(p) for p in unique}
    return phones.map(masked).fillna("").astype("string")
