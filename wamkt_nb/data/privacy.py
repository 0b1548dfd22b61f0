"""Masking of personal data for previews, dashboards and logs."""

from __future__ import annotations

import pandas as pd


def mask_phone(phone: object) -> str:
    """``+491511234567`` -> ``+49151*****67``: enough to recognise a number, not to dial it.

    Works on raw text too ("0151 1234567" -> "0151 1*****67"): only digits are hidden.
    """
    if phone is None or (not isinstance(phone, str) and pd.isna(phone)):
        return ""
    text = str(phone).strip()
    digits = [i for i, ch in enumerate(text) if ch.isdigit()]
    if len(digits) <= 4:
        hidden = set(digits)
    else:
        hidden = set(digits[min(5, len(digits) - 4): -2])
    return "".join("*" if i in hidden else ch for i, ch in enumerate(text))


def mask_phones(phones: pd.Series) -> pd.Series:
    """``mask_phone`` over a Series, computed once per distinct number."""
    unique = pd.unique(phones.dropna())
    masked = {p: mask_phone(p) for p in unique}
    return phones.map(masked).fillna("").astype("string")


def mask_email(email: object) -> str:
    """``anna.mueller@example.com`` -> ``a***@example.com``."""
    if email is None or (not isinstance(email, str) and pd.isna(email)):
        return ""
    local, at, domain = str(email).partition("@")
    return f"{local[:1]}***{at}{domain}" if at else "***"
