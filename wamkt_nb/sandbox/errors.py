"""The error the sandbox answers with, rendered as Meta's Graph error envelope."""

from __future__ import annotations

import secrets
from typing import Any

from ..cloudapi.errors import error_title

HTTP_STATUS = {190: 401, 131000: 500, 131016: 503, 4: 429, 80007: 429}


class SandboxError(Exception):
    """A Graph API error with Meta's ``code`` and ``details``; ``http_status`` defaults by code."""

    def __init__(self, code: int, details: str, http_status: int | None = None, subcode: int | None = None) -> None:
        super().__init__(f"({code}) {details}")
        self.code = code
        self.details = details
        self.http_status = http_status or HTTP_STATUS.get(code, 400)
        self.subcode = subcode

    def envelope(self) -> dict[str, Any]:
        """``{"error": {...}}`` exactly as the Graph API shapes it."""
        err: dict[str, Any] = {
            "message": f"(#{self.code}) {error_title(self.code)}",
            "type": "OAuthException",
            "code": self.code,
            "error_data": {"messaging_product": "whatsapp", "details": self.details},
        }
        if self.subcode is not None:
            err["error_subcode"] = self.subcode
        err["fbtrace_id"] = fbtrace_id()
        return {"error": err}


def fbtrace_id() -> str:
    return secrets.token_urlsafe(16)[:23]


def webhook_error(code: int, details: str) -> dict[str, Any]:
    """An item of ``statuses[].errors`` in a ``failed`` status webhook."""
    title = error_title(code)
    return {"code": code, "title": title, "message": title, "error_data": {"details": details},
            "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"}
