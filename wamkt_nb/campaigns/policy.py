"""What the sender does after one failed send attempt: every retry, throttle, pause and failure rule
in one pure function, :func:`decide`.

The error taxonomy (which codes are retryable, how long each class suggests to wait) lives in
:mod:`wamkt_nb.cloudapi.errors`; this module turns a classified error plus the row's history and the
campaign's options into a :data:`Decision`. It reads no clock (``now`` is passed in), no store and no
random generator (``jitter`` is a draw in [0, 1] made by the caller), so each Meta code's rule is
tested on its own (tests/core/campaigns/test_send_policy.py). :class:`~wamkt_nb.campaigns.sender.CampaignRunner`
applies the decision: it queues the row again, records the outcome and sets its flags.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from ..cloudapi.errors import (
    AuthError,
    CloudAPIError,
    InvalidURLError,
    PairRateLimitError,
    RateLimitError,
    TransportError,
)
from ..ledger.states import HELD_BY_META, THROTTLED
from .pacing import jittered
from .send_options import SendOptions, UnknownPolicy
from .template_status import TEMPLATE_DISABLED, TEMPLATE_PAUSED

STOP_CODES = frozenset({190, 368, 131031})
"""Errors that concern the account, not the recipient: the run pauses instead of failing rows."""
RECIPIENT_CODES = frozenset({130472, 131026, 131047, 131050})
"""Failures that concern this recipient alone (not on WhatsApp, opted out, outside their service
window, or part of a Meta experiment): nothing for us to fix."""
TITLE_LIMIT = 300
"""The ledger keeps at most this many characters of an error title."""


class Side(str, Enum):
    """Whose matter a failed row is."""

    OURS = "ours"
    """Something to fix on our side: the request, the template, the account, or an outage that
    outlasted the retries."""
    RECIPIENT = "recipient"
    """The recipient cannot or will not get it (:data:`RECIPIENT_CODES`)."""
    HELD = "held"
    """Meta held a marketing message back (131049): not a failure; reports show it apart."""


class PauseReason(str, Enum):
    """Why nothing can go out until something outside the run changes."""

    AUTH = "auth"
    """190: the access token is invalid or expired."""
    ACCOUNT = "account"
    """368 or 131031: the business account is restricted or locked."""
    ADDRESS = "address"
    """The API address cannot be used."""
    UNREACHABLE = "unreachable"
    """No connection could be opened, ``max_attempts`` times in a row."""
    TEMPLATE_PAUSED = "template_paused"
    """Meta paused the template for low quality: the run resumes when Meta re-approves it."""
    TEMPLATE_DISABLED = "template_disabled"
    """Meta disabled the template: the run ends paused, the rest stays planned."""


@dataclass(frozen=True)
class Retry:
    """Send the row again, no sooner than ``at``; the attempt counts against ``max_attempts``."""

    at: float
    hold_recipient: bool = False
    """131056 (pair rate): nothing else goes to this recipient before ``at`` either."""


@dataclass(frozen=True)
class Throttle:
    """130429: the sending number slows down (AIMD) and the row goes back for ``at``; the answer
    does not use up an attempt."""

    at: float
    throttled: int
    """The row's throttle answers so far, this one included."""


@dataclass(frozen=True)
class Pause:
    """Stop starting sends with ``message``: the row goes back to the queue as due now (it was not
    its fault); a disabled template ends the run instead (:attr:`leaves`)."""

    reason: PauseReason
    message: str
    template: tuple[str, str] | None = None
    """``(name, language)`` of the template Meta paused or disabled."""

    @property
    def leaves(self) -> bool:
        """True when waiting cannot help (a disabled template): the run ends, the rest stays planned."""
        return self.reason is PauseReason.TEMPLATE_DISABLED


@dataclass(frozen=True)
class Fail:
    """The row fails for good with ``title`` (Meta's, or why we gave up)."""

    title: str
    side: Side


