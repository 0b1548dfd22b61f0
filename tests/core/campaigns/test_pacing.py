"""Pacing: presets, the confirmation above 50/s, token bucket accuracy, AIMD, pair rate, jitter."""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wamkt_nb.campaigns.pacing import (
    Aimd,
    NumberPacer,
    NumberPool,
    PaceError,
    PairLimiter,
    TokenBucket,
    describe_rate,
    jittered,
    resolve_rate,
)


def test_presets_and_confirmation():
    assert resolve_rate("safe") == 0.5 and describe_rate(0.5) == "30/min"
    assert resolve_rate(50) == 50
    with pytest.raises(PaceError, match="above 50/s"):
        resolve_rate("standard")
    with pytest.raises(PaceError, match="above 50/s"):
        resolve_rate(1000.0)
    assert resolve_rate("standard", confirm_high_rate=True) == 80
    assert resolve_rate("max", confirm_high_rate=True) == 1000
    with pytest.raises(PaceError, match="one of safe"):
        resolve_rate("turbo")
    with pytest.raises(PaceError, match="more than 0"):
        resolve_rate(0)


def test_a_real_number_is_capped_at_max_rate_unless_configured():
    assert resolve_rate("standard", confirm_high_rate=True, max_rate=80.0) == 80
    with pytest.raises(PaceError, match="above the configured cap of 80/s per number"):
        resolve_rate("max", confirm_high_rate=True, max_rate=80.0)
    assert resolve_rate("max", confirm_high_rate=True, max_rate=1000.0) == 1000


def drive(bucket: TokenBucket, seconds: float, step: float) -> int:
    """Simulate a dispatcher waking every ``step`` seconds and taking every token there is."""
    taken, t = 0, 0.0
    while t < seconds:
        while bucket.try_take(t) == 0.0:
            taken += 1
        t += step
    return taken


@settings(max_examples=25, deadline=None)
@given(rate=st.floats(0.5, 2000), step=st.floats(0.0005, 0.01))
def test_bucket_keeps_the_rate_within_two_percent(rate, step):
    seconds = max(5.0, 200 / rate)
    taken = drive(TokenBucket(rate, now=0.0), seconds, step)
    assert abs(taken - rate * seconds) <= 0.02 * rate * seconds + 2


def test_bucket_tells_how_long_to_wait():
    b = TokenBucket(10.0, now=0.0)
    assert b.try_take(0.0) == 0.0
    assert b.try_take(0.0) == pytest.approx(0.1)
    assert b.try_take(0.1) == 0.0


def test_aimd_halves_on_throttle_and_recovers():
    a = Aimd(100.0, now=0.0)
    assert a.throttled(1.0) == 50.0
    assert a.throttled(1.5) == 50.0  # one cut per cooldown
    assert a.throttled(2.1) == 25.0
    assert a.tick(2.5) == 25.0  # still cooling down
    a.tick(3.1)
    assert a.tick(4.1) == pytest.approx(35.0)
    assert a.tick(100.0) == 100.0
    assert a.cuts == 2


def test_number_pacer_slows_its_bucket():
    p = NumberPacer("pn1", 100.0, now=0.0)
    before = drive_pacer(p, 0.0, 1.0)
    p.throttled(1.0)
    after = drive_pacer(p, 1.0, 1.5)
    assert before == pytest.approx(100, abs=3)
    assert after == pytest.approx(25, abs=3)


def drive_pacer(p: NumberPacer, start: float, end: float) -> int:
    n, t = 0, start
    while t < end:
        while p.try_take(t) == 0.0:
            n += 1
        t += 0.001
    return n


def test_pair_limiter():
    pair = PairLimiter(6.0)
    assert pair.wait_time("+49", 0.0) == 0.0
    pair.note_sent("+49", 0.0)
    assert pair.wait_time("+49", 1.0) == 5.0
    pair.hold("+49", 16.0, 1.0)
    assert pair.wait_time("+49", 1.0) == 16.0
    assert pair.wait_time("+44", 1.0) == 0.0
    pair.prune(20.0)
    assert pair.wait_time("+49", 20.0) == 0.0


def test_jitter_stays_between_half_and_full():
    rng = random.Random(1)
    values = [jittered(8.0, rng.random()) for _ in range(500)]
    assert min(values) >= 4.0 and max(values) <= 8.0
    assert len(set(round(v, 3) for v in values)) > 100
    assert (jittered(8.0, 0.0), jittered(8.0, 1.0)) == (4.0, 8.0)


def test_number_pool_takes_the_numbers_in_turn_and_slows_only_the_throttled_one():
    pool = NumberPool(("pn-a", "pn-b"), 10.0, 0.0)
    taken = [pool.take(None, 0.0)[0] for _ in range(2)]  # each bucket starts with one token
    assert [p.phone_number_id for p in taken] == ["pn-a", "pn-b"]
    assert pool.take(None, 0.0) == (None, pytest.approx(0.1))  # both empty: wait for the next token
    pool.throttled("pn-b", 0.0)
    assert [p.rate for p in pool.pacers] == [10.0, 5.0] and pool.rate == 15.0


def test_a_row_pinned_to_a_number_takes_only_that_numbers_token():
    pool = NumberPool(("pn-a", "pn-b"), 10.0, 0.0)
    assert pool.take("pn-a", 0.0)[0].phone_number_id == "pn-a"
    assert pool.take("pn-a", 0.0) == (None, pytest.approx(0.1))  # pn-b's token is not lent
    assert pool.take("pn-b", 0.0)[0].phone_number_id == "pn-b"
