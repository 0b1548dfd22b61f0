"""Cloud API errors as a small class hierarchy keyed on Meta's ``code``.

Each class knows whether a retry makes sense and how long to wait; the raw fields
(code, details, fbtrace_id, HTTP status) are kept for reports. No token ever appears here: the
texts are scrubbed (:mod:`wamkt_nb.scrub`) when an error is made, even if Meta's answer echoed one.
"""

from __future__ import annotations

import math
from typing import Any

from ..errors import WamktError
from ..scrub import scrub, scrub_json

ERROR_MEANINGS: dict[int, str] = {
    4: "App API call rate limit reached; back off",
    10: "Permission denied for this app or phone number",
    100: "Invalid parameter or unknown object",
    190: "Access token invalid or expired",
    200: "Permission error",
    368: "Account restricted for policy violations",
    80007: "WhatsApp Business Account rate limit reached (management endpoints)",
    130429: "Throughput reached (messages per second per phone number)",
    130472: "User's number is part of an experiment",
    131000: "Unknown error; retry a few times",
    131005: "Access denied (permission)",
    131008: "Required parameter is missing",
    131009: "Parameter value is not valid",
    131016: "Service temporarily unavailable",
    131021: "Recipient cannot be the sender",
    131026: "Message undeliverable (not on WhatsApp, old app, or terms not accepted)",
    131031: "Business account has been locked",
    131042: "Business eligibility or payment issue",
    131045: "Phone number certificate issue",
    131047: "More than 24 h since the customer last wrote: send a template",
    131048: "Spam rate limit hit",
    131049: "Not delivered to keep ecosystem engagement healthy (per-user marketing limit)",
    131050: "Customer stopped marketing messages from this business",
    131051: "Unsupported message type",
    131052: "Media download error",
    131053: "Media upload failed",
    131055: "Method not allowed (the Marketing Messages API sends marketing templates only)",
    131056: "Too many messages to the same recipient (pair rate limit)",
    131057: "Account in maintenance or throughput upgrade",
    131062: "Business-scoped user id recipients not supported for this message",
    131063: "Marketing templates disabled for Cloud API: use the Marketing Messages API",
    132000: "Template parameter count mismatch",
    132001: "Template does not exist in that language or is not approved",
    132005: "Template text too long after filling in parameters",
    132007: "Template violates WhatsApp policy",
    132012: "Template parameter format mismatch",
    132015: "Template paused for low quality",
    132016: "Template disabled",
    132068: "Flow is blocked",
    132069: "Flow is throttled",
    133010: "Phone number not registered on the Cloud API",
}
"""What each code means, in plain words for reports."""

ERROR_TITLES: dict[int, str] = {
    4: "Application request limit reached",
    100: "Invalid parameter",
    190: "Invalid OAuth access token",
    368: "Temporarily blocked for policies violations",
    80007: "Rate limit issues",
    130429: "Rate limit hit",
    131000: "Something went wrong",
    131005: "Access denied",
    131008: "Required parameter is missing",
    131009: "Parameter value is not valid",
    131016: "Service unavailable",
    131021: "Recipient cannot be sender",
    131026: "Message undeliverable",
    131031: "Account has been locked",
    131047: "Re-engagement message",
    131048: "Spam rate limit hit",
    131049: "This message was not delivered to maintain healthy ecosystem engagement.",
    131050: "User has stopped marketing messages",
    131051: "Unsupported message type",
    131053: "Media upload error",
    131055: "Method not allowed",
    131056: "(Business Account, Consumer Account) pair rate limit hit",
    131057: "Account in maintenance mode",
    131063: "Marketing templates disabled for Cloud API",
    132000: "Number of parameters does not match the expected number of params",
    132001: "Template name does not exist in the translation",
    132005: "Translated text too long",
    132007: "Template Format Character Policy Violated",
    132012: "Parameter format does not match format in the created template",
    132015: "Template is Paused",
    132016: "Template is Disabled",
    133010: "Phone number Not Registered",
}
"""Meta's short error titles (``message`` / ``title`` fields), used by the sandbox."""


