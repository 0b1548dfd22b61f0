"""How a campaign is sent: the options the analyst sees (pace, attempts, what to do with lost answers).

Pure values, shared by the runner (:mod:`.sender`) and its retry policy (:mod:`.policy`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from .pacing import CONFIRM_ABOVE, resolve_rate

PACE_OPTIONS = ("pace", "confirm_high_rate")
"""The send options that make a campaign's pace (a pace above 50/s holds only with its confirmation)."""


def pace_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """The pace of a run request's ``options``: what a journey step's request takes from its
    campaign's, and what ``Workspace.send_due`` sends a campaign at when no pace is given."""
    return {k: options[k] for k in PACE_OPTIONS if k in options}


class UnknownPolicy(str, Enum):
    """What to do with a request whose outcome was lost (timeout, dropped response, crash)."""

    WAIT_THEN_RESEND = "wait_then_resend"
    """Wait up to ``unknown_wait`` seconds for a status webhook; resend if none came (may duplicate)."""
    NEVER_RESEND = "never_resend"
    """Never resend: the row stays ``unknown`` unless a webhook settles it (may lose the message)."""


@dataclass(frozen=True)
class SendOptions:
    """How a campaign is sent; every limit here is visible to the analyst."""

    phone_number_ids: tuple[str, ...]
    pace: str | float = "safe"
    confirm_high_rate: bool = False
    max_rate: float | None = None
    """The per-number cap of a real number (settings ``max_rate``); None for the sandbox."""
    concurrency: int = 8
    max_attempts: int = 5
    unknown_policy: UnknownPolicy = UnknownPolicy.WAIT_THEN_RESEND
    unknown_wait: float = 60.0
    start_at: float | None = None
    pair_interval: float = 6.0
    wait_for_later: bool = True
    """Keep running until rows planned for later are due; False sends what is due now and stops."""
    max_throttled: int = 30
    """Throttle answers (130429) do not count as attempts; a row throttled this often fails anyway
    (the number's limit is far below the pace for a long time: something to look at)."""
    backoff_scale: float = 1.0
    """Multiplies the wait each error class suggests (``retry_after``); below 1 only for tests."""
    progress_interval: float = 0.25
    seed: int | None = None

    def __post_init__(self) -> None:
        if not self.phone_number_ids:
            raise ValueError("at least one sending phone number id is needed")
        if self.concurrency < 1 or self.max_attempts < 1 or self.max_throttled < 1:
            raise ValueError("concurrency, max_attempts and max_throttled must be at least 1")
        object.__setattr__(self, "unknown_policy", UnknownPolicy(self.unknown_policy))
        resolve_rate(self.pace, confirm_high_rate=self.confirm_high_rate, max_rate=self.max_rate)  # fail early

    def pace_request(self) -> dict[str, Any]:
        """The pace these options send at as a run request keeps it (:data:`PACE_OPTIONS`): the
        confirmation only with a pace above 50/s (one kept from an earlier send goes with a pace that
        needs none, and changes nothing)."""
        confirmed = self.confirm_high_rate and self.rate > CONFIRM_ABOVE
        return {"pace": self.pace, **({"confirm_high_rate": True} if confirmed else {})}

    @property
    def rate(self) -> float:
        """Messages per second per phone number."""
        return resolve_rate(self.pace, confirm_high_rate=self.confirm_high_rate, max_rate=self.max_rate)