@dataclass(frozen=True)
class Unknown:
    """The request left and no answer came: the row is ``unknown``. It is resent at ``resend_at``
    unless a status webhook settles it first; None: never resent (it waits for a webhook only)."""

    resend_at: float | None


Decision = Retry | Throttle | Pause | Fail | Unknown
"""What to do after a failed attempt; :func:`decide` returns exactly one."""


def decide(
    exc: CloudAPIError,
    *,
    attempt: int,
    throttled: int,
    template: tuple[str, str] | None,
    options: SendOptions,
    now: float,
    jitter: float,
) -> Decision:
    """What to do after attempt number ``attempt`` of a row (``throttled`` of its earlier attempts
    were 130429 answers, which do not count) ended in ``exc``.

    ``template`` is the row's ``(name, language)`` when it sends a template; ``jitter`` a uniform
    draw in [0, 1] that spreads the retries of many rows (:func:`~.pacing.jittered`).
    """
    counted = attempt - throttled
    if exc.outcome_unknown:
        return Unknown(unknown_resend_at(now, counted, options))
    if template is not None and exc.code in (TEMPLATE_PAUSED, TEMPLATE_DISABLED):
        return template_hold(*template, "PAUSED" if exc.code == TEMPLATE_PAUSED else "DISABLED")
    if exc.code in STOP_CODES or isinstance(exc, InvalidURLError):
        problem = exc.message if exc.code is None else f"{exc.meaning} ({exc.code})"
        reason = (
            PauseReason.ADDRESS
            if isinstance(exc, InvalidURLError)
            else PauseReason.AUTH
            if isinstance(exc, AuthError)
            else PauseReason.ACCOUNT
        )
        return Pause(reason, f"paused: {problem}; fix it, then resume")
    if isinstance(exc, RateLimitError) and exc.code == THROTTLED:
        if throttled + 1 < options.max_throttled:
            delay = exc.retry_after(throttled + 1) * options.backoff_scale
            return Throttle(now + jittered(delay, jitter), throttled + 1)
        return Fail(_title(f"gave up after {throttled + 1} throttled attempts: {exc.message}"), Side.OURS)
    if isinstance(exc, TransportError) and counted >= options.max_attempts:
        return Pause(PauseReason.UNREACHABLE, f"paused: cannot reach the API ({exc.message}); resume when it is back")
    if exc.retryable and counted < options.max_attempts:
        delay = exc.retry_after(counted) * options.backoff_scale
        return Retry(now + jittered(delay, jitter), hold_recipient=isinstance(exc, PairRateLimitError))
    if exc.retryable:
        return Fail(_title(f"gave up after {counted} attempts: {exc.message}"), Side.OURS)
    return Fail(_title(exc.message), failure_side(exc.code))


def failure_side(code: int | None) -> Side:
    """Whose matter a permanent failure with Meta's ``code`` is."""
    if code == HELD_BY_META:
        return Side.HELD
    return Side.RECIPIENT if code in RECIPIENT_CODES else Side.OURS


def unknown_resend_at(started: float, counted: int, options: SendOptions) -> float | None:
    """When a row whose request (attempt ``counted``, throttle answers not counted) left at
    ``started`` without an answer may be resent if no status webhook settles it; None: never."""
    if options.unknown_policy is UnknownPolicy.WAIT_THEN_RESEND and counted < options.max_attempts:
        return started + options.unknown_wait
    return None


def template_hold(name: str, language: str, block: str) -> Pause:
    """The pause for a template Meta ``PAUSED`` (wait for its re-approval) or ``DISABLED`` (it will
    not come back: leave the run, the rest stays planned)."""
    if block == "PAUSED":
        return Pause(
            PauseReason.TEMPLATE_PAUSED,
            f"paused: Meta paused template {name} ({language}) for low "
            "quality; the run resumes when Meta re-approves it",
            (name, language),
        )
    return Pause(
        PauseReason.TEMPLATE_DISABLED,
        f"paused: Meta disabled template {name} ({language}); choose another template",
        (name, language),
    )


def _title(text: str) -> str:
    return text[:TITLE_LIMIT]