def error_meaning(code: int | None) -> str:
    """A plain-language meaning of ``code`` for reports; unknown codes say so."""
    if code is None:
        return "No error code (transport problem)"
    return ERROR_MEANINGS.get(int(code), f"Unknown error code {code}")


def error_title(code: int) -> str:
    """Meta's short title for ``code`` (falls back to the meaning)."""
    return ERROR_TITLES.get(code, ERROR_MEANINGS.get(code, "Error"))


class CloudAPIError(WamktError):
    """An error answered by the Cloud API (or the sandbox), keyed on Meta's ``code``.

    ``retryable`` says whether retrying soon can succeed; ``retry_after(attempt)`` how long to wait.
    ``outcome_unknown`` is true when the message may have been accepted anyway (timeouts, drops).
    """

    retryable: bool = False
    outcome_unknown: bool = False
    codes: tuple[int, ...] = ()

    def __init__(
        self,
        message: str,
        code: int | None = None,
        *,
        details: str = "",
        fbtrace_id: str = "",
        http_status: int | None = None,
        error_subcode: int | None = None,
        error_type: str = "",
        raw: dict[str, Any] | None = None,
    ) -> None:
        message, details = scrub(message), scrub(details)  # an error body may echo the token
        super().__init__(message)
        self.message = message
        self.code = code
        self.details = details
        self.fbtrace_id = fbtrace_id
        self.http_status = http_status
        self.error_subcode = error_subcode
        self.error_type = error_type
        self.raw = scrub_json(raw or {})

    @property
    def meaning(self) -> str:
        return error_meaning(self.code)

    def retry_after(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based); ``inf`` when never."""
        return math.inf

    def to_dict(self) -> dict[str, Any]:
        """The raw fields for a report or a ledger row."""
        return {
            "error_class": type(self).__name__,
            "code": self.code,
            "message": self.message,
            "details": self.details,
            "fbtrace_id": self.fbtrace_id,
            "http_status": self.http_status,
            "retryable": self.retryable,
            "outcome_unknown": self.outcome_unknown,
        }

    def __str__(self) -> str:
        tagged = self.code is None or f"#{self.code})" in self.message
        parts = ["" if tagged else f"(#{self.code})", self.message]
        if self.details and self.details != self.message:
            parts.append(f"- {self.details}")
        if self.http_status:
            parts.append(f"[HTTP {self.http_status}]")
        return " ".join(p for p in parts if p)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r}, details={self.details!r})"


def _backoff(attempt: int, base: float, factor: float, cap: float) -> float:
    return min(cap, base * factor ** max(0, attempt - 1))


class RateLimitError(CloudAPIError):
    """Too many calls or messages per second: slow down and retry."""

    retryable = True
    codes = (4, 80007, 130429)

    def retry_after(self, attempt: int) -> float:
        return _backoff(attempt, 1.0, 2.0, 60.0)


class PairRateLimitError(CloudAPIError):
    """Too many messages to the same recipient: retry that pair only, after 4^x seconds."""

    retryable = True
    codes = (131056,)

    def retry_after(self, attempt: int) -> float:
        return min(4.0 ** max(1, attempt), 3600.0)


class TransientError(CloudAPIError):
    """Unknown error, service unavailable or maintenance: retry a few times."""

    retryable = True
    codes = (131000, 131016, 131057)

    def retry_after(self, attempt: int) -> float:
        return _backoff(attempt, 0.5, 2.0, 30.0)


class ServerError(TransientError):
    """An HTTP 5xx without a Graph error body."""


class TransportError(CloudAPIError):
    """No connection could be opened (refused, unreachable, DNS, TLS, connect timeout): the request
    never left this machine, so nothing was accepted; retry."""

    retryable = True

    def retry_after(self, attempt: int) -> float:
        return _backoff(attempt, 0.5, 2.0, 30.0)


class OutcomeUnknownError(TransportError):
    """Timeout or dropped response after the request left: the message may have been accepted.

    Reconcile from status webhooks (``biz_opaque_callback_data``) before any resend.
    """

    outcome_unknown = True


class InvalidURLError(CloudAPIError, ValueError):
    """The API address cannot be used (scheme, host or port): nothing can be sent until it is fixed.

    The message never repeats the URL, which may carry credentials.
    """


class AuthError(CloudAPIError):
    """The access token is invalid or expired: refresh it."""

    codes = (190,)


class TemplateError(CloudAPIError):
    """The template or its parameters do not match what was approved."""

    codes = (132000, 132001, 132005, 132007, 132012, 132015, 132016, 132068, 132069)


class ReEngagementError(CloudAPIError):
    """Free-form message outside the 24 h service window: send a template instead."""

    codes = (131047,)


class MarketingLimitError(CloudAPIError):
    """Per-user marketing limit: do not retry before 24 h have passed."""

    codes = (131049,)

    def retry_after(self, attempt: int) -> float:
        return 86_400.0


class OptedOutError(CloudAPIError):
    """The customer stopped marketing messages: never retry."""

    codes = (131050,)


class UndeliverableError(CloudAPIError):
    """The number is not on WhatsApp (or cannot receive): never retry."""

    codes = (131026,)


class InvalidParameterError(CloudAPIError):
    """The request itself is wrong: fix it, do not retry."""

    codes = (100, 131008, 131009, 131051, 131021, 131053, 131052)


class PolicyError(CloudAPIError):
    """Account restricted, spam limit, permissions or locked account: stop sending."""

    codes = (368, 131048, 10, 200, 131005, 131031, 131042, 133010)


_BY_CODE: dict[int, type[CloudAPIError]] = {
    code: cls
    for cls in (
        RateLimitError,
        PairRateLimitError,
        TransientError,
        AuthError,
        TemplateError,
        ReEngagementError,
        MarketingLimitError,
        OptedOutError,
        UndeliverableError,
        InvalidParameterError,
        PolicyError,
    )
    for code in cls.codes
}


def error_class(code: int | None) -> type[CloudAPIError]:
    """The exception class for ``code`` (132xxx codes are template errors)."""
    if code is None:
        return CloudAPIError
    cls = _BY_CODE.get(int(code))
    if cls is None and 132000 <= int(code) < 133000:
        return TemplateError
    return cls or CloudAPIError


def error_from_payload(payload: Any, http_status: int | None = None) -> CloudAPIError:
    """Build the right exception from a Graph error body (``{"error": {...}}``) or a webhook error item.

    A body that is not a Graph error becomes a :class:`ServerError` (5xx) or a plain
    :class:`CloudAPIError` naming the HTTP status.
    """
    err = payload.get("error", payload) if isinstance(payload, dict) else None
    if not isinstance(err, dict) or "code" not in err:
        text = str(payload)[:200] if payload not in (None, b"", "") else "no body"
        cls = ServerError if http_status and http_status >= 500 else CloudAPIError
        return cls(f"HTTP {http_status}: {text}", None, http_status=http_status)
    try:
        code = int(err["code"])
    except (TypeError, ValueError):
        code = None
    error_data = err.get("error_data")
    data = error_data if isinstance(error_data, dict) else {}
    message = str(err.get("message") or err.get("title") or error_title(code or 0))
    subcode = err.get("error_subcode")
    return error_class(code)(
        message,
        code,
        details=str(data.get("details", "")),
        fbtrace_id=str(err.get("fbtrace_id", "")),
        http_status=http_status,
        error_subcode=int(subcode) if isinstance(subcode, int) else None,
        error_type=str(err.get("type", "")),
        raw=err,
    )
