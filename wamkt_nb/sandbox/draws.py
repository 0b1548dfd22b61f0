"""Reproducible random draws named by a string, cheap enough to make one stream per message.

``random.Random(name)`` sets up the Mersenne Twister's 2.5 KB state from a SHA-512 of the name:
about 6 µs, paid for every accepted message. :class:`NamedDraws` hashes the name once (BLAKE2b,
64 bits) and makes its n-th uniform number by SplitMix64 of (hash + n): a counter-based stream,
the same numbers for the same name in any process, independent between names.
"""

from __future__ import annotations

import hashlib
import random

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15  # SplitMix64's increment (Steele, Lea, Flood 2014)


class NamedDraws(random.Random):
    """A ``random.Random`` whose stream is fixed by ``name``; every distribution method (uniform,
    expovariate, choice, gauss...) draws from :meth:`random`."""

    def __init__(self, name: str) -> None:  # no Mersenne Twister state to set up
        self._state = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big")
        self.gauss_next = None

    def seed(self, *args: object, **kwargs: object) -> None:
        raise TypeError("NamedDraws is seeded by its name only")

    def random(self) -> float:
        self._state = z = (self._state + _GOLDEN) & _MASK
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        return ((z ^ (z >> 31)) >> 11) * 2.0**-53
