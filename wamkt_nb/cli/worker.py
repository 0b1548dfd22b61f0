"""``wamkt worker``: send every submitted campaign when it is due, as a long-running service.

Notebooks (``Campaign.submit()``) and ``wamkt send NAME --submit`` hand campaigns to it through the
ledger; it runs until SIGTERM/SIGINT, which lets the requests in flight finish and exits 0. Log
lines are JSON on stderr; ``--health-port`` serves ``/health`` and ``/counts`` on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path

from ..settings import load_settings
from ..store import open_store
from ..workspace import database_target
from . import CliError, existing_parent, finite_number, port_number, whole_number


def register(p: argparse.ArgumentParser) -> None:
    add_worker_arguments(p)
    p.add_argument("--once", action="store_true", help="send what is due now and exit (scripts, tests)")
    p.set_defaults(run=run)


def add_worker_arguments(p: argparse._ActionsContainer, required: bool = True) -> None:
    """The options ``wamkt worker`` and ``wamkt serve --worker`` share (where to send is required
    of ``wamkt worker``; ``serve`` checks it only with ``--worker``)."""
    where = p.add_mutually_exclusive_group(required=required)
    where.add_argument(
        "--sandbox", dest="base_url", metavar="BASE_URL", help="send to a running sandbox (e.g. http://127.0.0.1:8765)"
    )
    where.add_argument("--live", action="store_true", help="send through Meta's Cloud API (needs a token)")
    db = p.add_mutually_exclusive_group()
    db.add_argument("--db", type=Path, help="SQLite ledger (default: the workspace database or WAMKT_DATABASE_URL)")
    db.add_argument("--database-url", help="PostgreSQL URL of the team's ledger")
    p.add_argument("--poll", type=finite_number(0.05), default=1.0, help="seconds between looks at the ledger")
    p.add_argument(
        "--health-port", type=port_number, default=None, help="serve GET /health and /counts on 127.0.0.1 at this port"
    )
    p.add_argument("--timeout", type=finite_number(0.1), default=10.0, help="seconds per request")
    p.add_argument("--connections", type=whole_number(1), default=32, help="HTTP connections to the API")


def run(args: argparse.Namespace) -> int:
    return asyncio.run(run_worker(args, once=args.once))


def worker_store(args: argparse.Namespace):
    target = args.database_url or (existing_parent(args.db, "--db") if args.db else database_target())
    return open_store(target)


async def run_worker(args: argparse.Namespace, *, once: bool = False, stop: asyncio.Event | None = None) -> int:
    """Open the ledger and the API client, serve until stopped (SIGTERM/SIGINT, or ``stop`` when
    another part of the process owns the signals); 0 after a clean stop."""
    # noqa reason: the sender, the client and pandas load when the worker starts, not for every `wamkt` line
    from ..campaigns.worker import Worker  # noqa: PLC0415
    from ..campaigns.worker_http import serve_worker  # noqa: PLC0415
    from ..cloudapi import AsyncCloudClient  # noqa: PLC0415
    from .send import _sandbox  # noqa: PLC0415

    settings = load_settings()
    if args.live:
        if not settings.access_token:
            raise CliError("--live needs an access token (WAMKT_ACCESS_TOKEN or wamkt.toml)")
        base_url, token, numbers = settings.base_url, settings.access_token, settings.phone_number_ids
    else:
        if not args.base_url:
            raise CliError("name the API: --sandbox BASE_URL of a running sandbox, or --live")
        base_url, token, numbers, _ = _sandbox(args, settings, None)
    if not numbers:
        raise CliError("no sending phone number id: set WAMKT_PHONE_NUMBER_IDS or wamkt.toml")
    store = worker_store(args)
    try:
        async with AsyncCloudClient(
            settings, base_url=base_url, access_token=token, timeout=args.timeout, max_connections=args.connections
        ) as client:
            worker = Worker(
                store, client, tuple(numbers), poll=args.poll, max_rate=settings.max_rate if args.live else None
            )
            if stop is None:
                loop = asyncio.get_running_loop()
                for sig in (signal.SIGINT, signal.SIGTERM):
                    loop.add_signal_handler(sig, worker.stop)
                await serve_worker(worker, port=args.health_port, once=once)
            else:
                waiter = asyncio.ensure_future(stop.wait())
                waiter.add_done_callback(lambda _: worker.stop())
                try:
                    await serve_worker(worker, port=args.health_port, once=once)
                finally:
                    waiter.cancel()
    finally:
        store.close()
    return 0
