"""Quality: blocks and STOPs over the last 7 days rate the number and each template, and pause templates.

Meta pauses a template whose recipients block or report it (3 h, then 6 h, then disables it) and
rates the number GREEN / YELLOW / RED; the thresholds here are data (Meta does not publish its own).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

WEEK = 7 * 86_400.0


@dataclass
class QualityRules:
    """Negative-feedback shares that turn the rating YELLOW / RED and pause a template."""

    yellow_rate: float = 0.01
    red_rate: float = 0.03
    pause_rate: float = 0.03
    min_sample: int = 100
    pause_hours: tuple[float, ...] = (3.0, 6.0)  # then disabled


class QualityMonitor:
    """Counts delivered messages and negative signals per template over a rolling week."""

    def __init__(self, rules: QualityRules | None = None, window: float = WEEK) -> None:
        self.rules = rules or QualityRules()
        self.window = window
        self._delivered: dict[str, deque[float]] = {}
        self._negative: dict[str, deque[float]] = {}
        self.pauses: dict[str, int] = {}
        self._paused_at: dict[str, float] = {}

    def _count(self, table: dict[str, deque[float]], key: str | None, now: float, since: float = 0.0) -> int:
        keys = [key] if key is not None else list(table)
        total = 0
        for k in keys:
            events = table.get(k)
            while events and events[0] <= now - self.window:
                events.popleft()
            total += sum(1 for t in events if t > since) if events and since else len(events or ())
        return total

    def delivered(self, template: str, at: float) -> None:
        self._delivered.setdefault(template, deque()).append(at)

    def negative(self, template: str, at: float) -> str | None:
        """Record a block/STOP; returns ``PAUSED`` or ``DISABLED`` when the template must stop now."""
        self._negative.setdefault(template, deque()).append(at)
        since = self._paused_at.get(template, 0.0)  # a pause starts a new count for the template
        sent = self._count(self._delivered, template, at, since)
        bad = self._count(self._negative, template, at, since)
        if sent < self.rules.min_sample or bad / sent <= self.rules.pause_rate:
            return None
        self._paused_at[template] = at
        self.pauses[template] = self.pauses.get(template, 0) + 1
        return "PAUSED" if self.pauses[template] <= len(self.rules.pause_hours) else "DISABLED"

    def pause_seconds(self, template: str) -> float:
        return self.rules.pause_hours[self.pauses[template] - 1] * 3600.0

    def rating(self, now: float, template: str | None = None) -> str:
        """GREEN / YELLOW / RED from the share of negative feedback in the last 7 days, for the
        number (all templates) or one ``template`` (its ``quality_score``)."""
        sent = self._count(self._delivered, template, now)
        if sent < self.rules.min_sample:
            return "GREEN"
        share = self._count(self._negative, template, now) / sent
        if share > self.rules.red_rate:
            return "RED"
        return "YELLOW" if share > self.rules.yellow_rate else "GREEN"
