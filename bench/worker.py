"""Benchmark the campaign worker: 100,000 recipients at 1,000 msg/s from two numbers (500/s each)
against the standalone sandbox (its own process), on SQLite and on PostgreSQL.

The campaign is submitted through the ledger like a notebook does; a :class:`Worker` in this
process pins its rows to the two numbers and sends them with a runner per number, as ``wamkt
worker`` does. The sandbox's throughput limit is raised out of the way and its simulated clock
runs at 1/1000 speed (no status webhooks compete for the two cores). Every call the worker makes
on the store is timed: "DB ms/msg" is that time (statements and the Python inside a transaction)
per message.

Prints per database: achieved rate over the whole campaign and per number, pacing error against
the target, DB and CPU time per message (the worker's, and the sandbox's: both share the machine's
cores), and the ratio against the 1,000 msg/s target.

    .venv/bin/python bench/worker.py [--recipients 100000] [--rate 1000] [--only sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.measure import cpu_seconds  # noqa: E402
from bench.send import plan  # noqa: E402
from tests.helpers.pg_server import start_postgres  # noqa: E402
from tests.helpers.processes import free_port, stop_process, wait_for_port  # noqa: E402
from tests.helpers.sandboxes import standalone_sandbox  # noqa: E402
from wamkt_nb import ledger  # noqa: E402
from wamkt_nb.campaigns.worker import JsonLog, Worker  # noqa: E402
from wamkt_nb.cloudapi import AsyncCloudClient  # noqa: E402
from wamkt_nb.ledger import control  # noqa: E402
from wamkt_nb.sandbox import SandboxConfig  # noqa: E402
from wamkt_nb.store import open_store  # noqa: E402

TOKEN = "sandbox-token"
NUMBERS = (SandboxConfig().phone_number_id, "106540352242923")
CONCURRENCY = 16
"""Requests in flight per number."""


class StoreTimer:
    """Adds the wall time of every ``query``, ``execute`` and ``transaction`` of a store to ``seconds``."""

    def __init__(self, store: Any) -> None:
        self.seconds = 0.0
        self.calls = 0
        for name in ("query", "execute"):
            setattr(store, name, self._timed(getattr(store, name)))
        inner = store.transaction

        @contextlib.contextmanager
        def transaction(*args: Any, **kwargs: Any) -> Iterator[Any]:
            t0 = time.perf_counter()
            try:
                with inner(*args, **kwargs) as conn:
                    yield conn
            finally:
                self.seconds += time.perf_counter() - t0
                self.calls += 1

        store.transaction = transaction

    def _timed(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - t0
                self.calls += 1

        return timed


async def run_worker(store: Any, base_url: str) -> None:
    async with AsyncCloudClient(
        base_url=base_url, access_token=TOKEN, timeout=10.0, max_connections=CONCURRENCY * len(NUMBERS)
    ) as client:
        worker = Worker(store, client, NUMBERS, poll=0.2, log=JsonLog(io.StringIO()))
        await worker.serve(once=True)


def leg(backend: str, target: str, base_url: str, n: int, rate: float, sandbox_pid: int) -> dict[str, Any]:
    store = open_store(target)
    t0 = time.perf_counter()
    cid = ledger.create_campaign(store, plan(n, 0, "utility"), name=f"bench-{backend}", now=time.time())
    planned_s = time.perf_counter() - t0
    per_number = rate / len(NUMBERS)
    options = {"pace": per_number, "confirm_high_rate": per_number > 50, "concurrency": CONCURRENCY}
    control.submit(store, cid, options, time.time())
    timer = StoreTimer(store)
    cpu0, wall0, sandbox0 = time.process_time(), time.perf_counter(), cpu_seconds(sandbox_pid)
    asyncio.run(run_worker(store, base_url))
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    sandbox_cpu = cpu_seconds(sandbox_pid) - sandbox0
    spans = store.query(
        "SELECT s.phone_number_id, count(*), MIN(a.started_at), MAX(a.started_at) FROM attempts a"
        " JOIN sends s ON s.send_id = a.send_id WHERE s.campaign_id = ? GROUP BY 1",
        (cid,),
    )
    counts = ledger.state_counts(store, cid)
    status = ledger.campaign_info(store, cid)["status"]
    store.close()
    first, last = min(r[2] for r in spans), max(r[3] for r in spans)
    achieved = (sum(r[1] for r in spans) - 1) / (last - first)
    number_rates = [(r[1] - 1) / (r[3] - r[2]) for r in spans]
    return {
        "database": backend,
        "recipients": n,
        "status": status,
        "accepted": counts["accepted"] + counts["sent"] + counts["delivered"] + counts["read"],
        "target/s": rate,
        "achieved/s": achieved,
        "per number/s": " / ".join(f"{r:,.0f}" for r in number_rates),
        "pacing error %": max(abs(r - per_number) / per_number * 100 for r in number_rates),
        "DB ms/msg": timer.seconds / n * 1000,
        "DB calls/msg": timer.calls / n,
        "CPU µs/msg": cpu / n * 1e6,
        "sandbox CPU µs/msg": sandbox_cpu / n * 1e6,
        "wall s": wall,
        "plan s": planned_s,
        "ratio to target": achieved / rate,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipients", type=int, default=100_000)
    ap.add_argument("--rate", type=float, default=1000.0, help="target msg/s over both numbers")
    ap.add_argument("--only", choices=("sqlite", "postgresql"), default=None)
    args = ap.parse_args()
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    sandbox = standalone_sandbox(port, customers=200, throughput="1e9", speed="0.001", numbers=NUMBERS[1:])
    rows = []
    try:
        wait_for_port(port, proc=sandbox)
        with tempfile.TemporaryDirectory() as tmp:
            if args.only in (None, "sqlite"):
                rows.append(
                    leg("sqlite", str(Path(tmp) / "bench.db"), base_url, args.recipients, args.rate, sandbox.pid)
                )
            if args.only in (None, "postgresql"):
                server = start_postgres(free_port())
                try:
                    rows.append(
                        leg(
                            "postgresql",
                            server.create_database("bench"),
                            base_url,
                            args.recipients,
                            args.rate,
                            sandbox.pid,
                        )
                    )
                finally:
                    server.stop()
    finally:
        stop_process(sandbox)
    table = pd.DataFrame(rows).set_index("database")
    with pd.option_context("display.width", 250, "display.max_columns", 20, "display.float_format", "{:,.2f}".format):
        print(table.T)
    for name, row in table.iterrows():
        print(
            f"{name}: {row['achieved/s']:,.0f} msg/s on two numbers = {row['ratio to target']:.2f}x the "
            f"{args.rate:,.0f} msg/s target; pacing error {row['pacing error %']:.1f} %; "
            f"{row['DB ms/msg']:.3f} ms of database time per message"
        )
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} (shared: figures are noisy)")


if __name__ == "__main__":
    main()
