"""Meta's sending limits as small counters over the sandbox clock (seconds)."""

from __future__ import annotations

from collections import deque

from ..cloudapi.models import next_tier

DAY = 86_400.0


class TokenBucket:
    """``rate`` tokens per second, at most ``capacity`` saved up; used for throughput."""

    __slots__ = ("rate", "capacity", "tokens", "last")

    def __init__(self, rate: float, capacity: float | None = None) -> None:
        self.rate = rate
        self.capacity = capacity if capacity is not None else max(1.0, rate)
        self.tokens = self.capacity
        self.last: float | None = None

    def take(self, now: float) -> bool:
        if self.last is not None and now > self.last:
            self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
        self.last = now if self.last is None else max(self.last, now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class PairLimiter:
    """About one message per ``interval`` seconds to the same user; ``burst`` may borrow from the future."""

    def __init__(self, interval: float, burst: int) -> None:
        self.interval = interval
        self.burst = burst
        self._buckets: dict[str, TokenBucket] = {}

    def take(self, wa_id: str, now: float) -> bool:
        if self.interval <= 0:
            return True
        bucket = self._buckets.get(wa_id)
        if bucket is None:
            bucket = self._buckets[wa_id] = TokenBucket(1.0 / self.interval, float(self.burst))
        return bucket.take(now)


class RollingUsers:
    """Unique users per rolling window; ``admit`` is false when a new user would exceed ``limit``."""

    def __init__(self, window: float = DAY) -> None:
        self.window = window
        self._last: dict[str, float] = {}
        self._order: deque[tuple[float, str]] = deque()

    def _prune(self, now: float) -> None:
        while self._order and self._order[0][0] <= now - self.window:
            at, user = self._order.popleft()
            if self._last.get(user) == at:
                del self._last[user]

    def count(self, now: float) -> int:
        self._prune(now)
        return len(self._last)

    def admit(self, user: str, now: float, limit: int | None) -> bool:
        self._prune(now)
        if user not in self._last and limit is not None and len(self._last) >= limit:
            return False
        self._last[user] = now
        self._order.append((now, user))
        return True


class PerUserLimit:
    """At most ``limit`` events per user per rolling window (the per-user marketing limit)."""

    def __init__(self, window: float = DAY) -> None:
        self.window = window
        self._events: dict[str, deque[float]] = {}

    def admit(self, user: str, now: float, limit: int) -> bool:
        events = self._events.setdefault(user, deque())
        while events and events[0] <= now - self.window:
            events.popleft()
        if len(events) >= limit:
            return False
        events.append(now)
        return True


class PortfolioLimit:
    """A business portfolio's messaging limit: unique users per rolling 24 h shared by all its numbers.

    Meta's automatic scaling (from 2,000 upward): when the portfolio sends good-quality messages and
    has used at least half of its limit in the last 7 days, the limit goes up one level within
    ``upgrade_delay`` seconds (Meta: 6 hours). The 250 -> 2,000 step needs a scaling path (business
    verification), so it is not taken here on its own.
    """

    def __init__(self, window: float = DAY, lookback: float = 7 * DAY) -> None:
        self.users = RollingUsers(window)
        self.lookback = lookback
        self.half_used_at: float | None = None
        self.upgrade_at: float | None = None

    def admit(self, user: str, now: float, limit: int | None) -> bool:
        """Count ``user`` against the shared limit; false when a new user would exceed it."""
        if not self.users.admit(user, now, limit):
            return False
        if limit is not None and 2 * self.users.count(now) >= limit:
            self.half_used_at = now
        return True

    def upgrade(self, tier: str, now: float, healthy: bool, upgrade_delay: float) -> str | None:
        """The tier to move to now (None: stay), scheduling the upgrade once the criteria are met."""
        higher = next_tier(tier) if tier != "TIER_250" else None
        used = self.half_used_at is not None and self.half_used_at > now - self.lookback
        if higher is None or not healthy or not used:
            self.upgrade_at = None
            return None
        if self.upgrade_at is None:
            self.upgrade_at = now + upgrade_delay
        if now < self.upgrade_at:
            return None
        self.upgrade_at, self.half_used_at = None, None  # the next level needs half of the new limit
        return higher
