"""Benchmark: features and tags for 1 M customers / ~10 M orders vs a naive per-customer baseline.

Run: .venv/bin/python bench/features.py [--customers 1000000] [--baseline-budget 600] [--quick]

The naive baseline is a per-customer ``groupby().apply`` computing the same order and
interaction features, run in the same process on the same data: over all customers in random
chunks of ``--chunk`` (each with its orders and interactions; selecting a chunk is not timed).
On 1 M customers it needs about 2 ms of CPU per customer (over half an hour), so it stops after
``--baseline-budget`` seconds and the full time is extrapolated from the rate measured on the
customers it did; the output says which. ``--quick``: one chunk only. Memory: peak resident set
size of the process while building features (Linux VmHWM, reset after the sample data is generated).
"""

from __future__ import annotations

import argparse
import gc
import time
from pathlib import Path

import numpy as np
import pandas as pd
from measure import Baseline

from wamkt_nb.data.features import TagThresholds, build_features
from wamkt_nb.data.sample import generate
from wamkt_nb.data.schema import CustomerData

GIB = 1024**3


def _status_bytes(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def _reset_peak_rss() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def naive_features(data: CustomerData, now: pd.Timestamp, th: TagThresholds) -> pd.DataFrame:
    """The straightforward version: one Python function call per customer and table."""

    def order_stats(g: pd.DataFrame) -> pd.Series:
        first, last = g["ordered_at"].min(), g["ordered_at"].max()
        months = max((now - first) / pd.Timedelta(days=30.44), 1.0)
        recent = (g["ordered_at"] >= now - pd.Timedelta(days=th.frequent_window_days)).sum()
        return pd.Series(
            {
                "order_count": len(g),
                "total_spend": g["amount"].sum(),
                "avg_order_value": g["amount"].mean(),
                "first_order_at": first,
                "last_order_at": last,
                "orders_per_month": len(g) / months,
                "days_since_last_order": (now - last) / pd.Timedelta(days=1),
                "recent_orders": recent,
            }
        )

    zones = data.customers.set_index("customer_id")["timezone"]

    def interaction_stats(g: pd.DataFrame) -> pd.Series:
        age = (now - g["at"]) / pd.Timedelta(days=1)
        kinds = g["kind"].astype(str)
        sent = kinds.isin(["read", "click", "reply"]).sum()
        local = g["at"].dt.tz_convert(zones[g.name]).dt.hour
        return pd.Series(
            {
                "last_interaction_at": g["at"].max(),
                "days_since_last_interaction": age.min(),
                "interactions_7d": (age <= 7).sum(),
                "interactions_30d": (age <= 30).sum(),
                "interactions_90d": (age <= 90).sum(),
                "read_rate": (kinds == "read").sum() / sent if sent else np.nan,
                "reply_rate": (kinds == "reply").sum() / sent if sent else np.nan,
                "most_active_hour": local.value_counts().sort_index().idxmax(),
            }
        )

    orders = data.orders[data.orders["ordered_at"] <= now]
    inter = data.interactions[data.interactions["at"] <= now]
    o = orders.groupby("customer_id").apply(order_stats)
    i = inter.groupby("customer_id").apply(interaction_stats)
    out = data.customers.set_index("customer_id").join(o).join(i)

    def tags(row: pd.Series) -> tuple:
        t = []
        opm = row["orders_per_month"]
        if opm >= th.monthly_min_orders_per_month:
            t.append("monthly_buyer")
        elif opm >= th.quarterly_min_orders_per_month:
            t.append("quarterly_buyer")
        elif row["order_count"] > 0:
            t.append("rare_buyer")
        aov = row["avg_order_value"]
        if aov < th.aov_low:
            t.append("aov_under_50")
        elif aov <= th.aov_high:
            t.append("aov_50_200")
        elif aov > th.aov_high:
            t.append("aov_over_200")
        quiet = row["days_since_last_interaction"]
        if quiet <= th.active_days:
            t.append("active_7d")
        elif th.dormant_days < quiet <= th.inactive_days:
            t.append("dormant_30d")
        elif not quiet <= th.inactive_days:
            t.append("inactive_90d")
        if row["recent_orders"] >= th.frequent_min_orders:
            t.append("frequent_buyer")
        return tuple(t)

    out["tags"] = out.apply(tags, axis=1)
    return out


def _subset(data: CustomerData, ids: pd.Index) -> CustomerData:
    return CustomerData(
        data.customers[data.customers["customer_id"].isin(ids)].reset_index(drop=True),
        data.orders[data.orders["customer_id"].isin(ids)],
        data.interactions[data.interactions["customer_id"].isin(ids)],
    )


def naive_in_chunks(
    data: CustomerData, now: pd.Timestamp, budget: float, chunk: int, quick: bool
) -> tuple[pd.DataFrame, Baseline]:
    """The naive baseline over all customers in random chunks until done or ``budget`` seconds are used."""
    ids = data.customers["customer_id"].to_numpy()
    n = len(ids)
    order = ids[np.random.default_rng(0).permutation(n)]
    parts, done, wall, cpu = [], 0, 0.0, 0.0
    for start in range(0, n, chunk):
        part = _subset(data, pd.Index(order[start : start + chunk]))
        t0, c0 = time.perf_counter(), time.process_time()
        parts.append(naive_features(part, now, TagThresholds()))
        wall += time.perf_counter() - t0
        cpu += time.process_time() - c0
        done += len(part.customers)
        print(f"  baseline: {done:,} of {n:,} customers in {wall:.0f} s", end="\r", flush=True)
        if done < n and (quick or (budget and wall >= budget)):
            break
    print()
    return pd.concat(parts), Baseline(wall * n / done, cpu * n / done, done, n, wall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument(
        "--baseline-budget",
        type=float,
        default=600.0,
        help="seconds the naive baseline may run before the rest is extrapolated (0 = run in full)",
    )
    parser.add_argument("--chunk", type=int, default=10_000, help="customers per baseline chunk")
    parser.add_argument("--quick", action="store_true", help="time the baseline on one random chunk only")
    args = parser.parse_args()
    now = pd.Timestamp("2026-11-25", tz="UTC")

    t0 = time.perf_counter()
    data = generate(args.customers, seed=42, now=now)
    print(f"sample data: {data!r} generated in {time.perf_counter() - t0:.1f} s")
    gc.collect()
    rss_data = _status_bytes("VmRSS")
    exact_peak = _reset_peak_rss()

    t0, c0 = time.perf_counter(), time.process_time()
    features = build_features(data, now)
    fast_s, fast_cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = _status_bytes("VmHWM")
    print(f"build_features: {len(features):,} customers in {fast_s:.2f} s wall, {fast_cpu:.2f} s CPU")
    print(
        f"memory: data resident {rss_data / GIB:.2f} GiB; process peak RSS while building "
        f"{peak / GIB:.2f} GiB ({'reset after generation' if exact_peak else 'includes generation'}); "
        f"feature step +{(peak - rss_data) / GIB:.2f} GiB over the data"
    )
    print("tags:", features["tags"].explode().value_counts().to_dict())

    naive, base = naive_in_chunks(data, now, args.baseline_budget, args.chunk, args.quick)
    fast = features.set_index("customer_id").loc[naive.index]
    agree = (
        naive["order_count"].fillna(0).astype(int).equals(fast["order_count"].astype(int))
        and np.allclose(naive["total_spend"].fillna(0), fast["total_spend"])
        and np.array_equal(
            naive["most_active_hour"].to_numpy(float), fast["most_active_hour"].to_numpy(float), equal_nan=True
        )
        and naive["tags"].equals(fast["tags"])
    )
    done, n = base.timed_rows, base.rows
    how = (
        "all customers"
        if base.in_full
        else (
            "one random chunk (--quick)"
            if args.quick
            else f"random chunks, stopped at the {args.baseline_budget:.0f} s budget"
        )
    )
    print(
        f"naive groupby().apply baseline on the same data, {how}: {base.timed_wall:.1f} s wall for {done:,} "
        f"customers = {base.timed_wall / done * 1e3:.2f} ms per customer -> {base.wall:.0f} s wall, "
        f"{base.cpu:.0f} s CPU for all {n:,} ({base.note('customers')})"
    )
    print(f"baseline and build_features agree on those {done:,} customers (counts, spend, active hour, tags): {agree}")
    print(
        f"speed-up: {base.wall / fast_s:.0f}x wall, {base.cpu / fast_cpu:.0f}x CPU (target >= 10x); "
        f"peak {peak / GIB:.2f} GiB (target < 2 GiB)"
    )
    print("(machine shared with other work: figures may be noisy; the CPU ratio is the steadier one)")


if __name__ == "__main__":
    main()
