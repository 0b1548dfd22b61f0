"""What a campaign is waiting for and why rows were excluded, read from the ledger.

The send view, the CLI and a report say the same thing from here: how many rows are still
planned for later (quiet hours, the daily limit), when the first and the last of them go (in UTC,
with the recipient's zone for the first), and the excluded rows counted by reason with the
reason's meaning (as a table and a bar chart).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
from matplotlib.figure import Figure

from ..compliance.reasons import explain
from ..compliance.timezones import zone_for_phone
from ..ledger.reports import excluded_by_reason, planned_recipient_at, waiting_by_reason
from ..store import Store


@dataclass(frozen=True)
class Waiting:
    """Planned rows whose time has not come yet at ``now``."""

    count: int
    first_at: float | None = None
    """UTC epoch seconds of the earliest waiting row."""
    last_at: float | None = None
    first_zone: str | None = None
    """The recipient's time zone of the earliest waiting row (the plan's, else derived from the phone)."""
    reasons: dict[str, int] = field(default_factory=dict)
    """Why they wait (``quiet_hours``, ``tier_limit``; '' when the plan gave no reason)."""


def waiting(store: Store, campaign_id: str, now: float) -> Waiting:
    """Rows still ``planned`` for a time after ``now``."""
    rows = waiting_by_reason(store, campaign_id, now)
    if not rows:
        return Waiting(0)
    first_at = min(r[2] for r in rows)
    first = planned_recipient_at(store, campaign_id, first_at)
    zone = (first[0] or zone_for_phone(first[1])) if first else None
    return Waiting(
        count=sum(r[1] for r in rows),
        first_at=first_at,
        last_at=max(r[3] for r in rows),
        first_zone=zone,
        reasons={r[0]: r[1] for r in rows},
    )


def exclusions(store: Store, campaign_id: str) -> pd.DataFrame:
    """Excluded rows by reason, largest first: ``reason``, ``recipients``, ``meaning``."""
    frame = pd.DataFrame(excluded_by_reason(store, campaign_id), columns=["reason", "recipients"])
    frame["meaning"] = frame["reason"].map(explain)
    return frame


def exclusions_figure(frame: pd.DataFrame, width: float = 6.4) -> Figure:
    """Excluded recipients by reason as horizontal bars, largest on top (``frame`` from :func:`exclusions`)."""
    fig = Figure(figsize=(width, 0.9 + 0.35 * max(len(frame), 1)), layout="constrained")
    ax = fig.add_subplot()
    part = frame.iloc[::-1]
    bars = ax.barh([r.replace("_", " ") or "(no reason)" for r in part["reason"]], part["recipients"], color="#5b7083")
    ax.bar_label(bars, labels=[f"{n:,}" for n in part["recipients"]], padding=3, fontsize=8)
    ax.set_xlabel("recipients excluded")
    ax.set_title("Why recipients are excluded", fontsize=10)
    ax.margins(x=0.15)
    return fig
