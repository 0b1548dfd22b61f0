"""Sandboxes set up for the tests (and benchmarks) that send through them: embedded, or standalone."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager
from typing import Any

from wamkt_nb.sandbox import Sandbox

from . import ROOT


@contextmanager
def sender_sandbox(customers, **options):
    """An embedded sandbox for sender tests: ``customers``, no pair rate, no messaging tier limit."""
    with Sandbox(customers=customers, **options) as sb:
        sb.configure(pair_interval=0.0, messaging_tier="TIER_UNLIMITED")
        yield sb


def standalone_sandbox(
    port: int,
    *,
    customers: int,
    throughput: str,
    speed: str,
    numbers: tuple[str, ...] = (),
    seed: int = 42,
    webhook: str | None = None,
    env: dict[str, str] | None = None,
    log: Any = subprocess.DEVNULL,
) -> subprocess.Popen:
    """``wamkt sandbox`` in its own process on 127.0.0.1:``port``: no pair rate, no messaging tier
    limit, ``numbers`` as further phone numbers of the portfolio, status webhooks to ``webhook``."""
    command = [sys.executable, "-m", "wamkt_nb", "sandbox", "--port", str(port), "--customers", str(customers)]
    command += ["--seed", str(seed), "--throughput", throughput, "--pair-interval", "0", "--tier", "TIER_UNLIMITED"]
    command += ["--speed", speed]
    for number in numbers:
        command += ["--portfolio-number", number]
    if webhook:
        command += ["--webhook", webhook]
    return subprocess.Popen(command, cwd=ROOT, env=env or dict(os.environ), stdout=log, stderr=subprocess.STDOUT)
