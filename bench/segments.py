"""Segment evaluation at 1,000,000 customers: pandas (live-count path) vs DuckDB vs a row-wise apply.

Run: .venv/bin/python bench/segments.py [n_customers] [--baseline-budget 300] [--pilot-rows 20000]

Data: ``generate(n)`` + ``build_features`` once (the real features). The rule has 6 conditions
in nested AND/OR/NOT groups over tags, numbers, a relative date, a string and a category.
Each evaluator runs once to warm up (first use builds the per-column caches / Arrow table),
then 20 times; p50/p95 are printed. The naive baseline is ``DataFrame.apply`` over rows on the
same data: a pilot on the first rows estimates its time, then it runs on all rows when the estimate
fits the budget (else the pilot is extrapolated, and the output says so).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from wamkt_nb.data.features import build_features
from wamkt_nb.data.sample import generate
from wamkt_nb.segments import And, Condition, Not, Or, SqlEvaluator, evaluate, segment_frame
from wamkt_nb.segments.evaluation import cutoff
from wamkt_nb.segments.rules import walk

from measure import timed_baseline

NOW = pd.Timestamp("2026-01-01", tz="UTC")
RUNS = 20

RULE = And(
    Or(Condition("tags", "has_any", ["frequent_buyer"]), Condition("avg_order_value", ">=", 50)),
    Condition("last_interaction_at", "within_last", 30),
    Not(Condition("country", "in", ["US", "BR"])),
    Or(Condition("purchase_frequency", "in", ["monthly", "quarterly"]), Condition("reply_rate", ">", 0.1)),
)


def row_predicate(row: pd.Series, since: pd.Timestamp) -> bool:
    """The same rule, written the naive way, one row at a time (inactive 90 d excluded)."""
    tags = row["tags"]
    if "inactive_90d" in tags:
        return False
    aov, seen, reply = row["avg_order_value"], row["last_interaction_at"], row["reply_rate"]
    return bool(
        ("frequent_buyer" in tags or (not pd.isna(aov) and aov >= 50))
        and (not pd.isna(seen) and seen >= since)
        and not (row["country"] in ("US", "BR"))
        and (row["purchase_frequency"] in ("monthly", "quarterly") or (not pd.isna(reply) and reply > 0.1))
    )


def timed(fn, runs: int = RUNS) -> tuple[np.ndarray, object]:
    out = fn()  # warm-up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return np.array(times) * 1000, out


def main(n: int, budget: float, pilot_rows: int) -> None:
    t0 = time.perf_counter()
    features = build_features(generate(n, seed=1, now=NOW), NOW)
    print(f"data: generate({n:,}) + build_features: {time.perf_counter() - t0:.1f} s (real features)")

    t0 = time.perf_counter()
    sf = segment_frame(features)
    evaluate(RULE, sf, NOW)
    print(f"pandas first evaluation (builds column caches once): {time.perf_counter() - t0:.2f} s")
    pandas_ms, result = timed(lambda: evaluate(RULE, sf, NOW))

    t0 = time.perf_counter()
    sql = SqlEvaluator(sf)
    print(f"DuckDB set-up (Arrow table of the frame, once): {time.perf_counter() - t0:.2f} s")
    duck_ms, duck = timed(lambda: sql.evaluate(RULE, NOW))
    duck_count_ms, duck_count = timed(lambda: sql.count(RULE, NOW))
    sql.close()
    assert sorted(duck.customer_ids) == sorted(result.customer_ids), "evaluators disagree"
    assert duck_count == (result.count, result.excluded_inactive), "DuckDB count disagrees"

    since = cutoff(NOW, 30)
    naive: dict[int, pd.Series] = {}

    def row_wise(k: int) -> None:
        naive[k] = features.iloc[:k].apply(row_predicate, axis=1, since=since)

    base = timed_baseline(row_wise, n, pilot_rows, budget)
    k = base.timed_rows
    assert int(naive[k].sum()) == evaluate(RULE, features.iloc[:k], NOW).count, "baseline disagrees"
    naive_s = base.wall

    print(f"rule: {sum(1 for _ in walk(RULE))} conditions; {result.summary()}")
    print(f"{'evaluator':<28}{'p50 ms':>10}{'p95 ms':>10}{'vs row-wise':>14}")
    for name, ms in (("pandas (live count)", pandas_ms), ("DuckDB count", duck_count_ms),
                     ("DuckDB ids", duck_ms)):
        p50, p95 = np.percentile(ms, 50), np.percentile(ms, 95)
        print(f"{name:<28}{p50:>10.1f}{p95:>10.1f}{naive_s * 1000 / p50:>13.0f}x")
    print(f"{'row-wise DataFrame.apply':<28}{naive_s * 1000:>10.0f}{'':>10}{'1x':>14}   (one run; {base.note()})")
    verdict = "meets" if np.percentile(pandas_ms, 50) < 100 else "MISSES"
    print(f"target p50 < 100 ms for the live-count path at {n:,} customers: {verdict}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, nargs="?", default=1_000_000, help="customers (default 1,000,000)")
    parser.add_argument("--baseline-budget", type=float, default=300.0,
                        help="run the row-wise baseline on all rows if the pilot estimates at most this many "
                             "seconds, else extrapolate the pilot (0 = always in full)")
    parser.add_argument("--pilot-rows", type=int, default=20_000, help="rows the baseline's pilot runs on")
    args = parser.parse_args()
    main(args.n, args.baseline_budget, args.pilot_rows)
    print("(machine shared with other work: figures may be noisy)")
