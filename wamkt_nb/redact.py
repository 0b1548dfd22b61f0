"""URLs with their secrets masked, for every message, log line and printout that shows a URL.

A URL may carry a secret in two places: the userinfo (``https://user:password@host``) and the
query or fragment (``?token=...``, ``#access_token=...``). ``redact_url`` replaces both with
``***`` and leaves the rest as typed, so a person can still tell which URL was meant.
It works on text, not on a parsed URL: a malformed URL (``htp://user:pw@[::1``) is masked too.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from urllib.parse import unquote

MASK = "***"
_SECRET_WORDS = (
    "token",
    "secret",
    "password",
    "passwd",
    "pwd",
    "signature",
    "sig",
    "key",
    "auth",
    "credential",
    "session",
    "code",
)
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>]+")
_PARAM = re.compile(r"([?&#;])([^=&#;]*)=([^&#;]*)")


def is_secret_name(name: str) -> bool:
    """Whether a query parameter's name looks like it holds a secret (token, access_token,
    api_key, client_secret, password, signature, hub.verify_token, ...)."""
    words = re.split(r"[^A-Za-z0-9]+|(?<=[a-z])(?=[A-Z])", unquote(name))
    folded = [w.lower() for w in words if w]
    return any(w in _SECRET_WORDS or w.endswith(("token", "secret", "password", "key")) for w in folded)


def redact_url(url: object) -> str:
    """The URL with its userinfo and secret-looking query/fragment values replaced by ``***``."""
    text = str(url)
    scheme_end = text.find("://")
    if scheme_end >= 0:
        start = scheme_end + 3
        end = len(text)
        for stop in "/?#":
            found = text.find(stop, start)
            if found >= 0:
                end = min(end, found)
        at = text.rfind("@", start, end)
        if at >= 0:
            text = f"{text[:start]}{MASK}{text[at:]}"
    return _PARAM.sub(_mask_param, text)


def redact_urls(text: str) -> str:
    """Every URL inside a message redacted (see ``redact_url``)."""
    return _URL.sub(lambda m: redact_url(m.group(0)), str(text))


def redacted_repr(config: object) -> str:
    """A dataclass's repr with the secrets a config can carry masked: URLs as ``redact_url`` does
    and the values of secret-named keys in mapping fields (``params={"api_key": ...}``)."""

    def shown(value: object) -> str:
        if isinstance(value, Mapping):
            value = {k: MASK if is_secret_name(str(k)) else v for k, v in value.items()}
        return redact_urls(repr(value))

    fields = (f"{f.name}={shown(getattr(config, f.name))}" for f in dataclasses.fields(config) if f.repr)
    return f"{type(config).__name__}({', '.join(fields)})"


def _mask_param(match: re.Match) -> str:
    sep, name, value = match.groups()
    return f"{sep}{name}={MASK}" if value and is_secret_name(name) else match.group(0)
