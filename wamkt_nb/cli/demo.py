"""``wamkt demo``: sample data, a played campaign history through the embedded sandbox, then the
dashboards served by Voila."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from ..analytics import load_ledger
from ..data.sample import default_now, generate
from ..scenarios.demo import play_history
from ..store import open_store
from ..workspace import workspace_dir
from . import finite_number, port_number, whole_number

DASHBOARDS = Path(__file__).resolve().parents[2] / "dashboards"
FIRST = ("campaign_overview", "segment_comparison", "send_times", "ab_results", "inbox", "segments", "customer_data")


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("--customers", type=whole_number(1), default=2_000, help="sample size (default 2,000)")
    p.add_argument("--days", type=finite_number(0), default=21.0, help="simulated days of history (default 21)")
    p.add_argument("--port", type=port_number, default=8866)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--workspace", type=Path, default=None, help="folder for data and database")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--no-serve", action="store_true", help="play the history, do not start Voila")
    p.set_defaults(run=run)


def prepare(directory: Path, customers: int, days: float, seed: int) -> Path:
    """Fresh sample data and a played history in ``directory``; returns the database path."""
    t0 = time.monotonic()
    start = default_now() - pd.Timedelta(days=days)
    data = generate(customers, seed=seed, now=start)
    db = directory / "wamkt.db"
    snapshots = directory.glob(db.name + ".*.parquet")
    for old in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm"), *snapshots):
        old.unlink(missing_ok=True)  # the demo's workspace starts from scratch every time (snapshots too)
    print(f"sample data: {data} in {directory} ({time.monotonic() - t0:.1f} s)", flush=True)
    print(f"playing {days:g} days of campaigns through the embedded sandbox ...", flush=True)
    t0 = time.monotonic()
    store = open_store(db)
    try:
        result = play_history(
            store, data, start=start.timestamp(), days=days, seed=seed, log=lambda line: print(line, flush=True)
        )
        load_ledger(store, snapshot=True)  # build the columnar snapshot now, not on the first dashboard visit
    finally:
        store.close()
    counters = result.counters
    print(
        f"history played in {time.monotonic() - t0:.1f} s: {len(result.played) + len(result.journey_steps)} campaigns"
        f" ({len(result.journey_steps)} of them journey steps), "
        f"{counters.get('accepted', 0):,} messages, {counters.get('status_read', 0):,} reads, "
        f"{counters.get('inbound', 0):,} customer messages, {counters.get('conversions', 0):,} orders",
        flush=True,
    )
    for line in result.skipped:
        print(f"left out: {line}", flush=True)
    return db


def start_voila(directory: Path, host: str, port: int) -> subprocess.Popen:
    """Voila serving ``dashboards/`` on the demo's workspace. Started before the history plays, so its
    start-up overlaps the history; kernels start per page request, so a page shows the data there is then."""
    env = dict(os.environ, WAMKT_WORKSPACE=str(directory))
    env.pop("WAMKT_DB_PATH", None)  # the dashboards read the demo's database, not another one
    cmd = [sys.executable, "-m", "voila", str(DASHBOARDS), "--no-browser", f"--port={port}", f"--Voila.ip={host}"]
    return subprocess.Popen(cmd, env=env)


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    directory = (args.workspace or workspace_dir()).resolve()
    voila = None if args.no_serve else start_voila(directory, args.host, args.port)
    previous = signal.signal(signal.SIGTERM, _interrupted)  # a terminated demo stops its Voila too
    try:
        prepare(directory, args.customers, args.days, args.seed)
        if voila is None:
            return 0
        if voila.poll() is not None:
            print(
                f"Voila exited with code {voila.returncode} while the history played "
                f"(is port {args.port} in use? try --port)",
                file=sys.stderr,
                flush=True,
            )
            return voila.returncode or 1
        base = f"http://{args.host}:{args.port}/"
        print(f"dashboards: {base}", flush=True)
        for name in FIRST:
            if (DASHBOARDS / f"{name}.ipynb").is_file():
                print(f"  {base}voila/render/{name}.ipynb", flush=True)
        return voila.wait()
    except KeyboardInterrupt:
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
        if voila is not None and voila.poll() is None:
            voila.terminate()
            try:
                voila.wait(10)
            except subprocess.TimeoutExpired:
                voila.kill()
                voila.wait()
