"""Benchmark: what CUPED saves on the demo's customers, and its simulated power and A/A error rate.

Run: .venv/bin/python bench/cuped.py [--customers 2000] [--seed 42] [--runs 400]

The customers are the demo's (``wamkt demo`` defaults: 2,000 sample customers, seed 42, history
starting 21 days before today; its A/B test goes to every customer and measures the read rate,
planned to detect a +15 % relative change). The covariate is each customer's interactions in the 90 days before the test
(``interactions_90d`` of the customer features). Its correlation ρ with the outcome is measured
two ways:

* historical (what an analyst can do before the test): features as of 30 days before the start,
  outcome "read a message in the last 30 days before the start" from the same customers' history;
* model: the exact correlation of a read in the sandbox's customer model with the covariate,
  ρ = cov(p, X) / sqrt(var(X)·p̄(1 − p̄)) for Bernoulli(p) outcomes.

Then the planner's n per arm without and with CUPED (n·(1 − ρ²)), and 400 simulated runs each of
an A/A test and of the demo's planted uplift at the plain planned n: rejection rates of the plain
and the CUPED test. Wall times are not the point here; the figures are deterministic for a seed.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from wamkt_nb.abtest import plan_sample_size
from wamkt_nb.abtest.cuped import ArmMoments, correlation, cuped_table
from wamkt_nb.abtest.simulation import outcome_probabilities, simulate_units
from wamkt_nb.data.features import build_features
from wamkt_nb.data.sample import default_now, generate
from wamkt_nb.sandbox import behaviour as bm
from wamkt_nb.scenarios.demo import AB_PLANNED_MDE

DAYS = 21.0  # the demo's history
TEXT = "Hallo, 10 % Rabatt für dich! Antworte JA für deinen Code."
COVARIATE = "interactions_90d"


def historical_rho(data, start: pd.Timestamp, ids: pd.Index) -> float:
    """ρ of "read in the 30 days before start" with the covariate as of 30 days earlier."""
    before = start - pd.Timedelta(days=30)
    past = build_features(data, before).set_index("customer_id").loc[ids]
    inter = data.interactions
    recent = inter[(inter["kind"] == "read") & (inter["at"] >= before) & (inter["at"] < start)]
    y = ids.isin(recent["customer_id"].astype(str)).astype(float)
    return correlation([ArmMoments.of(y, past[COVARIATE].to_numpy(dtype=float))])


def model_rho(p: np.ndarray, x: np.ndarray) -> float:
    """Exact correlation of Bernoulli(p) outcomes with x over the population."""
    cov = np.mean((p - p.mean()) * (x - x.mean()))
    return float(cov / np.sqrt(x.var() * p.mean() * (1 - p.mean())))


def rejections(rates: dict, x: np.ndarray, n: int, runs: int, rng: np.random.Generator) -> tuple[float, float]:
    plain = cuped = 0
    for _ in range(runs):
        table = cuped_table(simulate_units(rates, x, n, rng), "A", ["B"]).set_index("arm")
        plain += table.at["B", "p_value"] < 0.05
        cuped += table.at["B", "cuped_p_value"] < 0.05
    return plain / runs, cuped / runs


def report(label: str, frame: pd.DataFrame, data, start: pd.Timestamp) -> None:
    """ρ both ways and the planner's n per arm with and without CUPED for these customers."""
    x = frame[COVARIATE].to_numpy(dtype=float)
    p = outcome_probabilities(frame, "read", text=TEXT)
    baseline = float(p.mean())
    rho_hist = historical_rho(data, start, pd.Index(frame["customer_id"].astype(str)))
    rho_model = model_rho(p, x)
    print(
        f"{label}: {len(frame):,} customers, read baseline {baseline:.1%}; "
        f"rho historical {rho_hist:.3f}, sandbox model {rho_model:.3f}"
    )
    for mde in (0.10, AB_PLANNED_MDE):
        if baseline * (1 + mde) >= 1:
            print(f"  MDE {mde:+.0%} relative: the read rate cannot rise that far from {baseline:.1%}")
            continue
        for how, rho in (("historical", rho_hist), ("model", rho_model)):
            plan = plan_sample_size(baseline, mde, relative=True, cuped_rho=min(abs(rho), 0.99))
            n, m = plan.per_arm["A"], plan.per_arm_cuped["A"]
            print(
                f"  MDE {mde:+.0%} relative, rho {how} {rho:.3f}: plain {n:,} per arm, with CUPED {m:,}; "
                f"saves {n - m:,} per arm ({plan.total - plan.total_cuped:,} in total, {1 - m / n:.1%})"
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--runs", type=int, default=400)
    args = parser.parse_args()

    start = default_now() - pd.Timedelta(days=DAYS)
    data = generate(args.customers, seed=args.seed, now=start)
    features = build_features(data, start)
    print(f"demo customers: {args.customers:,} (seed {args.seed}); metric read; covariate {COVARIATE}")
    report("the demo's A/B audience (every customer)", features, data, start)

    # simulated error rates on the whole demo population (the segment is too small to resample well)
    everyone = {
        arm: outcome_probabilities(
            features, "read", text=TEXT, variant=arm, params=bm.BehaviourParams(variant_read_uplift={"B": 0.08})
        )
        for arm in "AB"
    }
    x_all = features[COVARIATE].to_numpy(dtype=float)
    base_all = float(everyone["A"].mean())
    lift = float(everyone["B"].mean()) - base_all  # +8 % where the model's read cap allows it
    n = plan_sample_size(base_all, lift).per_arm["A"]
    rng = np.random.default_rng(args.seed)
    fpr_plain, fpr_cuped = rejections({"A": everyone["A"], "B": everyone["A"]}, x_all, n, args.runs, rng)
    pow_plain, pow_cuped = rejections(everyone, x_all, n, args.runs, rng)
    print(
        f"simulated, {args.runs} runs of {n:,} per arm (read {base_all:.1%}, +8 % relative planted: "
        f"{lift * 100:+.2f} pp after the read cap, "
        f"rho {model_rho(everyone['A'], x_all):.3f}): A/A false-positive rate plain {fpr_plain:.1%}, "
        f"CUPED {fpr_cuped:.1%}; power plain {pow_plain:.1%}, CUPED {pow_cuped:.1%} (planned 80 %)"
    )


if __name__ == "__main__":
    main()
