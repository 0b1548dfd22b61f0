"""Secrets out of error text: the one place every stored, printed or logged API error passes through.

Every :class:`~wamkt_nb.settings.Secret` registers its value here when it is made, so an error
body that echoes the access token or the app secret is cleaned without the code that stores it
knowing which secrets exist. Text shaped like a credential is masked too, known or not:
``Bearer ...``, ``access_token=...`` (and the other secret query parameters), and ``EAA...``, the
usual look of Meta's user and system-user tokens. Meta documents tokens as opaque strings, so the
patterns are a safety net; masking the known values is the guarantee.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from .redact import MASK

MIN_SECRET_LENGTH = 8
"""Shorter values are not masked by value (they would mask ordinary words); the patterns still apply."""

_known: set[str] = set()
_sorted: tuple[str, ...] = ()
_lock = threading.Lock()

_PATTERNS = (
    (re.compile(r"(?i)\b(bearer|oauth)(\s+|%20|\+)[A-Za-z0-9._~+/=-]{8,}"), rf"\1\2{MASK}"),
    (
        re.compile(
            r"(?i)\b(access_token|appsecret_proof|app_secret|client_secret|verify_token|hub\.verify_token)"
            r"(\"?\s*[=:]\s*\"?)[^&\s\"',;}]+"
        ),
        rf"\1\2{MASK}",
    ),
    (re.compile(r"\bEAA[A-Za-z0-9]{20,}"), MASK),
)


def remember_secret(value: str) -> None:
    """Mask ``value`` wherever :func:`scrub` sees it from now on (values under 8 characters are ignored)."""
    global _sorted
    if len(value) < MIN_SECRET_LENGTH or value in _known:
        return
    with _lock:
        _known.add(value)
        _sorted = tuple(sorted(_known, key=len, reverse=True))  # a longer secret first, if one contains another


def scrub(text: Any) -> str:
    """``text`` (any object, as str) with every known secret and credential-shaped token masked."""
    out = text if isinstance(text, str) else str(text)
    for secret in _sorted:
        if secret in out:
            out = out.replace(secret, MASK)
    for pattern, replacement in _PATTERNS:
        out = pattern.sub(replacement, out)
    return out


def scrub_json(value: Any) -> Any:
    """A decoded JSON value with every string (keys included) scrubbed."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {scrub(k): scrub_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_json(v) for v in value]
    return value
