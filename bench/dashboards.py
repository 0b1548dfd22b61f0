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

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from wamkt_nb.analytics import compute_metrics, load_ledger  # noqa: E402
from wamkt_nb.data.sample import generate  # noqa: E402
from wamkt_nb.store import open_store  # noqa: E402
from wamkt_nb.workspace import save_customer_data  # noqa: E402

METRICS_TARGET_S = 2.0
RENDER_TARGET_S = 10.0
SEGMENTS = np.array(["unsegmented", "frequent_buyers", "high_order_value", "active_7d"])


def write_ledger(store, customers: pd.DataFrame, rows: int, now: float, seed: int = 7) -> None:
    """``rows`` sends over 20 campaigns, with statuses, replies and orders, written in bulk."""
    rng = np.random.default_rng(seed)
    n_campaigns = 20
    per = rows // n_campaigns
    ids = customers["customer_id"].to_numpy(dtype=object)
    phones = customers["phone"].to_numpy(dtype=object)
    starts = now - np.sort(rng.uniform(2, 90, n_campaigns))[::-1] * 86_400
    campaigns = [
        (f"bench{c:02d}", f"Campaign {c + 1}", "marketing", "complete", float(starts[c]),
         None if SEGMENTS[c % 4] == "unsegmented" else str(SEGMENTS[c % 4]))
        for c in range(n_campaigns)
    ]
    with store.transaction() as db:
        db.executemany(
            "INSERT INTO campaigns (campaign_id, name, category, status, created_at, segment_name)"
            " VALUES (?,?,?,?,?,?)", campaigns,
        )
    cols = []
    for c in range(n_campaigns):
        who = rng.choice(len(ids), size=min(per, len(ids)), replace=False)
        n = len(who)
        out = starts[c] + np.arange(n) / 80.0  # 80 msg/s
        u = rng.random(n)
        lift = 0.05 * (c % 4)
        state = np.select([u < 0.02, u < 0.05, u < 0.30 - lift, u < 0.38], ["excluded", "failed", "delivered", "sent"], "read")
        delivered = np.isin(state, ("delivered", "read"))
        cols.append(pd.DataFrame({
            "campaign_id": f"bench{c:02d}", "customer_id": ids[who], "phone": phones[who], "state": state,
            "error_code": np.where(state == "failed", rng.choice([131026, 131049, 131050, 131047], n), np.nan),
            "accepted_at": np.where(state != "excluded", out, np.nan),
            "sent_at": np.where(np.isin(state, ("sent", "delivered", "read")), out + 1, np.nan),
            "delivered_at": np.where(delivered, out + 3, np.nan),
            "read_at": np.where(state == "read", out + 3 + rng.exponential(3600, n), np.nan),
            "failed_at": np.where(state == "failed", out + 5, np.nan),
        }))
    ledger = pd.concat(cols, ignore_index=True)
    ledger["recipient_key"] = ledger["campaign_id"] + ":" + ledger["customer_id"].astype(str)
    ledger["billable"] = np.where(ledger["delivered_at"].notna(), 1, np.nan)
    columns = ["campaign_id", "recipient_key", "customer_id", "phone", "state", "error_code", "accepted_at",
               "sent_at", "delivered_at", "read_at", "failed_at", "billable"]
    records = ledger[columns].astype(object).where(ledger[columns].notna(), None)
    with store.transaction() as db:
        db.executemany(
            "INSERT INTO sends (campaign_id, recipient_key, customer_id, phone, state, error_code, accepted_at,"
            " sent_at, delivered_at, read_at, failed_at, billable, message_type, updated_at)"
            f" VALUES (?,?,?,?,?,?,?,?,?,?,?,?,'template',{now})",
            records.itertuples(index=False, name=None),
        )
    # Replies: 12 % of delivered answer, mostly within minutes; orders: 4 % buy within a week.
    reached = ledger[ledger["delivered_at"].notna()]
    replied = reached.sample(frac=0.12, random_state=seed)
    reply_at = replied["delivered_at"].to_numpy() + rng.exponential(240, len(replied))
    with store.transaction() as db:
        db.executemany(
            "INSERT INTO inbound_messages (wamid, wa_id, phone, type, text, timestamp, payload_json, received_at)"
            " VALUES (?,?,?,'text','JA',?,'{}',?)",
            zip((f"wamid.b{i}" for i in range(len(replied))), replied["phone"].str[1:], replied["phone"],
                reply_at.tolist(), reply_at.tolist()),
        )
        bought = reached.sample(frac=0.04, random_state=seed + 1)
        at = bought["delivered_at"].to_numpy() + rng.uniform(600, 6 * 86_400, len(bought))
        db.executemany(
            "INSERT INTO conversions (order_id, customer_id, phone, at, amount, source) VALUES (?,?,?,?,?,'shop')",
            zip((f"o{i}" for i in range(len(bought))), bought["customer_id"].astype(str), bought["phone"],
                at.tolist(), np.round(rng.lognormal(3.8, 0.5, len(bought)), 2).tolist()),
        )


def time_metrics(db_path: Path, repeats: int = 3) -> tuple[float, float, int]:
    """Median seconds to load the ledger and to compute every metric."""
    loads, computes = [], []
    for _ in range(repeats):
        store = open_store(db_path)
        t0 = time.perf_counter()
        data = load_ledger(store)
        t1 = time.perf_counter()
        compute_metrics(data, pd.Timestamp.now(tz="UTC"))
        t2 = time.perf_counter()
        store.close()
        loads.append(t1 - t0)
        computes.append(t2 - t1)
    return statistics.median(loads), statistics.median(computes), len(data.sends)


def time_render(workspace: Path) -> float:
    """Seconds from requesting the campaign overview in Voila to its figures painted in Chromium."""
    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import CHROMIUM_ARGS, voila_server
    from playwright.sync_api import sync_playwright

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
        load_s, compute_s, n = time_metrics(workspace / "wamkt.db")
        total = load_s + compute_s
        print(f"metrics over {n:,} ledger rows: load {load_s:.2f} s + compute {compute_s:.2f} s = {total:.2f} s"
              f" (target < {METRICS_TARGET_S:.0f} s: {total / METRICS_TARGET_S:.2f}x of budget)")
        if not args.no_browser:
            render_s = time_render(workspace)
            print(f"campaign overview rendered in Chromium via Voila: {render_s:.2f} s"
                  f" (target < {RENDER_TARGET_S:.0f} s: {render_s / RENDER_TARGET_S:.2f}x of budget)")
    print(f"(machine shared with other work: {os.cpu_count()} cores; figures may be noisy)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
