"""NamedDraws: a named stream whose distribution methods draw as ``random.Random``'s do from it."""

from __future__ import annotations

import random

import pytest

from wamkt_nb.sandbox.draws import NamedDraws


class StreamRandom(random.Random):
    """A real ``random.Random`` whose uniform numbers are a NamedDraws stream (the reference)."""

    def __init__(self, name: str) -> None:
        super().__init__(0)
        self.stream = NamedDraws(name)

    def random(self) -> float:
        return self.stream.random()


def draws(rng) -> list:
    return [
        rng.random(),
        rng.uniform(0.3, 2.0),
        rng.expovariate(1 / 1800),
        rng.gauss(0.0, 0.35),
        rng.gauss(5.0, 2.0),  # the second value of a pair: gauss_next
        rng.gauss(5.0, 2.0),
        rng.choice(["a", "b", "c", "d", "e"]),
        rng.choice(range(1000)),
        rng.choices(["JA", "Info", "STOP"], weights=[0.3, 0.6, 0.1])[0],
        rng.random(),
    ]


@pytest.mark.parametrize("name", ["42:4915100000001:message 0", "7:US.00000000000000000042:message 12:buttons"])
def test_every_method_draws_as_a_random_subclass_on_the_same_stream(name):
    assert draws(NamedDraws(name)) == draws(StreamRandom(name))


def test_streams_depend_on_the_name_only():
    assert draws(NamedDraws("1:a:message 0")) == draws(NamedDraws("1:a:message 0"))
    assert draws(NamedDraws("1:a:message 0")) != draws(NamedDraws("1:a:message 1"))
