"""Benchmark: customer data in the store (import write, read for features) vs the parquet files it replaced.

Run: .venv/bin/python bench/customer_store.py [--customers 100000]

Since customer data lives in the workspace's SQLite database (``wamkt_nb.data.stored``), saving an
import and reading it for features and segments go through SQLite instead of three parquet files.
The baseline is those parquet files (write, read) on the same data. Timed: ``write_customer_data``
(the SQLite tables plus the import's columnar snapshots), ``read_customer_data`` with current
snapshots (every later read: the dashboards' case), and the same after the snapshots were deleted
(rebuilt from SQLite). CPU seconds are printed beside wall seconds (the steadier figure on a shared
machine).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import pandas as pd

from wamkt_nb.data.sample import generate
from wamkt_nb.data.stored import read_customer_data, write_customer_data
from wamkt_nb.store import open_store

TABLES = ("customers", "orders", "interactions")


def timed(fn) -> tuple[float, float, object]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    args = parser.parse_args()
    data = generate(args.customers, seed=1)
    print(f"data: {data}")
    with tempfile.TemporaryDirectory(prefix="wamkt-bench-") as tmp:
        folder = Path(tmp)

        def parquet_write() -> None:
            for name in TABLES:
                getattr(data, name).to_parquet(folder / f"{name}.parquet", index=False)

        pw = timed(parquet_write)
        pr = timed(lambda: {name: pd.read_parquet(folder / f"{name}.parquet") for name in TABLES})
        store = open_store(folder / "wamkt.db")
        sw = timed(lambda: write_customer_data(store, data))
        sr = timed(lambda: read_customer_data(store))
        for snapshot in folder.glob("wamkt.db.import-*.parquet"):
            snapshot.unlink()
        cold = timed(lambda: read_customer_data(store))
        store.close()
    rows = len(data.customers) + len(data.orders) + len(data.interactions)
    print(f"{'':38}{'wall s':>9}{'CPU s':>9}{'vs parquet (wall)':>20}")
    for label, (wall, cpu, _), base in (
        ("parquet write (baseline)", pw, pw),
        ("store: write_customer_data", sw, pw),
        ("parquet read (baseline)", pr, pr),
        ("store: read, snapshots current", sr, pr),
        ("store: read, snapshots rebuilt", cold, pr),
    ):
        print(f"{label:38}{wall:9.2f}{cpu:9.2f}{wall / base[0]:19.1f}x")
    print(f"({rows:,} rows; machine shared with other work: {os.cpu_count()} cores; figures may be noisy)")


if __name__ == "__main__":
    main()
