"""Benchmark: metrics over 1,000,000 ledger rows and Voila time-to-rendered of the campaign overview.

    .venv/bin/python bench/dashboards.py [--customers 100000] [--rows 1000000] [--no-browser]

Writes 100,000 sample customers and 1,000,000 ledger rows (20 campaigns, vectorised, straight into
SQLite) with inbound replies and orders to a temporary workspace, then times
``load_ledger`` + ``compute_metrics`` (target < 2 s) and the campaign overview dashboard served by
Voila until its figures are painted in headless Chromium (target < 10 s).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from wamkt_nb.analytics import compute_metrics, load_ledger  # noqa: E402
from wamkt_nb.analytics.synthetic import write_ledger  # noqa: E402
from wamkt_nb.data.sample import generate  # noqa: E402
from wamkt_nb.store import open_store  # noqa: E402
from wamkt_nb.workspace import save_customer_data  # noqa: E402

METRICS_TARGET_S = 2.0
RENDER_TARGET_S = 10.0


def time_metrics(db_path: Path, repeats: int = 3) -> dict[str, float]:
    """Seconds to load the ledger straight from SQLite, to build and to read the columnar
    snapshot (median of ``repeats``), and to compute every metric (median)."""
    store = open_store(db_path)
    t0 = time.perf_counter()
    load_ledger(store)
    direct = time.perf_counter() - t0
    t0 = time.perf_counter()
    load_ledger(store, snapshot=True)  # first read: builds the snapshot
    cold = time.perf_counter() - t0
    warm, computes = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        data = load_ledger(store, snapshot=True)
        t1 = time.perf_counter()
        compute_metrics(data, pd.Timestamp.now(tz="UTC"))
        warm.append(t1 - t0)
        computes.append(time.perf_counter() - t1)
    store.close()
    return {
        "rows": len(data.sends),
        "direct": direct,
        "cold": cold,
        "warm": statistics.median(warm),
        "compute": statistics.median(computes),
    }


def time_render(workspace: Path) -> float:
    """Seconds from requesting the campaign overview in Voila to its figures painted in Chromium."""
    sys.path.insert(0, str(ROOT / "tests"))
    from helpers.browser import CHROMIUM_ARGS, voila_server  # noqa: PLC0415 (the tests' helpers, on the path just above)
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 (a browser only for the render timing)

    env = {"WAMKT_WORKSPACE": str(workspace)}
    with voila_server(ROOT / "dashboards" / "campaign_overview.ipynb", env) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        t0 = time.perf_counter()
        page.goto(url, timeout=120_000)
        page.wait_for_selector(".wamkt-chart img", state="visible", timeout=120_000)
        page.wait_for_selector(".wamkt-kpis", state="visible", timeout=120_000)
        elapsed = time.perf_counter() - t0
        browser.close()
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--no-browser", action="store_true", help="skip the Voila time-to-rendered")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wamkt-bench-") as tmp:
        workspace = Path(tmp)
        t0 = time.perf_counter()
        data = generate(args.customers, seed=3)
        save_customer_data(data, workspace)
        store = open_store(workspace / "wamkt.db")
        write_ledger(store, data.customers, args.rows, time.time())
        store.close()
        print(f"setup: {args.customers:,} customers, {args.rows:,} ledger rows in {time.perf_counter() - t0:.1f} s")
        t = time_metrics(workspace / "wamkt.db")
        print(
            f"load {t['rows']:,} ledger rows: straight from SQLite {t['direct']:.2f} s;"
            f" first snapshot build {t['cold']:.2f} s; from the current snapshot {t['warm']:.2f} s"
        )
        total = t["warm"] + t["compute"]
        print(
            f"metrics (every table of the dashboards) over {t['rows']:,} rows: compute {t['compute']:.2f} s"
            f" (target < {METRICS_TARGET_S:.0f} s: {t['compute'] / METRICS_TARGET_S:.2f}x of budget);"
            f" with the snapshot read {total:.2f} s; with a direct SQLite load {t['direct'] + t['compute']:.2f} s"
        )
        if not args.no_browser:
            render_s = time_render(workspace)
            print(
                f"campaign overview rendered in Chromium via Voila (snapshot current): {render_s:.2f} s"
                f" (target < {RENDER_TARGET_S:.0f} s: {render_s / RENDER_TARGET_S:.2f}x of budget)"
            )
            (workspace / "wamkt.db.sends.parquet").unlink()
            cold_s = time_render(workspace)
            print(
                f"  the same with no snapshot yet (the first visit builds it): {cold_s:.2f} s"
                f" ({cold_s / RENDER_TARGET_S:.2f}x of budget)"
            )
    print(f"(machine shared with other work: {os.cpu_count()} cores; figures may be noisy)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
