"""How fast the sender may go: a token bucket per phone number that backs off on 130429 (AIMD),
the pair rate per recipient, and jittered backoff for retries.

Rates are messages per second. Presets come from the settings: ``safe`` (the guide's 30 per
minute, the default), ``standard`` (Meta's 80/s per number), ``max`` (1,000/s, an upgraded number).
"""

from __future__ import annotations

from ..errors import WamktError
from ..settings import PACE_PRESETS

CONFIRM_ABOVE = 50.0
"""Above this rate (msg/s) the WhatsApp marketing guide, 2024 warns of temporary restriction and
< 60 % success: ask first."""
PAIR_INTERVAL = 6.0
"""Meta's pair rate: about one message per 6 s to the same recipient."""


class PaceError(WamktError, ValueError):
    """A pace that is unknown, not positive, or too fast without an explicit confirmation."""


def resolve_rate(pace: str | float, *, confirm_high_rate: bool = False, max_rate: float | None = None) -> float:
    """Messages per second for a preset name or a number; above 50/s only when confirmed, never
    above ``max_rate`` (the settings' per-number cap for a real number, e.g. Meta's 80/s)."""
    if isinstance(pace, str) and not pace.replace(".", "", 1).isdigit():
        if pace not in PACE_PRESETS:
            raise PaceError(f"pace must be one of {', '.join(PACE_PRESETS)} or a number, not {pace!r}")
        rate = PACE_PRESETS[pace]
    else:
        rate = float(pace)
    if not rate > 0:
        raise PaceError(f"pace must be more than 0 messages per second, not {rate}")
    if max_rate is not None and rate > max_rate:
        raise PaceError(
            f"{rate:g} msg/s is above the configured cap of {max_rate:g}/s per number (WAMKT_MAX_RATE); "
            "raise the cap only when Meta has upgraded the number's throughput."
        )
    if rate > CONFIRM_ABOVE and not confirm_high_rate:
        raise PaceError(
            f"{rate:g} msg/s is above {CONFIRM_ABOVE:g}/s: the account may be restricted and the "
            "success rate can fall below 60 %. Confirm explicitly (confirm_high_rate=True, "
            "--confirm-high-rate) to go this fast."
        )
    return rate


def describe_rate(rate: float) -> str:
    """A rate as people say it: ``30/min`` below 1/s, else ``80/s``."""
    return f"{rate * 60:g}/min" if rate < 1 else f"{rate:g}/s"


