"""Sample size, power and duration against statsmodels' power functions and Cohen's tables."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize, samplesize_proportions_2indep_onetail

from wamkt_nb.abtest import (
    AbTestError,
    detectable_effect,
    plan_duration,
    plan_sample_size,
    plan_test,
    power_at,
    power_curve,
)
from wamkt_nb.abtest.charts import power_curve_figure
from wamkt_nb.abtest.planning import cohens_h
from wamkt_nb.cli import main

CASES = [  # baseline, target, n_treatment / n_control
    (0.05, 0.06, 1.0),
    (0.20, 0.25, 2.0),
    (0.50, 0.45, 0.5),
    (0.02, 0.03, 1.0),
    (0.58, 0.79, 1.0),
]


@pytest.mark.parametrize("baseline, target, ratio", CASES)
def test_arcsine_sample_size_matches_normal_ind_power(baseline, target, ratio):
    plan = plan_sample_size(baseline, target - baseline, allocation=[1, ratio])
    ref = NormalIndPower().solve_power(proportion_effectsize(target, baseline), alpha=0.05, power=0.8, ratio=ratio)
    assert plan.per_arm["A"] == math.ceil(ref)
    assert plan.per_arm["B"] == math.ceil(ref * ratio - 1e-9)


@pytest.mark.parametrize("baseline, target, ratio", CASES)
def test_pooled_sample_size_matches_statsmodels_onetail(baseline, target, ratio):
    plan = plan_sample_size(baseline, target - baseline, allocation=[1, ratio], method="pooled")
    # statsmodels: nobs1 is the treatment (p1 = p2 + diff), nobs2 = ratio·nobs1 the control
    n_t = samplesize_proportions_2indep_onetail(target - baseline, baseline, 0.8, ratio=1 / ratio, alpha=0.05)
    assert plan.per_arm["B"] == math.ceil(n_t - 1e-9)
    assert plan.per_arm["A"] == math.ceil(n_t / ratio - 1e-9)


@pytest.mark.parametrize("n, alpha, ratio", [(100, 0.05, 1), (1_000, 0.01, 2), (12_345, 0.1, 0.7)])
def test_power_matches_normal_ind_power(n, alpha, ratio):
    ref = NormalIndPower().power(proportion_effectsize(0.055, 0.05), n, alpha, ratio=ratio)
    assert power_at(n, 0.05, 0.055, alpha, ratio) == pytest.approx(ref, rel=1e-10)


@pytest.mark.parametrize("h, n", [(0.2, 392), (0.5, 63), (0.8, 25)])
def test_cohen_table_per_group_sizes(h, n):
    """Cohen (1988), Table 6.4.1: two-sided α = .05, power .80 -> n per group for h = .2/.5/.8."""
    baseline = 0.5
    target = math.sin(math.asin(math.sqrt(baseline)) + h / 2) ** 2  # gives Cohen's h exactly
    assert cohens_h(target, baseline) == pytest.approx(h)
    plan = plan_sample_size(baseline, target - baseline)
    assert abs(plan.per_arm["A"] - n) <= 1


def test_relative_mde_and_three_arms_use_bonferroni_alpha():
    plan = plan_sample_size(0.05, 0.10, relative=True, arms=3)
    assert plan.target == pytest.approx(0.055)
    assert plan.alpha_per_comparison == pytest.approx(0.025)
    ref = NormalIndPower().solve_power(proportion_effectsize(0.055, 0.05), alpha=0.025, power=0.8)
    assert plan.per_arm == {"A": math.ceil(ref), "B": math.ceil(ref), "C": math.ceil(ref)}
    assert plan.relative_mde == pytest.approx(0.10)


def test_holdout_is_added_on_top_of_the_message_arms():
    plan = plan_sample_size(0.05, 0.01, holdout=0.1)
    messaged = plan.per_arm["A"] + plan.per_arm["B"]
    assert plan.messaged == messaged
    assert plan.per_arm["holdout"] == math.ceil(messaged / 9)
    assert plan.shares["holdout"] == 0.1 and sum(plan.shares.values()) == pytest.approx(1.0)


def test_detectable_effect_inverts_sample_size():
    plan = plan_sample_size(0.08, 0.012)
    mde = detectable_effect(0.08, plan.per_arm["A"])
    assert mde == pytest.approx(0.012, rel=1e-3)
    assert power_at(plan.per_arm["A"], 0.08, 0.092) >= 0.8


def test_power_curve_crosses_the_target_at_the_planned_size():
    plan = plan_sample_size(0.05, 0.01)
    curve = power_curve(plan)
    planned = curve[curve["mde"].round(6) == 0.01]
    assert planned["power"].is_monotonic_increasing
    below = planned[planned["n_control"] < plan.per_arm["A"]]["power"]
    above = planned[planned["n_control"] >= plan.per_arm["A"]]["power"]
    assert below.max() < 0.8 <= above.min()
    half = curve[curve["mde"].round(6) == 0.005]["power"]
    assert (half.to_numpy() < planned["power"].to_numpy()).all()
    fig = power_curve_figure(plan)
    assert len(fig.axes) == 1 and len(fig.axes[0].lines) >= 3


def test_duration_limited_by_tier_pace_and_the_24h_rule():
    by_tier = plan_duration(25_000, 50_000, tier="TIER_2K", metric="reply")
    assert by_tier.limited_by == "messaging tier" and by_tier.daily_capacity == 2_000
    assert by_tier.send_days == 13 and by_tier.total_days == 14
    by_pace = plan_duration(25_000, 50_000, tier="TIER_UNLIMITED", pace_per_minute=30, sending_hours=12)
    assert by_pace.limited_by == "pace" and by_pace.daily_capacity == 21_600
    assert by_pace.send_days == 2 and by_pace.observation_days == 7
    drip = plan_duration(100, 1_000, tier="TIER_UNLIMITED", messages_per_customer=3, metric="read")
    assert drip.send_days == 3 and "one marketing message" in drip.describe()
    held = plan_duration(1_000, 5_000, holdout_users=100, tier=250)
    assert held.messaged == 900 and held.send_days == 4


def test_plan_test_reports_what_a_small_segment_can_detect():
    plan = plan_test(0.05, 0.10, 5_000, relative=True)
    assert not plan.duration.feasible
    assert plan.detectable_with_segment == pytest.approx(detectable_effect(0.05, 2_500))
    assert "only 5,000 eligible customers" in plan.describe()
    assert plan_test(0.05, 0.5, 100_000, relative=True).detectable_with_segment is None


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(baseline=0.0, mde=0.01), "baseline"),
        (dict(baseline=0.95, mde=0.1), "outside 0..1"),
        (dict(baseline=0.1, mde=0.0), "must not be 0"),
        (dict(baseline=0.1, mde=0.01, alpha=0), "alpha"),
        (dict(baseline=0.1, mde=0.01, power=1.0), "power"),
        (dict(baseline=0.1, mde=0.01, arms=1), "arms"),
        (dict(baseline=0.1, mde=0.01, allocation=[1, 0]), "allocation"),
        (dict(baseline=0.1, mde=0.01, holdout=1.0), "holdout"),
        (dict(baseline=0.1, mde=0.01, method="exact"), "method"),
    ],
)
def test_bad_inputs_say_which(kwargs, match):
    with pytest.raises(AbTestError, match=match):
        plan_sample_size(**kwargs)


def test_bad_duration_inputs_say_which():
    with pytest.raises(AbTestError, match="unknown messaging tier"):
        plan_duration(10, 10, tier="TIER_5")
    with pytest.raises(AbTestError, match="metric"):
        plan_duration(10, 10, metric="clicks")


@settings(max_examples=80, deadline=None)
@given(
    baseline=st.floats(0.01, 0.9),
    relative=st.floats(-0.5, 1.0).filter(lambda r: abs(r) > 0.02),
    ratio=st.floats(0.25, 4.0),
    method=st.sampled_from(["arcsine", "pooled"]),
    power=st.sampled_from([0.8, 0.9]),
)
def test_planned_size_is_the_smallest_that_reaches_the_power(baseline, relative, ratio, method, power):
    target = baseline * (1 + relative)
    if not 0 < target < 1:
        return
    plan = plan_sample_size(baseline, relative, relative=True, allocation=[1, ratio], method=method, power=power)
    n_c = plan.per_arm["A"]
    assert power_at(n_c, baseline, target, 0.05, ratio, method) >= power - 1e-9
    if method == "arcsine":  # exact two-tailed solution; the pooled one ignores the far tail by design
        assert power_at(n_c - 1, baseline, target, 0.05, ratio, method) < power


def test_cli_plan_prints_the_same_plan(capsys):
    assert main(["ab", "plan", "--baseline", "0.05", "--mde", "0.1", "--relative", "--segment", "100000"]) == 0
    out = capsys.readouterr().out
    expected = plan_test(0.05, 0.1, 100_000, relative=True)
    assert f"{expected.sample.per_arm['A']:>10,} users" in out and expected.describe() in out
    assert main(["ab", "plan", "--baseline", "0.05", "--mde", "0.1", "--relative", "--segment", "100"]) == 1
    assert main(["ab", "plan", "--baseline", "1.5", "--mde", "0.1", "--segment", "100"]) == 2
    assert "baseline rate must be between 0 and 1" in capsys.readouterr().err


def test_cuped_rho_shrinks_every_arm_by_one_minus_rho_squared():
    plain = plan_sample_size(0.05, 0.1, relative=True, arms=3, holdout=0.1)
    cuped = plan_sample_size(0.05, 0.1, relative=True, arms=3, holdout=0.1, cuped_rho=0.4)
    assert cuped.per_arm == plain.per_arm  # the plain sizes stay as they were
    assert cuped.per_arm_cuped == {a: math.ceil(n * 0.84 - 1e-9) for a, n in plain.per_arm.items()}
    assert plain.per_arm_cuped == plain.per_arm and "CUPED" not in plain.describe()
    assert f"{cuped.total - cuped.total_cuped:,} fewer" in cuped.describe()
    with pytest.raises(AbTestError, match="rho"):
        plan_sample_size(0.05, 0.01, cuped_rho=1.2)


def test_cli_plan_prints_the_cuped_sizes(capsys):
    args = ["ab", "plan", "--baseline", "0.05", "--mde", "0.1", "--relative", "--segment", "100000"]
    assert main([*args, "--cuped-rho", "0.5"]) == 0
    expected = plan_test(0.05, 0.1, 100_000, relative=True, cuped_rho=0.5)
    out = capsys.readouterr().out
    assert f"({expected.sample.per_arm_cuped['A']:,} with CUPED)" in out and "With CUPED" in out
