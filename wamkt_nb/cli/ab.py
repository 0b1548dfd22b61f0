"""``wamkt ab plan|results``: plan an A/B test or read an experiment's verdict without a notebook.

The same core calls as the planner widget (``plan_test``) and the results view (``evaluate_campaign``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..abtest import METRICS, AbTestError, evaluate_campaign, experiments, plan_test
from ..cloudapi.models import TIER_LIMITS
from ..store import open_store
from ..workspace import database_target


def register(p: argparse.ArgumentParser) -> None:
    cmd = p.add_subparsers(dest="ab_command", required=True, metavar="plan|results")

    plan = cmd.add_parser("plan", help="users per arm, duration and feasibility")
    plan.add_argument("--baseline", type=float, required=True, help="current rate, e.g. 0.05 for 5 %%")
    plan.add_argument(
        "--mde",
        type=float,
        required=True,
        help="smallest effect worth finding: absolute (0.01 = one point) or with --relative (0.1 = +10 %%)",
    )
    plan.add_argument("--relative", action="store_true", help="--mde is relative to the baseline")
    plan.add_argument("--segment", type=int, required=True, help="eligible customers in the segment")
    plan.add_argument("--arms", type=int, default=2, help="arms including the control (default 2)")
    plan.add_argument("--allocation", type=float, nargs="+", help="weights per arm, control first (default equal)")
    plan.add_argument("--holdout", type=float, default=0.0, help="share that gets nothing (e.g. 0.1)")
    plan.add_argument("--alpha", type=float, default=0.05)
    plan.add_argument("--power", type=float, default=0.8)
    plan.add_argument("--metric", choices=METRICS, default="conversion")
    plan.add_argument("--tier", choices=list(TIER_LIMITS), default="TIER_10K", help="messaging limit tier")
    plan.add_argument("--pace", type=float, default=30.0, help="messages per minute (default 30)")
    plan.add_argument("--sending-hours", type=float, default=12.0, help="hours per day outside quiet hours")
    plan.add_argument(
        "--cuped-rho",
        type=float,
        default=0.0,
        help="correlation of the outcome with a pre-period covariate: also print the CUPED sizes",
    )
    plan.set_defaults(run=run_plan)

    results = cmd.add_parser("results", help="per-arm rates and the verdict of an experiment in the ledger")
    results.add_argument("campaign", nargs="?", help="campaign id (default: list the experiments)")
    results.add_argument("--metric", choices=METRICS, help="default: the one recorded with the design")
    results.add_argument("--sequential", action="store_true", help="always-valid intervals (peeking)")
    results.add_argument("--db", type=Path, help="SQLite ledger (default: the workspace database)")
    results.set_defaults(run=run_results)


def run_plan(args: argparse.Namespace) -> int:
    try:
        plan = plan_test(
            args.baseline,
            args.mde,
            args.segment,
            relative=args.relative,
            alpha=args.alpha,
            power=args.power,
            arms=args.arms,
            allocation=args.allocation,
            holdout=args.holdout,
            metric=args.metric,
            tier=args.tier,
            pace_per_minute=args.pace,
            sending_hours=args.sending_hours,
            cuped_rho=args.cuped_rho,
        )
    except AbTestError as exc:
        print(f"wamkt ab plan: {exc}", file=sys.stderr)
        return 2
    for arm, n in plan.sample.per_arm.items():
        cuped = f" ({plan.sample.per_arm_cuped[arm]:,} with CUPED)" if plan.sample.cuped_rho else ""
        print(f"{arm:>8}: {n:>10,} users{cuped}")
    print(plan.describe())
    return 0 if plan.duration.feasible else 1


def run_results(args: argparse.Namespace) -> int:
    with open_store(args.db or database_target()) as store:
        if not args.campaign:
            found = experiments(store)
            if found.empty:
                print("no experiments in this ledger")
            for r in found.itertuples():
                print(
                    f"{r.campaign_id}  {r.experiment_key}  {r.name}  arms={','.join(r.arms)}  "
                    f"recipients={r.recipients:,}"
                )
            return 0
        try:
            _, evaluation = evaluate_campaign(store, args.campaign, args.metric, sequential=args.sequential)
        except AbTestError as exc:
            print(f"wamkt ab results: {exc}", file=sys.stderr)
            return 2
    for row in evaluation.table.itertuples():
        lift = (
            ""
            if row.arm == evaluation.control
            else (f"  lift {row.lift:+.1%} [{row.lift_low:+.1%}, {row.lift_high:+.1%}]  p(Holm) {row.p_adjusted:.3g}")
        )
        print(
            f"{row.arm:>8}: {row.successes:,}/{row.users:,} = {row.rate:.2%} "
            f"[{row.rate_low:.2%}, {row.rate_high:.2%}]{lift}"
        )
    print(evaluation.srm.describe())
    print(evaluation.verdict)
    return 0