def default_burst(rate: float) -> float:
    """Two messages or 50 ms worth: a dispatcher woken late on a busy machine loses no time."""
    return max(2.0, rate * 0.05)


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up; one token per message."""

    def __init__(self, rate: float, now: float, burst: float | None = None) -> None:
        self.rate = float(rate)
        self.burst = float(burst) if burst is not None else default_burst(self.rate)
        self.tokens = 1.0
        self.stamp = now

    def _refill(self, now: float) -> None:
        if now > self.stamp:
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now

    def try_take(self, now: float) -> float:
        """Take a token and return 0, or return the seconds until one is there (taking nothing)."""
        self._refill(now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate

    def refund(self) -> None:
        """Give back a token that was taken for a message that is not sent after all."""
        self.tokens = min(self.burst, self.tokens + 1.0)

    def set_rate(self, rate: float, now: float) -> None:
        self._refill(now)
        self.rate = float(rate)
        self.burst = default_burst(self.rate)
        self.tokens = min(self.tokens, self.burst)


class Aimd:
    """Additive increase, multiplicative decrease: halve on 130429 (once per ``cooldown``, never
    below ``floor``, default 5 % of the target), then climb back by ``target * recover_per_s``
    each second."""

    def __init__(
        self,
        target: float,
        now: float,
        *,
        decrease: float = 0.5,
        recover_per_s: float = 0.1,
        floor: float | None = None,
        cooldown: float = 1.0,
    ) -> None:
        self.target = float(target)
        self.rate = float(target)
        self.decrease = decrease
        self.step = self.target * recover_per_s
        self.floor = floor if floor is not None else min(self.target, max(0.5, self.target * 0.05))
        self.cooldown = cooldown
        self.last_cut = -float("inf")
        self.stamp = now
        self.cuts = 0

    def throttled(self, now: float) -> float:
        """The API said 130429: cut the rate (not more than once per cooldown); return it."""
        if now - self.last_cut >= self.cooldown:
            self.rate = max(self.floor, self.rate * self.decrease)
            self.last_cut = now
            self.cuts += 1
        self.stamp = now
        return self.rate

    def tick(self, now: float) -> float:
        """Recover a little with time since the last call; return the current rate."""
        if now > self.stamp:
            since = max(self.stamp, self.last_cut + self.cooldown)
            if self.rate < self.target and now > since:
                self.rate = min(self.target, self.rate + self.step * (now - since))
            self.stamp = now
        return self.rate


class NumberPacer:
    """The pace of one sending phone number: a token bucket whose rate follows AIMD."""

    def __init__(self, phone_number_id: str, rate: float, now: float) -> None:
        self.phone_number_id = phone_number_id
        self.aimd = Aimd(rate, now)
        self.bucket = TokenBucket(rate, now)

    @property
    def rate(self) -> float:
        return self.aimd.rate

    def try_take(self, now: float) -> float:
        rate = self.aimd.tick(now)
        if rate != self.bucket.rate:
            self.bucket.set_rate(rate, now)
        return self.bucket.try_take(now)

    def refund(self) -> None:
        self.bucket.refund()

    def throttled(self, now: float) -> None:
        self.bucket.set_rate(self.aimd.throttled(now), now)


class NumberPool:
    """The sending numbers of a campaign, each at its own pace: a row takes a token of the number
    it is pinned to (one not pinned, of the next number in turn)."""

    def __init__(self, phone_number_ids: tuple[str, ...], rate: float, now: float) -> None:
        self.pacers = [NumberPacer(pid, rate, now) for pid in phone_number_ids]
        self._by_id = {p.phone_number_id: p for p in self.pacers}
        self._turn = 0

    @property
    def rate(self) -> float:
        """The pace of all numbers together (messages per second)."""
        return sum(p.rate for p in self.pacers)

    @property
    def size(self) -> int:
        return len(self.pacers)

    def take(self, phone_number_id: str | None, now: float) -> tuple[NumberPacer | None, float]:
        """A token of ``phone_number_id`` (a row's pinned number; None, a row not pinned: the next
        number in turn that has one); else the wait until it (or the first of them) has one."""
        if phone_number_id is not None:
            pacer = self._by_id[phone_number_id]
            wait = pacer.try_take(now)
            return (pacer, 0.0) if wait == 0.0 else (None, wait)
        waits = []
        for i in range(len(self.pacers)):
            pacer = self.pacers[(self._turn + i) % len(self.pacers)]
            wait = pacer.try_take(now)
            if wait == 0.0:
                self._turn = (self._turn + i + 1) % len(self.pacers)
                return pacer, 0.0
            waits.append(wait)
        return None, min(waits)

    def throttled(self, phone_number_id: str, now: float) -> None:
        """The API said 130429 for ``phone_number_id``: that number slows down."""
        for pacer in self.pacers:
            if pacer.phone_number_id == phone_number_id:
                pacer.throttled(now)


class PairLimiter:
    """At most one message per ``interval`` seconds to the same recipient; longer holds on 131056."""

    def __init__(self, interval: float = PAIR_INTERVAL) -> None:
        self.interval = interval
        self._next: dict[str, float] = {}

    def wait_time(self, phone: str, now: float) -> float:
        return max(0.0, self._next.get(phone, 0.0) - now)

    def note_sent(self, phone: str, now: float) -> None:
        self._next[phone] = max(self._next.get(phone, 0.0), now + self.interval)

    def hold(self, phone: str, seconds: float, now: float) -> None:
        """The API said 131056 for this pair: nothing to this recipient for ``seconds``."""
        self._next[phone] = max(self._next.get(phone, 0.0), now + seconds)

    def prune(self, now: float) -> None:
        """Forget recipients whose wait is over (keeps memory flat on big campaigns)."""
        self._next = {p: t for p, t in self._next.items() if t > now}


def jittered(delay: float, draw: float) -> float:
    """Equal jitter: half the delay fixed, half scaled by ``draw`` (uniform in [0, 1], drawn by the
    caller), so retries of many rows spread out."""
    return delay / 2 + draw * delay / 2
