"""Benchmark: ``load_customers`` on a 1,000,000-row customer CSV vs ``pandas.read_csv`` of the same file.

Run: .venv/bin/python bench/load.py [--rows 1000000] [--keep]

The CSV (E.164 phones, names, e-mail, country, German yes/no opt-in, ISO sign-up time; about
80 MB) is generated at run time in a temporary folder. Each leg runs in its own Python process,
so its peak resident set size (Linux ``VmHWM``, reset when the process starts) is its own: our
loader (read, validate, normalise every phone, derive customer ids, merge duplicates) and, as the baseline, a bare
``pandas.read_csv`` (C parser, types inferred, no validation). Prints rows/s, wall and CPU
seconds and peak RSS of each, and the ratios. Target (issue #17): under 30 s and under 1 GiB
peak for 1,000,000 rows.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
GIB = 1024**3
TARGET_SECONDS, TARGET_PEAK = 30.0, GIB

LEG = """
import json, sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
{setup}
t0, c0 = time.perf_counter(), time.process_time()
{body}
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
peak = next(int(line.split()[1]) * 1024 for line in Path("/proc/self/status").read_text().splitlines()
            if line.startswith("VmHWM:"))
print(json.dumps({{"rows": rows, "wall": wall, "cpu": cpu, "peak": peak}}))
"""
OURS = """
result = load_customers({path!r}, id_key=b"k" * 32)
assert result.balanced
rows = result.rows_in
"""
PANDAS = """
rows = len(pd.read_csv({path!r}))
"""


def write_customers(path: Path, rows: int, seed: int = 7) -> None:
    """A customer CSV of ``rows`` distinct German mobile numbers, written in blocks."""
    rng = np.random.default_rng(seed)
    firsts = np.array(["Anna", "Ben", "Clara", "David", "Emma", "Felix", "Greta", "Hans", "Ida", "Jonas"])
    lasts = np.array(["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker"])
    prefixes = np.array(["151", "152", "160", "170", "171", "176", "157", "162"])
    subscribers = 10_000_000 + rng.choice(90_000_000, size=rows, replace=False)
    with path.open("w", encoding="utf-8") as f:
        f.write("phone,first_name,last_name,email,country,opted_in,signup_at\n")
        for start in range(0, rows, 100_000):
            n = min(rows, start + 100_000) - start
            first, last = rng.choice(firsts, n), rng.choice(lasts, n)
            prefix, opted, days = (
                rng.choice(prefixes, n),
                rng.choice(np.array(["ja", "nein"]), n),
                rng.integers(0, 1500, n),
            )
            f.writelines(
                f"+49{p}{s},{a},{b},{a.lower()}.{start + i}@example.de,DE,{o},"
                f"2022-{1 + d % 12:02d}-{1 + d % 28:02d}T10:00:00Z\n"
                for i, (p, s, a, b, o, d) in enumerate(
                    zip(prefix, subscribers[start : start + n], first, last, opted, days, strict=True)
                )
            )


SETUP = {OURS: "from wamkt_nb.data.loaders import load_customers", PANDAS: "import pandas as pd"}


def run_leg(body: str, path: Path) -> dict:
    """Run one leg in a fresh process (imports not timed); its rows, wall, CPU and peak RSS."""
    code = LEG.format(root=str(ROOT), setup=SETUP[body], body=body.format(path=str(path)))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def show(name: str, leg: dict) -> str:
    return (
        f"{name}: {leg['rows']:,} rows in {leg['wall']:.1f} s wall, {leg['cpu']:.1f} s CPU "
        f"({leg['rows'] / leg['wall']:,.0f} rows/s), peak RSS {leg['peak'] / GIB:.2f} GiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the generated CSV and print where it is")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="wamkt-bench-load-"))
    path = folder / "customers.csv"
    t0 = time.perf_counter()
    write_customers(path, args.rows)
    print(
        f"generated {path.name}: {args.rows:,} rows, {path.stat().st_size / 2**20:.0f} MiB in "
        f"{time.perf_counter() - t0:.1f} s"
    )
    ours = run_leg(OURS, path)
    base = run_leg(PANDAS, path)
    print(show("load_customers", ours))
    print(show("pandas.read_csv (baseline, no validation)", base))
    print(
        f"ratio load_customers / read_csv: {ours['wall'] / base['wall']:.1f}x wall, "
        f"{ours['cpu'] / base['cpu']:.1f}x CPU, {ours['peak'] / base['peak']:.1f}x peak RSS"
    )
    within = ours["wall"] < TARGET_SECONDS and ours["peak"] < TARGET_PEAK
    print(
        f"target for 1,000,000 rows: < {TARGET_SECONDS:.0f} s and < 1 GiB peak: "
        f"{'met' if within else 'NOT met'} ({ours['wall']:.1f} s, {ours['peak'] / GIB:.2f} GiB)"
    )
    print("(machine shared with other work: wall times may be noisy; CPU seconds are the steadier figure)")
    if args.keep:
        print(f"kept: {path}")
    else:
        path.unlink()
        folder.rmdir()


if __name__ == "__main__":
    main()
