"""Segment evaluation at 1,000,000 customers: pandas (live-count path) vs DuckDB vs a row-wise apply.

Run: .venv/bin/python bench/segments.py [n_customers] [--baseline-budget 300] [--pilot-rows 20000]
     [--big [N]] [--big-only]

``--big`` adds the warehouse scale (default 10,000,000 customers; takes minutes): a features
Parquet file is generated at run time in a temp dir, written in chunks of 1,000,000 rows (memory
stays at one chunk), and DuckDB counts rules straight from the Parquet (``read_parquet``, the
compiled ``segment_query``; nothing loaded into pandas). The counts run in a spawned child process
so its peak memory (``VmHWM``, which starts afresh there) is the querying's alone. The first chunk is checked against
the pandas evaluator.

Data: ``generate(n)`` + ``build_features`` once (the real features). The rule has 6 conditions
in nested AND/OR/NOT groups over tags, numbers, a relative date, a string and a category.
Each evaluator runs once to warm up (first use builds the per-column caches / Arrow table),
then 20 times; p50/p95 are printed. The naive baseline is ``DataFrame.apply`` over rows on the
same data: a pilot on the first rows estimates its time, then it runs on all rows when the estimate
fits the budget (else the pilot is extrapolated, and the output says so).
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from measure import peak_rss_mib, timed_baseline

from wamkt_nb.data.features import build_features
from wamkt_nb.data.sample import generate
from wamkt_nb.segments import And, Condition, Not, Or, SqlEvaluator, evaluate, segment_frame, segment_query
from wamkt_nb.segments.evaluation import cutoff
from wamkt_nb.segments.rules import walk
from wamkt_nb.segments.sql import count_query

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
        and row["country"] not in ("US", "BR")
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
    for name, ms in (("pandas (live count)", pandas_ms), ("DuckDB count", duck_count_ms), ("DuckDB ids", duck_ms)):
        p50, p95 = np.percentile(ms, 50), np.percentile(ms, 95)
        print(f"{name:<28}{p50:>10.1f}{p95:>10.1f}{naive_s * 1000 / p50:>13.0f}x")
    print(f"{'row-wise DataFrame.apply':<28}{naive_s * 1000:>10.0f}{'':>10}{'1x':>14}   (one run; {base.note()})")
    verdict = "meets" if np.percentile(pandas_ms, 50) < 100 else "MISSES"
    print(f"target p50 < 100 ms for the live-count path at {n:,} customers: {verdict}")


BIG_RULES = {
    "the 6-condition rule above": RULE,
    "one tag": Condition("tags", "has_any", ["frequent_buyer"]),
    "country + value range + regex": And(
        Condition("country", "in", ["DE", "FR", "IN"]),
        Condition("avg_order_value", "between", [20, 80]),
        Condition("city", "regex", r"^[A-M]\w+$"),
    ),
}
BIG_RUNS = 5
CHUNK = 1_000_000


def feature_chunk(start: int, n: int, seed: int) -> pd.DataFrame:
    """``n`` synthetic customers with the columns the rules read (the features' names and kinds)."""
    rng = np.random.default_rng(seed)
    aov = rng.gamma(2.0, 25.0, n)
    aov[rng.random(n) < 0.2] = np.nan
    seen = NOW - pd.to_timedelta(rng.integers(0, 400 * 86_400, n), unit="s")
    seen = pd.Series(seen).where(rng.random(n) >= 0.05)
    countries = np.array(["DE", "US", "BR", "FR", "IN", "MX", "ID", "GB"])
    frequencies = np.array(["weekly", "monthly", "quarterly", "yearly", "once"])
    cities = np.array(["Aachen", "Berlin", "Munich", "Lagos", "Mumbai", "Recife", "Zurich", "Oslo"])
    tag_names = np.array(["active_7d", "frequent_buyer", "dormant_30d", "inactive_90d"])
    per = rng.integers(0, 3, n)
    picks = rng.integers(0, 4, (n, 2))
    tags = [
        () if k == 0 else (tag_names[a],) if k == 1 or a == b else (tag_names[a], tag_names[b])
        for k, (a, b) in zip(per, picks, strict=True)
    ]
    return pd.DataFrame(
        {
            "customer_id": pd.array(np.char.add("c", np.arange(start, start + n).astype(str)), dtype="string"),
            "avg_order_value": aov,
            "last_interaction_at": pd.to_datetime(seen, utc=True),
            "country": pd.array(countries[rng.integers(0, len(countries), n)], dtype="string"),
            "city": pd.array(cities[rng.integers(0, len(cities), n)], dtype="string"),
            "purchase_frequency": pd.Categorical(
                frequencies[rng.integers(0, len(frequencies), n)], categories=frequencies
            ),
            "reply_rate": rng.random(n) * 0.3,
            "tags": tags,
        }
    )


def write_parquet(path: Path, n: int) -> pd.DataFrame:
    """The big file, chunk by chunk; returns the first chunk (for the correctness check)."""
    writer = first = None
    for i, start in enumerate(range(0, n, CHUNK)):
        chunk = feature_chunk(start, min(CHUNK, n - start), seed=i)
        table = pa.Table.from_pandas(chunk, preserve_index=False)
        table = table.set_column(
            table.schema.get_field_index("tags"),
            "tags",
            pa.array([list(t) for t in chunk["tags"]], pa.list_(pa.string())),
        )
        if writer is None:
            writer, first = pq.ParquetWriter(path, table.schema), chunk
        writer.write_table(table)
    writer.close()
    return first


def count_from_parquet(path: str, schema, runs: int) -> tuple[dict, float, float]:
    """Child process: p50 ms of each big rule's count over the Parquet, and this process's peak RSS
    (MiB) before the first query (Python, pandas, DuckDB imported) and at the end."""
    before = peak_rss_mib()
    con = duckdb.connect()
    con.execute(f"CREATE VIEW features AS SELECT * FROM read_parquet('{path}')")
    out = {}
    for name, rule in BIG_RULES.items():
        q = count_query(segment_query(rule, schema, NOW))
        times = []
        for _ in range(runs + 1):  # the first run warms the file cache
            t0 = time.perf_counter()
            counts = con.execute(q.sql, list(q.params)).fetchone()
            times.append(time.perf_counter() - t0)
        out[name] = (float(np.percentile(np.array(times[1:]) * 1000, 50)), counts)
    con.close()
    return out, before, peak_rss_mib()


def big(n: int) -> None:
    with tempfile.TemporaryDirectory(prefix="wamkt-bench-") as tmp:
        path = Path(tmp) / "features.parquet"
        t0 = time.perf_counter()
        first = write_parquet(path, n)
        size = path.stat().st_size / 2**20
        print(
            f"\nwarehouse scale: {n:,} customers written to Parquet in chunks of {CHUNK:,}: "
            f"{time.perf_counter() - t0:.1f} s, {size:,.0f} MiB"
        )
        schema = segment_frame(first.head(1000)).schema
        with SqlEvaluator(first) as ev:  # correctness on the first chunk: DuckDB = pandas
            for rule in BIG_RULES.values():
                assert ev.count(rule, NOW) == (lambda r: (r.count, r.excluded_inactive))(evaluate(rule, first, NOW))
        del first
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            results, before_mib, peak_mib = pool.apply(count_from_parquet, (str(path), schema, BIG_RUNS))
        print(f"{'rule (DuckDB count over read_parquet)':<40}{'p50 ms':>10}{'matches':>14}{'inactive':>12}")
        for name, (p50, (active, inactive)) in results.items():
            print(f"{name:<40}{p50:>10.0f}{active:>14,}{inactive:>12,}")
        print(
            f"peak memory of the counting process: {peak_mib:,.0f} MiB (VmHWM; "
            f"{before_mib:,.0f} MiB of it before the first query; "
            f"{BIG_RUNS} timed runs per rule after one warm-up)"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, nargs="?", default=1_000_000, help="customers (default 1,000,000)")
    parser.add_argument(
        "--baseline-budget",
        type=float,
        default=300.0,
        help="run the row-wise baseline on all rows if the pilot estimates at most this many "
        "seconds, else extrapolate the pilot (0 = always in full)",
    )
    parser.add_argument("--pilot-rows", type=int, default=20_000, help="rows the baseline's pilot runs on")
    parser.add_argument(
        "--big",
        type=int,
        nargs="?",
        const=10_000_000,
        default=0,
        metavar="N",
        help="also count rules over N customers (default 10,000,000) from Parquet through DuckDB",
    )
    parser.add_argument("--big-only", action="store_true", help="with --big: skip the in-memory comparison")
    args = parser.parse_args()
    if not args.big_only:
        main(args.n, args.baseline_budget, args.pilot_rows)
    if args.big:
        big(args.big)
    print("(machine shared with other work: figures may be noisy)")
