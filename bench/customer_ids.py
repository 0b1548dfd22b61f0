"""Benchmark: what deriving customer ids from phones costs a load (ids that are not phone numbers).

    .venv/bin/python bench/customer_ids.py [--customers 100000] [--repeats 3]

Loads the same sample customers from CSV bytes twice: with their id column (the baseline) and
without it, so ``load_customers`` derives ``c_`` + a keyed BLAKE2b per phone. Prints the median wall
and CPU time of each, the ratio, and ``customer_ids`` alone on a million distinct numbers.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from wamkt_nb.data.loaders import load_customers  # noqa: E402
from wamkt_nb.data.privacy import customer_ids, workspace_id_key  # noqa: E402
from wamkt_nb.data.sample import generate  # noqa: E402


def timed(run, repeats: int) -> tuple[float, float]:
    """Median wall and CPU seconds of ``repeats`` runs."""
    walls, cpus = [], []
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        run()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-ids-") as directory:
        key = workspace_id_key(Path(directory))
    customers = generate(args.customers, seed=1).customers
    with_ids = customers.to_csv(index=False).encode()
    without_ids = customers.drop(columns="customer_id").to_csv(index=False).encode()
    check = load_customers(without_ids, name="c.csv", id_key=key)
    assert check.loaded == args.customers and check.rows["customer_id"].str.startswith("c_").all()

    base_wall, base_cpu = timed(lambda: load_customers(with_ids, name="c.csv", id_key=key), args.repeats)
    wall, cpu = timed(lambda: load_customers(without_ids, name="c.csv", id_key=key), args.repeats)
    print(f"load_customers, {args.customers:,} rows, median of {args.repeats}:")
    print(f"  with an id column (baseline): {base_wall:6.2f} s wall  {base_cpu:6.2f} s CPU")
    print(f"  ids derived from phones:      {wall:6.2f} s wall  {cpu:6.2f} s CPU")
    print(f"  ratio derived / baseline:     {wall / base_wall:6.2f}x wall  {cpu / base_cpu:6.2f}x CPU")

    rng = np.random.default_rng(0)
    phones = pd.Series([f"+49151{n:07d}" for n in rng.choice(10**7, 1_000_000, replace=False)], dtype="string")
    wall, cpu = timed(lambda: customer_ids(phones, key), args.repeats)
    print(f"customer_ids alone, 1,000,000 distinct numbers: {wall:.2f} s wall  {cpu:.2f} s CPU")


if __name__ == "__main__":
    main()
