"""When each recipient gets the message: their own best hour, the active windows, or now —
never in their quiet hours, and never beyond the messaging tier for the day.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from .rules import Policy
from .timezones import utc_offsets

DAY = 86_400.0
ACTIVE_WINDOWS = (10.0, 20.0)
WINDOW_HOURS = 2.0
"""Local start hours and length of the activity peaks (10-12 h and 20-22 h) of the WhatsApp
marketing guide, 2024 (docs/figures.md)."""

Mode = Literal["now", "windows", "best_hour"]


def planned_times(
    audience: pd.DataFrame,
    zones: pd.Series,
    now: float,
    *,
    mode: Mode = "best_hour",
    start: float | None = None,
    policy: Policy = Policy(),
) -> tuple[np.ndarray, np.ndarray]:
    """Planned UTC send times and a quiet-hours mask (recipients moved out of their quiet hours).

    ``mode``: ``"now"`` sends at ``start`` (default ``now``); ``"windows"`` at the next 10 h or
    20 h local; ``"best_hour"`` at the next occurrence of each recipient's ``most_active_hour``
    when it lies outside quiet hours, else as ``"windows"``.
    """
    n = len(audience)
    begin = float(now if start is None else start)
    if mode not in ("now", "windows", "best_hour"):
        raise ValueError(f"schedule mode must be 'now', 'windows' or 'best_hour', not {mode!r}")
    offset = utc_offsets(zones, begin)
    local = begin + offset
    if mode == "now":
        hours = (local % DAY) / 3600
        quiet = policy.in_quiet_hours(hours)
        target = np.where(quiet, policy.quiet_end, np.nan)
        planned_local = np.where(quiet, _next_local(local, target), local)
        return _to_utc(planned_local, zones, begin), quiet
    target, width = _next_window(local, policy), np.full(n, WINDOW_HOURS)
    if mode == "best_hour" and "most_active_hour" in audience:
        best = pd.to_numeric(audience["most_active_hour"], errors="coerce").to_numpy(dtype=float)
        usable = ~np.isnan(best) & ~policy.in_quiet_hours(np.nan_to_num(best))
        target, width = np.where(usable, np.floor(best), target), np.where(usable, 1.0, width)
    return _to_utc(_next_local(local, target, width), zones, begin), np.zeros(n, dtype=bool)


def apply_daily_limit(planned_at: np.ndarray, counts: np.ndarray, limit: int | None, used_today: int = 0) -> np.ndarray:
    """Days each recipient is pushed back so at most ``limit`` unique users are reached per day.

    ``counts`` marks recipients that count against the tier (business-initiated, outside a service
    window); they are served earliest-planned first; ``used_today`` were already reached.
    """
    days = np.zeros(len(planned_at), dtype=np.int64)
    if limit is None:
        return days
    rows = np.flatnonzero(counts)
    order = rows[np.argsort(planned_at[rows], kind="stable")]
    rank = np.arange(len(order))
    first = max(limit - used_today, 0)
    days[order] = np.where(rank < first, 0, 1 + (rank - first) // limit)
    return days


def _next_window(local: np.ndarray, policy: Policy) -> np.ndarray:
    """The start hour of the current or next active window (10 h or 20 h) outside quiet hours."""
    hours = (local % DAY) / 3600
    windows = sorted(h for h in ACTIVE_WINDOWS if not policy.in_quiet_hours(np.array([h]))[0])
    windows = windows or [policy.quiet_end]
    result = np.full(len(local), windows[0])  # past the last window: the first one tomorrow
    for h in reversed(windows):
        result = np.where(hours < h + WINDOW_HOURS, h, result)
    return result


def _next_local(local: np.ndarray, hour: np.ndarray, width: float = 1.0) -> np.ndarray:
    """Local epoch of the next ``hour`` o'clock; now if we are within ``width`` hours after it."""
    at = np.floor(local / DAY) * DAY + hour * 3600
    within = (local >= at) & (local < at + width * 3600)
    return np.where(within, local, np.where(local >= at, at + DAY, at))


def _to_utc(local: np.ndarray, zones: pd.Series, begin: float) -> np.ndarray:
    """Local epoch back to UTC, with the offset valid at that moment (DST-safe)."""
    guess = local - utc_offsets(zones, begin)
    return np.maximum(local - utc_offsets(zones, guess), begin)
