"""Benchmark: A/B assignment of 1 M customers, per-arm counts from a 200 k-row ledger, evaluation.

Run: .venv/bin/python bench/abtest.py [--customers 1000000] [--ledger 200000] [--repeat 3]

Baseline for assignment: a per-customer Python loop (SHA-256 of "key:id", the first 8 bytes as an
integer, an if-chain over the cumulative shares), i.e. what one would write without numpy.
Outcome counts are timed on a real SQLite ledger in a temporary folder (sends, inbound replies,
conversions). The machine may be shared: figures are wall times of one run each, except the
assignment and its loop baseline: the best of ``--repeat`` runs (a shared machine only adds time).
Assignment is also compared with ISSUE_BASELINE_S, its time when issue 16 asked for it in bulk.
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from wamkt_nb.abtest import arm_counts, assign_arms, evaluate, guardrail_counts, plan_test, unit_outcomes
from wamkt_nb.store import open_store

ISSUE_BASELINE_S = 1.32
"""Seconds for 1,000,000 customers before the ids were handled in bulk (issue 16, item 5)."""


def baseline_assign(ids: list[str], key: str, arms: list[str], shares: list[float], holdout: float) -> dict[str, str]:
    out = {}
    for cid in ids:
        digest = hashlib.sha256(f"{key}:{cid}".encode()).digest()
        if int.from_bytes(digest[8:16], "big") / 2**64 < holdout:
            out[cid] = "holdout"
            continue
        u = int.from_bytes(digest[:8], "big") / 2**64
        edge = 0.0
        for arm, share in zip(arms, shares, strict=True):
            edge += share
            if u < edge:
                out[cid] = arm
                break
        else:
            out[cid] = arms[-1]
    return out


def best_of(repeat: int, fn, *args, **kwargs):
    """The result and the shortest wall time of ``repeat`` runs."""
    runs = [timed(fn, *args, **kwargs) for _ in range(repeat)]
    return runs[0][0], min(t for _, t in runs)


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


def ledger(path: Path, n: int) -> None:
    """A campaign of ``n`` sends in arms A/B/holdout with reads, replies and orders."""
    rng = np.random.default_rng(1)
    store = open_store(path)
    store.execute(
        "INSERT INTO campaigns (campaign_id, name, category, created_at, experiment_key)"
        " VALUES ('bench', 'bench', 'marketing', 0, 'bench')"
    )
    arms = rng.choice(["A", "B", "holdout"], n, p=[0.45, 0.45, 0.1])
    t0 = 1_700_000_000.0
    read = rng.random(n) < 0.6
    rows = [
        (
            f"bench:c{i}",
            f"c{i}",
            f"+4915{i:09d}",
            arm,
            "excluded" if arm == "holdout" else ("read" if r else "delivered"),
            "holdout" if arm == "holdout" else None,
            t0,
            None if arm == "holdout" else t0 + 60,
            None if arm == "holdout" else t0 + 70,
            t0 + 200 if r and arm != "holdout" else None,
            t0,
        )
        for i, (arm, r) in enumerate(zip(arms, read, strict=True))
    ]
    with store.transaction() as conn:
        conn.executemany(
            "INSERT INTO sends (campaign_id, recipient_key, customer_id, phone, arm, state, reason, planned_at,"
            " sent_at, delivered_at, read_at, updated_at) VALUES ('bench', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        who = rng.choice(n, n // 20, replace=False)
        conn.executemany(
            "INSERT INTO inbound_messages (wamid, wa_id, phone, type, timestamp, payload_json, received_at)"
            " VALUES (?, ?, ?, 'text', ?, '{}', ?)",
            [(f"w{i}", f"4915{i:09d}", f"+4915{i:09d}", t0 + 600, t0 + 600) for i in who],
        )
        buyers = rng.choice(n, n // 25, replace=False)
        conn.executemany(
            "INSERT INTO conversions (order_id, customer_id, at, amount) VALUES (?, ?, ?, 30.0)",
            [(f"o{i}", f"c{i}", t0 + 3600) for i in buyers],
        )
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--ledger", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    ids = [f"cust-{i:07d}" for i in range(args.customers)]
    arms, shares = ["A", "B", "C"], [1 / 3, 1 / 3, 1 / 3]
    ours, t_ours = best_of(args.repeat, assign_arms, ids, "bench-exp", arms, holdout=0.1)
    base, t_base = best_of(args.repeat, baseline_assign, ids, "bench-exp", arms, shares, 0.1)
    print(
        f"assign {args.customers:,} customers (3 arms + 10 % holdout): {t_ours:.2f} s "
        f"({args.customers / t_ours:,.0f}/s); per-row loop baseline {t_base:.2f} s; "
        f"ratio {t_base / t_ours:.2f}x"
    )
    if args.customers == 1_000_000:
        print(f"vs issue 16 baseline {ISSUE_BASELINE_S:.2f} s: {ISSUE_BASELINE_S / t_ours:.2f}x")
    strata = np.arange(args.customers) % 50
    _, t_strat = timed(assign_arms, ids, "bench-exp", arms, holdout=0.1, strata=strata)
    print(f"stratified (50 strata): {t_strat:.2f} s")
    assert (ours == "holdout").mean() == (np.array(list(base.values())) == "holdout").mean()

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        ledger(path, args.ledger)
        with open_store(path) as store:
            for metric in ("read", "reply", "conversion"):
                counts, t = timed(arm_counts, store, "bench", metric)
                print(
                    f"arm_counts({metric}) on {args.ledger:,} sends: {t * 1000:.0f} ms "
                    f"-> {dict(zip(counts['arm'], counts['successes'], strict=True))}"
                )
            units, t = timed(unit_outcomes, store, "bench", "conversion")
            print(
                f"unit_outcomes(conversion, 90-day pre-period orders for CUPED) on {args.ledger:,} sends: "
                f"{t * 1000:.0f} ms ({len(units):,} rows)"
            )
            _, t = timed(lambda: [guardrail_counts(store, "bench", g) for g in ("opt_out", "block")])
            print(f"guardrail_counts(opt_out + block): {t * 1000:.0f} ms")

    counts = {"A": (5_000, 100_000), "B": (5_300, 100_000), "C": (5_100, 100_000)}
    _, t_eval = timed(lambda: [evaluate(counts, sequential=True) for _ in range(100)])
    print(f"evaluate (3 arms, Bayes by integration, sequential): {t_eval * 10:.1f} ms per call")
    rng = np.random.default_rng(3)
    x = rng.poisson(1.0, 300_000).astype(float)
    units = {"arm": np.repeat(["A", "B", "C"], 100_000), "x": x, "y": (rng.random(300_000) < 0.05 + 0.01 * x) * 1.0}
    frame = pd.DataFrame(units)
    _, t_cuped = timed(evaluate, counts, units=frame)
    print(f"evaluate with CUPED (3 arms, 300,000 customers): {t_cuped * 1000:.0f} ms")
    _, t_plan = timed(lambda: [plan_test(0.05, 0.1, 50_000, relative=True, arms=3) for _ in range(100)])
    print(f"plan_test (3 arms): {t_plan * 10:.2f} ms per call")


if __name__ == "__main__":
    main()
