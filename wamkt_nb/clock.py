"""Injectable clocks: everything that depends on "now" takes one, so a 24 h scenario runs in seconds."""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime
from typing import Protocol

NOW_VARIABLE = "WAMKT_NOW"
"""Pins "now" for a whole process: ISO 8601 (``2026-06-01T02:00``, UTC unless it names a zone) or
epoch seconds. Time still runs from there, so a notebook run can be tried at a nighttime hour."""


def parse_now(text: str) -> float:
    """UTC epoch seconds from ``WAMKT_NOW``'s text; a ValueError names the variable."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        stamp = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{NOW_VARIABLE}={text!r} is neither an ISO 8601 time nor epoch seconds") from None
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).timestamp()


def _offset() -> float:
    pinned = os.environ.get(NOW_VARIABLE, "").strip()
    return parse_now(pinned) - time.time() if pinned else 0.0


_OFFSET = _offset()


def is_pinned() -> bool:
    """Whether ``WAMKT_NOW`` pins this process's "now" (a run tried at a chosen hour)."""
    return bool(os.environ.get(NOW_VARIABLE, "").strip())


def wall_time() -> float:
    """The current UTC epoch seconds: the wall clock, shifted to start at ``WAMKT_NOW`` when set."""
    return time.time() + _OFFSET


class Clock(Protocol):
    """Anything with ``now()`` returning UTC epoch seconds."""

    def now(self) -> float: ...


class SystemClock:
    """The real wall clock (:func:`wall_time`, so ``WAMKT_NOW`` moves it too)."""

    def now(self) -> float:
        return wall_time()

    def __repr__(self) -> str:
        return "SystemClock()"


class ManualClock:
    """A clock that only moves when told to; for tests."""

    def __init__(self, start: float) -> None:
        self._now = float(start)
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        """Move forward by ``seconds`` and return the new time."""
        if seconds < 0:
            raise ValueError("a clock does not run backwards")
        with self._lock:
            self._now += seconds
            return self._now

    def set(self, epoch: float) -> None:
        with self._lock:
            if epoch < self._now:
                raise ValueError("a clock does not run backwards")
            self._now = float(epoch)

    def __repr__(self) -> str:
        return f"ManualClock({self._now!r})"


class SimulatedClock:
    """Simulated time running ``speed`` times faster than the wall clock from ``start``.

    ``speed=3600`` plays one simulated hour per real second. ``advance`` jumps ahead on top.
    """

    def __init__(self, start: float, speed: float = 1.0) -> None:
        self._start = float(start)
        self._speed = float(speed)
        self._offset = 0.0
        self._wall0 = time.monotonic()
        self._lock = threading.Lock()

    @property
    def speed(self) -> float:
        return self._speed

    def now(self) -> float:
        with self._lock:
            return self._start + self._offset + (time.monotonic() - self._wall0) * self._speed

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("a clock does not run backwards")
        with self._lock:
            self._offset += seconds
        return self.now()

    def set_speed(self, speed: float) -> None:
        """Change the speed without a jump in simulated time."""
        with self._lock:
            wall = time.monotonic()
            self._offset += (wall - self._wall0) * self._speed
            self._wall0 = wall
            self._speed = float(speed)

    def real_seconds(self, simulated: float) -> float:
        """How many wall seconds ``simulated`` seconds take at the current speed."""
        return simulated / self._speed if self._speed > 0 else float("inf")

    def __repr__(self) -> str:
        return f"SimulatedClock(speed={self._speed!r})"
