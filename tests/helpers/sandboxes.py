"""Embedded sandboxes set up for the tests that send through them."""

from __future__ import annotations

from contextlib import contextmanager

from wamkt_nb.sandbox import Sandbox


@contextmanager
def sender_sandbox(customers, **options):
    """An embedded sandbox for sender tests: ``customers``, no pair rate, no messaging tier limit."""
    with Sandbox(customers=customers, **options) as sb:
        sb.configure(pair_interval=0.0, messaging_tier="TIER_UNLIMITED")
        yield sb
