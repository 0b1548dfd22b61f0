"""The error the sandbox answers with, rendered as Meta's Graph error envelope."""

from __future__ import annotations

import secrets
from typing import Any

from ..cloudapi.errors import error_title
from ..errors import WamktError

HTTP_STATUS = {190: 401, 131000: 500, 131016: 503, 4: 429, 80007: 429}


class SandboxError(WamktError):
    """A Graph API error with Meta's ``code`` and ``details``; ``http_status`` defaults by code.

    ``message`` is for Graph-level errors (parameter checks, unknown objects): Meta then puts the
    whole text in ``message`` and sends no ``error_data``.
    """

    def __init__(
        self,
        code: int,
        details: str,
        http_status: int | None = None,
        subcode: int | None = None,
        message: str | None = None,
        error_type: str = "OAuthException",
    ) -> None:
        super().__init__(f"({code}) {details}")
        self.code = code
        self.details = details
        self.http_status = http_status or HTTP_STATUS.get(code, 400)
        self.subcode = subcode
        self.message = message
        self.error_type = error_type

    def envelope(self) -> dict[str, Any]:
        """``{"error": {...}}`` exactly as the Graph API shapes it."""
        err: dict[str, Any] = {
            "message": self.message or f"(#{self.code}) {error_title(self.code)}",
            "type": self.error_type,
            "code": self.code,
        }
        if self.message is None:
            err["error_data"] = {"messaging_product": "whatsapp", "details": self.details}
        if self.subcode is not None:
            err["error_subcode"] = self.subcode
        err["fbtrace_id"] = fbtrace_id()
        return {"error": err}


def unknown_object(method: str, object_id: str) -> SandboxError:
    """Meta's answer for an id that does not exist (or is not this account's): code 100, subcode 33."""
    text = (
        f"Unsupported {method.lower()} request. Object with ID '{object_id}' does not exist, cannot be loaded "
        "due to missing permissions, or does not support this operation. Please read the Graph API "
        "documentation at https://developers.facebook.com/docs/graph-api"
    )
    return SandboxError(100, text, subcode=33, message=text, error_type="GraphMethodException")


def unknown_path(parts: list[str]) -> SandboxError:
    """Meta's answer for a path it does not serve, such as a retired or unknown Graph API version:
    HTTP 400, ``OAuthException`` code 2500 "Unknown path components: /..." (see docs/cloud-api.md)."""
    text = f"Unknown path components: /{'/'.join(parts)}"
    return SandboxError(2500, text, message=text)


def invalid_param(text: str) -> SandboxError:
    """A Graph parameter error as Meta words it: ``(#100) <text>``, no ``error_data``."""
    return SandboxError(100, text, message=f"(#100) {text}")


def fbtrace_id() -> str:
    return secrets.token_urlsafe(16)[:23]


def webhook_error(code: int, details: str) -> dict[str, Any]:
    """An item of ``statuses[].errors`` in a ``failed`` status webhook."""
    title = error_title(code)
    return {
        "code": code,
        "title": title,
        "message": title,
        "error_data": {"details": details},
        "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
    }
