"""Simulated experiments through the sandbox's behaviour model (no HTTP).

With the planned sample size a true uplift equal to the MDE is detected in about the planned
share of runs (power), A/A runs reject at about alpha, and Holm keeps several A/A arms at alpha.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from wamkt_nb.abtest import evaluate, plan_sample_size
from wamkt_nb.abtest.cuped import cuped_table
from wamkt_nb.abtest.simulation import outcome_probabilities, simulate_experiment, simulate_units
from wamkt_nb.data.features import build_features
from wamkt_nb.data.sample import generate
from wamkt_nb.sandbox import behaviour as bm

NOW = pd.Timestamp("2026-05-01", tz="UTC")
TEXT = "Anna, 20% Rabatt? Antworte JA"
RUNS = 300


@pytest.fixture(scope="module")
def features() -> pd.DataFrame:
    return build_features(generate(2_000, seed=5, now=NOW), NOW)


@pytest.fixture(scope="module")
def model(features):
    params = bm.BehaviourParams(variant_uplift={"B": 0.25})
    return {
        arm: outcome_probabilities(features, "conversion", text=TEXT, variant=arm, params=params) for arm in ("A", "B")
    }


def test_probabilities_follow_the_model(features, model):
    assert model["B"].mean() / model["A"].mean() == pytest.approx(1.25, rel=1e-4)  # a few rates at the cap of 1
    row = features.iloc[0].to_dict()
    p = bm.BehaviourParams()
    expected = (
        bm.delivery_probability("text", p)
        * bm.read_probability(row, TEXT, 11, p)
        * bm.reply_probability(row, TEXT, "marketing", p)
    )
    assert outcome_probabilities(features.iloc[:1], "reply", text=TEXT)[0] == pytest.approx(expected)
    reads = outcome_probabilities(features, "read", text=TEXT)
    assert 0.3 < reads.mean() < 0.8


def test_power_true_uplift_equal_to_mde_is_found_in_the_planned_share_of_runs(model):
    baseline, target = model["A"].mean(), model["B"].mean()
    plan = plan_sample_size(baseline, target - baseline, power=0.8)
    rng = np.random.default_rng(2024)
    found = 0
    for _ in range(RUNS):
        counts = simulate_experiment(model, plan.per_arm["A"], rng)
        found += evaluate(counts, planned_per_arm=plan.per_arm["A"]).verdict.winner == "B"
    assert 0.72 <= found / RUNS <= 0.88  # 0.80 ± ~3.5 standard errors


def test_a_a_runs_reject_at_about_alpha(model):
    same = {"A": model["A"], "B": model["A"]}
    n = plan_sample_size(model["A"].mean(), 0.01).per_arm["A"]
    rng = np.random.default_rng(7)
    rejected = sum(
        evaluate(simulate_experiment(same, n, rng), planned_per_arm=n).verdict.kind == "winner" for _ in range(RUNS)
    )
    assert 0.01 <= rejected / RUNS <= 0.095  # 0.05 ± ~3.5 standard errors


def test_holm_keeps_the_family_wise_error_with_four_a_a_arms(model):
    same = {arm: model["A"] for arm in "ABCD"}
    rng = np.random.default_rng(11)
    wrong = sum(
        evaluate(simulate_experiment(same, 2_000, rng), planned_per_arm=2_000).verdict.kind == "winner"
        for _ in range(150)
    )
    assert wrong / 150 <= 0.09


@pytest.fixture(scope="module")
def read_model(features):
    """Read rates with a planted +8 % for B, and each customer's pre-period interactions as the covariate."""
    params = bm.BehaviourParams(variant_read_uplift={"B": 0.08})
    rates = {arm: outcome_probabilities(features, "read", text=TEXT, variant=arm, params=params) for arm in "AB"}
    return rates, features["interactions_90d"].to_numpy(dtype=float)


def _cuped_rejects(units, alpha=0.05):
    table = cuped_table(units, "A", ["B"], alpha).set_index("arm")
    return table.at["B", "p_value"] < alpha, table.at["B", "cuped_p_value"] < alpha


def test_cuped_a_a_runs_reject_at_about_alpha(read_model):
    (rates, covariate), rng = read_model, np.random.default_rng(13)
    plain = cuped = 0
    for _ in range(RUNS):
        p, c = _cuped_rejects(simulate_units({"A": rates["A"], "B": rates["A"]}, covariate, 3_000, rng))
        plain, cuped = plain + p, cuped + c
    assert 0.01 <= cuped / RUNS <= 0.095 and 0.01 <= plain / RUNS <= 0.095


def test_cuped_has_more_power_than_plain_at_the_same_size(read_model):
    (rates, covariate), rng = read_model, np.random.default_rng(17)
    baseline, target = rates["A"].mean(), rates["B"].mean()
    n = plan_sample_size(baseline, target - baseline, power=0.8).per_arm["A"]
    plain = cuped = 0
    for _ in range(RUNS):
        p, c = _cuped_rejects(simulate_units(rates, covariate, n, rng))
        plain, cuped = plain + p, cuped + c
    assert 0.72 <= plain / RUNS <= 0.88  # the plain test keeps its planned power
    assert cuped > plain  # the same runs, adjusted for pre-period interactions (rho ≈ 0.33)
