"""``X-Hub-Signature-256``: HMAC-SHA256 of the raw request body with the app secret."""

from __future__ import annotations

import hashlib
import hmac

from ..settings import Secret

SIGNATURE_HEADER = "X-Hub-Signature-256"
_PREFIX = "sha256="


def _secret_bytes(app_secret: Secret | str) -> bytes:
    raw = app_secret.reveal() if isinstance(app_secret, Secret) else str(app_secret)
    return raw.encode("utf-8")


def sign_body(body: bytes, app_secret: Secret | str) -> str:
    """The header value Meta would send for ``body``: ``sha256=<hex digest>``."""
    return _PREFIX + hmac.new(_secret_bytes(app_secret), body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, header: str | None, app_secret: Secret | str) -> bool:
    """True only if ``header`` is the right signature of the raw ``body``; fails closed.

    No secret configured, no header, or a header of the wrong shape all count as invalid.
    """
    secret = _secret_bytes(app_secret)
    if not secret or not header or not header.startswith(_PREFIX):
        return False
    expected = sign_body(body, app_secret)
    return hmac.compare_digest(expected.encode("ascii"), header.strip().encode("ascii", "replace"))
