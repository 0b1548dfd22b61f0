"""Business-scoped user IDs (BSUIDs): Meta's per-portfolio identifier of a WhatsApp user.

A BSUID is the user's ISO 3166 alpha-2 country code, a period and up to 128 alphanumeric
characters (``US.13491208655302741918``); a parent BSUID, shared by linked portfolios, has ``ENT``
between them (``US.ENT.11815799212886844830``). Users who adopt a username may reach us with a
BSUID and no phone number, so a customer is a phone, a BSUID or both (see docs/cloud-api.md).
The format rule lives here alone: the webhook parser, the send payloads, the loaders and the
sandbox all ask this module.
"""

from __future__ import annotations

import re

BSUID_RE = re.compile(r"[A-Z]{2}\.[A-Za-z0-9]{1,128}")
PARENT_BSUID_RE = re.compile(r"[A-Z]{2}\.ENT\.[A-Za-z0-9]{1,128}")
ANY_BSUID_PATTERN = r"^[A-Z]{2}\.(?:ENT\.)?[A-Za-z0-9]{1,128}$"
"""A BSUID or parent BSUID as a whole string, for vectorised matching (pyarrow, pandas)."""


def is_bsuid(value: object) -> bool:
    """True for a (non-parent) BSUID such as ``US.13491208655302741918``."""
    return isinstance(value, str) and BSUID_RE.fullmatch(value) is not None


def is_parent_bsuid(value: object) -> bool:
    """True for a parent BSUID such as ``US.ENT.11815799212886844830``."""
    return isinstance(value, str) and PARENT_BSUID_RE.fullmatch(value) is not None


def is_any_bsuid(value: object) -> bool:
    """True for a BSUID or a parent BSUID: both are valid send recipients."""
    return is_bsuid(value) or is_parent_bsuid(value)


def bsuid_country(value: str) -> str:
    """The ISO 3166 alpha-2 country code a BSUID starts with."""
    if not is_any_bsuid(value):
        raise ValueError("not a business-scoped user ID")
    return value[:2]
