"""What a running campaign reports: the :class:`Progress` snapshot and the :class:`ProgressMeter`
that counts a run's requests and builds snapshots from those counts and the ledger (which status
webhooks update too)."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

import pandas as pd

from .. import ledger
from ..cloudapi.errors import error_meaning
from ..ledger.states import HELD_BY_META, HELD_LABEL
from ..store import Store

ERRORS_REFRESH = 0.5
"""The error breakdown is read from the ledger (where status webhooks write async failures) at
most this often, however often progress is reported."""
RATE_WINDOW = 5.0
"""The sending rate is the accepted messages of the last this many seconds."""


@dataclass
class Progress:
    """A snapshot of a running campaign, passed to the progress callback."""

    campaign_id: str
    status: str
    total: int
    counts: dict[str, int]
    elapsed: float
    rate: float
    eta_seconds: float | None
    errors: dict[int | None, int] = field(default_factory=dict)
    traces: dict[int | None, str] = field(default_factory=dict)
    """The latest ``fbtrace_id`` Meta gave per error code (for a support request)."""
    meanings: dict[int | None, str] = field(default_factory=dict)
    """Each code's meaning as :func:`ledger.error_breakdown` gives it."""
    requests: int = 0
    throttled: int = 0
    resent_after_unknown: int = 0
    pace: float = 0.0
    message: str = ""
    unknown_waiting: int = 0
    held: int = 0
    """Failed rows that are Meta holding the message back (131049), not failures of ours."""

    @property
    def failed_ours(self) -> int:
        """Failures, without the messages Meta held back."""
        return self.counts["failed"] - self.held

    @property
    def done(self) -> int:
        """Rows in a final state, plus ``unknown`` rows that will not be resent."""
        unknown_final = max(0, self.counts["unknown"] - self.unknown_waiting)
        return sum(self.counts[s] for s in ledger.FINAL_STATES) + unknown_final

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0

    def errors_frame(self) -> pd.DataFrame:
        """Errors by Meta code with their meaning and latest fbtrace_id, most frequent first; a
        131049 says it is Meta holding the message back, not a failure."""
        rows = [
            {
                "code": c,
                "count": n,
                "meaning": (
                    f"{HELD_LABEL} (not a failure): {error_meaning(c)}"
                    if c == HELD_BY_META
                    else self.meanings.get(c) or error_meaning(c)
                ),
                "fbtrace_id": self.traces.get(c),
            }
            for c, n in sorted(self.errors.items(), key=lambda kv: -kv[1])
        ]
        return pd.DataFrame(rows, columns=["code", "count", "meaning", "fbtrace_id"])


class ProgressMeter:
    """The counters of one run (requests, throttle answers, resends, dispatch times and latencies)
    and the :class:`Progress` snapshots built from them and the ledger."""

    def __init__(self, store: Store, campaign_id: str) -> None:
        self.store = store
        self.campaign_id = campaign_id
        self.start = time.monotonic()
        self.requests = 0
        self.throttled = 0
        self.resent = 0
        self.latencies: deque[float] = deque(maxlen=200_000)
        self.dispatched = 0
        self.first_dispatch = self.last_dispatch = 0.0
        self._sent_times: deque[float] = deque(maxlen=20_000)
        self._errors: dict[int | None, int] = {}
        self._traces: dict[int | None, str] = {}
        self._meanings: dict[int | None, str] = {}
        self._held = 0
        self._errors_at = float("-inf")

    def accepted(self) -> None:
        """Meta accepted a message now (the sending rate counts these)."""
        self._sent_times.append(time.monotonic())

    def answered(self, latency: float) -> None:
        """A request came back (with any answer) after ``latency`` seconds."""
        self.requests += 1
        self.latencies.append(latency)

    def claimed(self, count: int) -> None:
        """``count`` rows were handed to the workers now."""
        mono = time.monotonic()
        self.first_dispatch = self.first_dispatch or mono
        self.last_dispatch = mono
        self.dispatched += count

    def refresh_errors(self) -> None:
        """Let the next snapshot read the ledger's error breakdown afresh."""
        self._errors_at = float("-inf")

    def snapshot(self, status: str, *, pace: float, message: str, unknown_waiting: int) -> Progress:
        """A snapshot now (reads the ledger, so webhook updates show too)."""
        counts = ledger.state_counts(self.store, self.campaign_id)
        total = sum(counts.values())
        mono = time.monotonic()
        recent = [t for t in self._sent_times if t >= mono - RATE_WINDOW]
        window = min(RATE_WINDOW, max(mono - self.start, 1e-9))
        rate = len(recent) / window if recent else 0.0
        left = counts["planned"] + counts["in_flight"]
        eta = left / rate if rate > 0 else None
        if mono - self._errors_at >= ERRORS_REFRESH:  # sync errors and async failures from webhooks
            self._errors, self._traces, self._meanings = _codes(ledger.error_breakdown(self.store, self.campaign_id))
            self._held = ledger.held_count(self.store, self.campaign_id)
            self._errors_at = mono
        return Progress(
            campaign_id=self.campaign_id,
            status=status,
            total=total,
            counts=counts,
            elapsed=mono - self.start,
            rate=rate,
            eta_seconds=eta,
            errors=dict(self._errors),
            traces=dict(self._traces),
            meanings=dict(self._meanings),
            requests=self.requests,
            throttled=self.throttled,
            resent_after_unknown=self.resent,
            pace=pace,
            message=message,
            unknown_waiting=unknown_waiting,
            held=self._held,
        )


def _codes(frame: pd.DataFrame) -> tuple[dict[int | None, int], dict[int | None, str], dict[int | None, str]]:
    """Counts, latest fbtrace_id and meaning per code from :func:`ledger.error_breakdown`."""
    codes = [None if pd.isna(c) else int(c) for c in frame["code"]]
    traces = {c: t for c, t in zip(codes, frame["fbtrace_id"], strict=True) if isinstance(t, str) and t}
    return (
        {c: int(n) for c, n in zip(codes, frame["count"], strict=True)},
        traces,
        dict(zip(codes, frame["meaning"], strict=True)),
    )
