"""``wamkt send NAME --submit|--pause|--cancel``: hand a campaign to ``wamkt worker`` and watch it.

The worker sends; this command writes the request into the ledger and prints the campaign's
progress from it until the campaign is complete or cancelled. Ctrl-C ends the watch only: the
campaign goes on in the worker. Exit code 0 when complete, 3 when cancelled or left running.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from typing import Any

from .. import ledger
from ..campaigns.progress import Progress
from ..campaigns.watch import SubmittedRun
from ..campaigns.worker import submitted_options
from ..ledger import control
from ..store import open_store
from ..workspace import database_target
from . import existing_parent


def _store(args: argparse.Namespace):
    return open_store(existing_parent(args.db, "--db") if args.db else database_target())


def request_worker(args: argparse.Namespace, what: str) -> int:
    """Write ``pause`` or ``cancel`` for the worker; it acts on its next look at the ledger."""
    with _store(args) as store:
        control.request(store, args.campaign, what, time.time())
    print(f"{what} requested for {args.campaign}; the worker acts on it within its poll interval", flush=True)
    return 0


async def submit_and_watch(args: argparse.Namespace, options: dict[str, Any], line: Callable[[Progress], str]) -> int:
    """Submit ``args.campaign`` with ``options`` and print each new ``line(progress)`` until it ends."""
    with _store(args) as store:
        ledger.campaign_info(store, args.campaign)  # a clear error for an unknown name
        if args.retry_held:
            ledger.set_held_retry(store, args.campaign)
        shown = {"line": ""}

        def report(p: Progress) -> None:
            text = line(p)
            if not args.quiet and text != shown["line"]:
                print(text, flush=True)
            shown["line"] = text

        watched = SubmittedRun(store, args.campaign, submitted_options(options), on_progress=report, interval=1.0)
        print(f"submitted {args.campaign} to the worker; Ctrl-C stops watching, not sending", flush=True)
        try:
            progress = await watched.run()
        except (KeyboardInterrupt, asyncio.CancelledError):
            print(f"\nstill running in the worker: wamkt send {args.campaign} --pause | --cancel", flush=True)
            return 3
        print(line(progress), flush=True)
        return 0 if progress.status == "complete" else 3
