"""Benchmark: the dashboards' figures computed by the database at 1 M and 10 M ledger rows, on
SQLite and on PostgreSQL, and Voila time-to-rendered of the campaign overview.

    .venv/bin/python bench/dashboards.py [--customers 100000] [--rows 1000000 10000000]
        [--backends sqlite postgresql] [--no-browser]

For each backend and size: writes sample customers and a synthetic ledger (``write_ledger``:
campaigns of 80 msg/s with statuses, replies and orders; bulk, COPY on PostgreSQL, the ledger's
indexes built once after the rows) into a fresh store, then times the figures the database
computes (``analytics.stored.stored_tables``: funnel per campaign and per segment, the funnel
column, failures per code) against the targets (< 0.3 s at 1 M rows, < 3 s at 10 M) and against the
baseline of loading the ledger into pandas and computing every table there (2.13 s at 1 M rows):
cold (the first computation, which folds the triggers' notes of the bulk write and builds every
campaign's rollup), warm (rollups current; median of 3), and warm again after 1,000 status updates
(``read`` webhooks applied through ``ledger.transitions``) spread over every campaign, then after
1,000 in one campaign (only the campaigns written are computed again).
The campaign overview is timed in headless Chromium via Voila on the SQLite workspace of the first
size (baseline 9.6 s, 18 s on a first visit); the dashboards open the workspace's SQLite file, so
there is no PostgreSQL render to time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from wamkt_nb.analytics import MetricOptions, compute_metrics, load_ledger  # noqa: E402
from wamkt_nb.analytics.stored import stored_tables  # noqa: E402
from wamkt_nb.analytics.synthetic import write_ledger  # noqa: E402
from wamkt_nb.data.sample import generate  # noqa: E402
from wamkt_nb.ledger import campaign_names  # noqa: E402
from wamkt_nb.ledger.transitions import RecordedStatus, apply_status  # noqa: E402
from wamkt_nb.store import Store, open_store  # noqa: E402
from wamkt_nb.store.bulk import indexes_set_aside  # noqa: E402
from wamkt_nb.workspace import save_customer_data  # noqa: E402

BASELINE_METRICS_S = 2.13
"""Load 1 M ledger rows (columnar snapshot current) and compute every table in pandas, before."""
BASELINE_RENDER_S = 9.6
BASELINE_FIRST_RENDER_S = 18.0
METRICS_TARGET_S = {1_000_000: 0.3, 10_000_000: 3.0}
RENDER_TARGET_S = 4.0


def time_figures(store: Store, repeats: int = 3) -> tuple[float, float]:
    """Seconds for the first computation and the median of ``repeats`` more."""
    options = MetricOptions()
    t0 = time.perf_counter()
    stored_tables(store, options=options)
    first = time.perf_counter() - t0
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        stored_tables(store, options=options)
        runs.append(time.perf_counter() - t0)
    return first, statistics.median(runs)


def read_statuses(store: Store, customers: pd.DataFrame, campaigns: list[str], count: int, seed: int) -> float:
    """Apply ``count`` ``read`` statuses that move sends of ``campaigns`` (round robin, random
    recipients; a recipient the campaign skipped or already read moves nothing and another is
    drawn) in one transaction, as the webhook receiver would; returns the seconds it took."""
    rng = np.random.default_rng(seed)
    ids = customers["customer_id"].astype(str).to_numpy(dtype=object)
    moved, k, now = 0, 0, time.time()
    t0 = time.perf_counter()
    with store.transaction() as conn:
        while moved < count:
            key = f"{campaigns[k % len(campaigns)]}:{ids[rng.integers(len(ids))]}"
            moved += apply_status(conn, RecordedStatus(f"wamid.bench{k}", "read", now, key), now)
            k += 1
    return time.perf_counter() - t0


def time_pandas(store: Store) -> float:
    """Seconds to compute every table the old way, on this machine now: the ledger loaded into
    pandas from the columnar snapshot (built first, untimed) and ``compute_metrics``: the same
    work the 2.13 s baseline measured, so the ratio of the two says how loaded the machine is."""
    load_ledger(store, snapshot=True)
    t0 = time.perf_counter()
    compute_metrics(load_ledger(store, snapshot=True), pd.Timestamp.now(tz="UTC"))
    return time.perf_counter() - t0


def time_render(workspace: Path) -> float:
    """Seconds from requesting the campaign overview in Voila to its figures painted in Chromium."""
    from helpers.browser import CHROMIUM_ARGS, voila_server  # noqa: PLC0415 (the tests' helpers, on the path above)
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 (a browser only for the render timing)

    env = {"WAMKT_WORKSPACE": str(workspace)}
    with voila_server(ROOT / "dashboards" / "campaign_overview.ipynb", env) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        t0 = time.perf_counter()
        page.goto(url, timeout=180_000)
        page.wait_for_selector(".wamkt-chart img", state="visible", timeout=180_000)
        page.wait_for_selector(".wamkt-kpis", state="visible", timeout=180_000)
        elapsed = time.perf_counter() - t0
        browser.close()
    return elapsed


@contextmanager
def postgres_databases() -> Iterator[Callable[[str], str]]:
    """A throwaway PostgreSQL server (the tests' helper); yields a maker of fresh database URLs."""
    from helpers.pg_server import start_postgres  # noqa: PLC0415 (only when PostgreSQL is benchmarked)
    from helpers.processes import free_port  # noqa: PLC0415 (only when PostgreSQL is benchmarked)

    server = start_postgres(free_port())
    try:
        yield server.create_database
    finally:
        server.stop()


def ratio(seconds: float, budget: float) -> str:
    return f"{seconds / budget:.2f}x"


def run(backend: str, rows: int, args: argparse.Namespace, workspace: Path, new_database: Callable[[str], str]) -> None:
    data = generate(args.customers, seed=3)
    target = workspace / "wamkt.db" if backend == "sqlite" else new_database(f"bench_{rows}")
    store = open_store(target)
    t0 = time.perf_counter()
    with indexes_set_aside(store, "sends"):
        write_ledger(store, data.customers, rows, time.time())
    setup = time.perf_counter() - t0
    budget = METRICS_TARGET_S.get(rows, METRICS_TARGET_S[1_000_000] * rows / 1_000_000)
    cold, warm = time_figures(store)
    print(
        f"[{backend}, {rows:,} rows] setup {setup:.1f} s; figures from the rollups: warm {warm:.3f} s,"
        f" target < {budget:g} s: {ratio(warm, budget)}; vs the pandas baseline {BASELINE_METRICS_S} s"
        f" at 1 M rows: {ratio(warm, BASELINE_METRICS_S)}; cold (rollups built) {cold:.3f} s: {ratio(cold, budget)}",
        flush=True,
    )
    campaigns = [cid for cid, _name in campaign_names(store)]  # newest first
    for label, written in (("spread over every campaign", campaigns), ("in the newest campaign", campaigns[:1])):
        writing = read_statuses(store, data.customers, written, 1000, seed=len(written))
        after, again = time_figures(store)
        print(
            f"[{backend}, {rows:,} rows]   after 1,000 status updates {label} ({writing * 1000:.0f} ms to write):"
            f" {after:.3f} s ({ratio(after, budget)} of the target), then warm {again:.3f} s",
            flush=True,
        )
    pandas_s = time_pandas(store) if backend == "sqlite" and args.pandas else None
    store.close()
    if pandas_s is not None:
        print(
            f"[{backend}, {rows:,} rows]   the pandas way on this machine now: {pandas_s:.2f} s"
            f" ({ratio(pandas_s, BASELINE_METRICS_S * rows / 1_000_000)} of its baseline, scaled to the rows);"
            f" the database's figures take {ratio(warm, pandas_s)} of it",
            flush=True,
        )
    if backend == "sqlite" and not args.no_browser:
        save_customer_data(data, workspace)
        render = time_render(workspace)
        print(
            f"[{backend}, {rows:,} rows] campaign overview rendered (snapshot current): {render:.2f} s;"
            f" target < {RENDER_TARGET_S:g} s: {ratio(render, RENDER_TARGET_S)};"
            f" vs the baseline {BASELINE_RENDER_S} s: {ratio(render, BASELINE_RENDER_S)}",
            flush=True,
        )
        (workspace / "wamkt.db.sends.parquet").unlink(missing_ok=True)
        cold = time_render(workspace)
        print(
            f"[{backend}, {rows:,} rows]   the same on a first visit (no snapshot yet): {cold:.2f} s;"
            f" vs the baseline {BASELINE_FIRST_RENDER_S} s: {ratio(cold, BASELINE_FIRST_RENDER_S)}",
            flush=True,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--backends", nargs="+", choices=("sqlite", "postgresql"), default=["sqlite", "postgresql"])
    parser.add_argument("--no-browser", action="store_true", help="skip the Voila time-to-rendered")
    parser.add_argument("--pandas", action="store_true", help="also time the pandas way on SQLite (load + compute)")
    args = parser.parse_args()
    databases = postgres_databases() if "postgresql" in args.backends else nullcontext(lambda name: name)
    with databases as pg:
        for backend in args.backends:
            for k, rows in enumerate(args.rows):
                with tempfile.TemporaryDirectory(prefix="wamkt-bench-") as tmp:
                    browser = args.no_browser or k > 0  # the overview on the first size only
                    run(backend, rows, argparse.Namespace(**{**vars(args), "no_browser": browser}), Path(tmp), pg)
    print(f"(machine shared with other work: {os.cpu_count()} cores; figures may be noisy)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
