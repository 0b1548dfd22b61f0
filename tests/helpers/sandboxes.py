"""Sandboxes set up for the tests (and benchmarks) that send through them: embedded in this process,
or ``wamkt sandbox`` in a process of its own (optionally with a receiver in this process writing its
status webhooks into a SQLite ledger)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from wamkt_nb.sandbox import Sandbox
from wamkt_nb.serving.service import service_from_settings
from wamkt_nb.settings import Settings
from wamkt_nb.store import open_store
from wamkt_nb.webhooks.server import BackgroundServer

from . import ROOT
from .processes import stop_process, wait_for_port


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


@contextmanager
def sandbox_process_with_receiver(
    tmp: Path, db: Path, settings: Settings, port: int, customers: int, seed: int
) -> Iterator[httpx.Client]:
    """``wamkt sandbox`` on 127.0.0.1:``port`` (``customers`` of ``seed``, no pair rate, no tier limit,
    its clock at ten times wall speed, its log in ``tmp/sandbox.log``) sending its status webhooks to a
    receiver in this process that writes into ``db`` with ``settings`` (whose verify token the sandbox
    gets). Yields an HTTP client on the sandbox, with the sandbox's bearer token."""
    receiver_store = open_store(db)
    service = service_from_settings(settings, receiver_store)
    try:
        with BackgroundServer(service.asgi_app()) as receiver, open(tmp / "sandbox.log", "wb") as log:
            proc = standalone_sandbox(
                port,
                customers=customers,
                throughput="5000",
                speed="10",
                seed=seed,
                webhook=receiver.url + "/webhook",
                env=dict(os.environ, WAMKT_VERIFY_TOKEN=settings.verify_token.reveal()),
                log=log,
            )
            try:
                wait_for_port(port, proc=proc)
                with httpx.Client(
                    base_url=f"http://127.0.0.1:{port}", headers={"Authorization": "Bearer sandbox-token"}, timeout=30
                ) as http:
                    yield http
            finally:
                stop_process(proc)
    finally:
        receiver_store.close()
