"""Benchmark: the calibration report — 10,000 sample customers through the real pipeline, each
published figure (WhatsApp marketing guide, 2024) beside what the dashboards measure.

    .venv/bin/python bench/calibration.py [--customers 10000] [--seed 42] [--rounds 8]

The same report as ``wamkt calibrate`` (``wamkt_nb.scenarios.calibration``), plus the time it took.
Paste its table into docs/figures.md after changing the customer model.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from wamkt_nb.scenarios.calibration import ROUNDS, calibration_report  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args()
    t0 = time.monotonic()
    table, report = calibration_report(args.customers, seed=args.seed, rounds=args.rounds, log=lambda line: None)
    elapsed = time.monotonic() - t0
    print(report)
    passed = int((table["status"] == "PASS").sum())
    print(
        f"\n{passed} of {len(table)} figures pass; {(table['status'] == 'FAIL').sum()} fail; "
        f"{(table['status'] == 'YIELDS').sum()} yield to another figure (docs/figures.md). "
        f"Played and measured in {elapsed:.0f} s."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
