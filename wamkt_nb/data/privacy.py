"""Personal data kept out of what people see: masking for previews, dashboards and logs, and
customer ids that do not carry the phone number.

Customer ids travel further than the data (tables on screen, exports, Meta's
``biz_opaque_callback_data``), so a source without an id column gets ``c_`` + a keyed hash of the
E.164 number. The key is random and per workspace (``customer-id.key``): the same workspace gives
the same id on every load, so merges, orders and the ledger keep joining; without the key the ids
cannot be turned back into numbers by hashing every possible phone number. Trade-off: a new
workspace (or a deleted key file) gives new ids for the same customers.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..bsuid import is_any_bsuid
from ..private_files import private_dir
from ..settings import workspace_dir

KEY_FILE = "customer-id.key"
ID_PREFIX = "c_"
PHONE_PATTERN = re.compile(r"(?<![\w+.])\+?[1-9](?:[ \-./()]{0,2}\d){7,14}(?!\w)")
"""An international number in text: E.164 (``+491511234567``), WhatsApp's ``wa_id`` form without
the plus (11–15 digits, see below), or with single separators (``+49 151 1234567``)."""
EMAIL_PATTERN = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
BSUID_PATTERN = re.compile(r"(?<![\w.])[A-Z]{2}\.(?:ENT\.)?[A-Za-z0-9]{5,128}(?![\w.])")
"""A business-scoped user ID (or parent BSUID) in text: ``US.13491208655302741918``."""
IDENTITY_COLUMNS = ("bsuid", "user_id", "parent_user_id", "recipient_user_id")
USERNAME_COLUMNS = ("username",)
_MIN_BARE_DIGITS = 11  # a bare digit run counts as a phone from here (a wa_id); shorter ones are amounts


def mask_phone(phone: object) -> str:
    """``+491511234567`` -> ``+49151*****67``: enough to recognise a number, not to dial it.

    Works on raw text too ("0151 1234567" -> "0151 1*****67"): only digits are hidden.
    """
    if phone is None or (not isinstance(phone, str) and pd.isna(phone)):
        return ""
    text = str(phone).strip()
    if is_any_bsuid(text):  # a customer key without a phone is the BSUID
        return mask_bsuid(text)
    digits = [i for i, ch in enumerate(text) if ch.isdigit()]
    if len(digits) <= 4:
        hidden = set(digits)
    else:
        hidden = set(digits[min(5, len(digits) - 4) : -2])
    return "".join("*" if i in hidden else ch for i, ch in enumerate(text))


def mask_phones(phones: pd.Series) -> pd.Series:
    """``mask_phone`` over a Series, computed once per distinct number."""
    unique = pd.unique(phones.dropna())
    masked = {p: mask_phone(p) for p in unique}
    return phones.map(masked).fillna("").astype("string")


def mask_bsuid(bsuid: object) -> str:
    """``US.13491208655302741918`` -> ``US.1349**************18``: the country and enough to tell
    customers apart, not the identifier (it addresses the customer like a phone number)."""
    if not isinstance(bsuid, str):  # missing
        return ""
    prefix, _, rest = bsuid.rpartition(".")
    if len(rest) <= 6:
        return f"{prefix}.{'*' * len(rest)}" if prefix else "*" * len(rest)
    return f"{prefix}.{rest[:4]}{'*' * (len(rest) - 6)}{rest[-2:]}" if prefix else f"{rest[:4]}***"


def mask_username(username: object) -> str:
    """``@sheena.nelson`` -> ``@s***``: a WhatsApp username is personal data, like a name."""
    if not isinstance(username, str):  # missing
        return ""
    text = username.strip()
    at = "@" if text.startswith("@") else ""
    return f"{at}{text[len(at) : len(at) + 1]}***"


def mask_email(email: object) -> str:
    """``anna.mueller@example.com`` -> ``a***@example.com``."""
    if email is None or (not isinstance(email, str) and pd.isna(email)):
        return ""
    local, at, domain = str(email).partition("@")
    return f"{local[:1]}***{at}{domain}" if at else "***"


def _mask_match(match: re.Match) -> str:
    found = match.group(0)
    digits = sum(ch.isdigit() for ch in found)
    if not found.startswith("+") and (digits < _MIN_BARE_DIGITS or not found.isdigit()):
        return found  # "2025-05-01", "12.50", "1234 5678": not phone numbers
    return mask_phone(found)


def mask_text(text: object) -> object:
    """Phone numbers and e-mail addresses inside free text masked ("call +491511234567" ->
    "call +49151*****67"); anything that is not text comes back unchanged."""
    if not isinstance(text, str):
        return text
    text = EMAIL_PATTERN.sub(lambda m: mask_email(m.group(0)), text)
    text = BSUID_PATTERN.sub(lambda m: mask_bsuid(m.group(0)), text)
    return PHONE_PATTERN.sub(_mask_match, text)


def mask_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy safe to show: the ``phone``, ``email``, BSUID and ``username`` columns masked, and any
    phone number, e-mail address or BSUID in any other text cell (ids, names, messages, reject
    values) too.

    The one function every preview, sample and dashboard table goes through.
    """
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if column == "phone":
            out[column] = mask_phones(values.astype("string"))
        elif column == "email":
            out[column] = values.map(mask_email).astype("string")
        elif column in IDENTITY_COLUMNS:
            out[column] = values.map(mask_bsuid).astype("string")
        elif column in USERNAME_COLUMNS:
            out[column] = values.map(mask_username).astype("string")
        elif values.dtype == object or isinstance(values.dtype, pd.StringDtype):
            unique = pd.unique(values.dropna())
            out[column] = values.map({v: mask_text(v) for v in unique}).where(values.notna(), values)
    return out


def customer_ids(phones: pd.Series, key: bytes) -> pd.Series:
    """Stable ids that do not show the number: ``c_`` + 16 hex digits of a keyed BLAKE2b of each
    E.164 phone (missing phones give missing ids). About 1 s per million distinct numbers."""
    codes, unique = pd.factorize(phones)
    keyed = hashlib.blake2b(key=key, digest_size=8)  # copying the keyed state skips the key block per number
    ids = []
    for phone in unique.tolist():
        h = keyed.copy()
        h.update(str(phone).encode())
        ids.append(ID_PREFIX + h.hexdigest())
    taken = np.array(ids + [None], dtype=object)[codes]  # code -1 (missing) takes the trailing None
    return pd.Series(taken, index=phones.index, dtype="string")


def workspace_id_key(directory: Path | None = None) -> bytes:
    """The workspace's random key for ``customer_ids``, created (owner-only) on first use."""
    path = (directory or workspace_dir()) / KEY_FILE
    if not path.is_file():
        private_dir(path.parent)
        fresh = path.with_name(f"{KEY_FILE}.{os.getpid()}.tmp")
        fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(os.urandom(32))
        try:
            os.link(fresh, path)  # atomic: the first process to link wins, the others use its key
        except FileExistsError:
            pass
        finally:
            fresh.unlink()
    key = path.read_bytes()
    if len(key) != 32:
        raise ValueError(f"{path} is damaged (expected 32 random bytes); delete it to start new customer ids")
    return key
