"""``wamkt calibrate``: play a sample history through the sandbox and print each published figure
(WhatsApp marketing guide, 2024) beside what the dashboards measure, with PASS/FAIL at ±3 points.

Exit code 1 when a figure fails (a documented conflict, status YIELDS, does not count; see
docs/figures.md).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ..scenarios.calibration import ROUNDS, calibration_report
from . import whole_number


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("--customers", type=whole_number(100), default=10_000, help="sample customers (default 10,000)")
    p.add_argument("--seed", type=int, default=42, help="sample data and sandbox seed (default 42)")
    p.add_argument(
        "--rounds",
        type=whole_number(1),
        default=ROUNDS,
        help=f"repeats of the segment comparison, for enough orders to measure uplift (default {ROUNDS})",
    )
    p.add_argument("--db", type=Path, default=None, help="keep the played history in this database")
    p.add_argument("--quiet", action="store_true", help="do not list the campaigns as they are played")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    t0 = time.monotonic()
    table, report = calibration_report(
        args.customers, seed=args.seed, rounds=args.rounds, db=args.db, log=(lambda line: None) if args.quiet else print
    )
    print(report)
    print(f"\n{(table['status'] == 'PASS').sum()} of {len(table)} figures pass ({time.monotonic() - t0:.0f} s).")
    return int((table["status"] == "FAIL").any())
