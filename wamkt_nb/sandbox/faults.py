"""Faults on demand, for the reliability tests of the sender and the receiver."""

from __future__ import annotations

import random
from dataclasses import dataclass, field, fields


@dataclass
class Faults:
    """Rates (0..1) of injected failures on ``POST /messages`` and on webhook delivery.

    ``error_500``: answer HTTP 500 (131000) without accepting. ``timeout``: accept nothing and
    hold the request ``timeout_seconds`` before closing. ``drop_after_accept``: accept the message
    (it will be delivered) and close the connection without an answer. ``burst_429``: start a
    burst of ``burst_length`` consecutive 130429 answers. ``duplicate_webhook``: deliver a webhook
    batch twice. Requests and webhooks draw from separate streams seeded by ``seed``, so the
    n-th request meets the same fault on every run, however webhook deliveries interleave.
    """

    error_500: float = 0.0
    timeout: float = 0.0
    timeout_seconds: float = 30.0
    drop_after_accept: float = 0.0
    burst_429: float = 0.0
    burst_length: int = 20
    duplicate_webhook: float = 0.0
    seed: int = 11
    _rng: random.Random = field(default=None, init=False, repr=False, compare=False)  # type: ignore[assignment]
    _webhook_rng: random.Random = field(default=None, init=False, repr=False, compare=False)  # type: ignore[assignment]
    _burst_left: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for f in fields(self):
            if f.init and f.type == "float" and f.name != "timeout_seconds":
                value = getattr(self, f.name)
                if not 0.0 <= value <= 1.0:
                    raise ValueError(f"fault rate {f.name} must be between 0 and 1, not {value!r}")
        self.restart()

    def restart(self) -> None:
        """Start both fault sequences again from ``seed``."""
        self._rng = random.Random(self.seed)
        self._webhook_rng = random.Random(f"{self.seed}:webhooks")
        self._burst_left = 0

    @property
    def active(self) -> bool:
        return bool(self.error_500 or self.timeout or self.drop_after_accept or self.burst_429 or self._burst_left)

    def pick_request_fault(self) -> str | None:
        """Which fault (if any) hits this request: ``error_500``, ``timeout``, ``drop``, ``429``."""
        if self._burst_left > 0:
            self._burst_left -= 1
            return "429"
        r = self._rng.random
        if self.burst_429 and r() < self.burst_429:
            self._burst_left = max(0, self.burst_length - 1)
            return "429"
        if self.error_500 and r() < self.error_500:
            return "error_500"
        if self.timeout and r() < self.timeout:
            return "timeout"
        if self.drop_after_accept and r() < self.drop_after_accept:
            return "drop"
        return None

    def duplicate(self) -> bool:
        return bool(self.duplicate_webhook) and self._webhook_rng.random() < self.duplicate_webhook

    def to_dict(self) -> dict[str, float | int]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.init}
