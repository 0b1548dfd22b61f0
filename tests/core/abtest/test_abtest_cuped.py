"""CUPED against a hand-computed example and statsmodels' OLS with the covariate."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from wamkt_nb.abtest import AbTestError, evaluate
from wamkt_nb.abtest.cuped import ArmMoments, compare, correlation, cuped_sample_size, cuped_table, theta


def test_hand_computed_example():
    # control: x = 0, 1, 2, y = 1, 2, 4; treatment: x = 1, 2, 3, y = 3, 3, 6
    c, t = ArmMoments.of([1, 2, 4], [0, 1, 2]), ArmMoments.of([3, 3, 6], [1, 2, 3])
    # within-arm S_xy = 3 + 3, S_xx = 2 + 2 -> theta = 1.5
    assert theta([t, c]) == pytest.approx(1.5)
    r = compare(t, c)
    assert r.effect == pytest.approx(4 - 7 / 3)
    assert r.cuped_effect == pytest.approx((4 - 7 / 3) - 1.5 * 1)  # X̄_t − X̄_c = 1
    # residual SS: S_yy (14/3 + 6) − θ·S_xy (1.5·6) = 5/3 over 6 − 3 df
    s2 = (14 / 3 + 6 - 9) / 3
    assert r.cuped_se == pytest.approx(math.sqrt(s2 * (1 / 3 + 1 / 3 + 1 / 4)))
    assert r.correlation == pytest.approx(6 / math.sqrt(4 * (14 / 3 + 6)))


def test_matches_statsmodels_ols_with_the_covariate():
    rng = np.random.default_rng(7)
    n = 4_000
    x = rng.poisson(2.0, n).astype(float)  # pre-period orders
    arm = rng.integers(0, 2, n)
    y = (rng.random(n) < np.minimum(0.9, 0.03 + 0.08 * x) + 0.02 * arm).astype(float)
    units = pd.DataFrame({"arm": np.where(arm == 1, "B", "A"), "y": y, "x": x})
    r = compare(ArmMoments.of(y[arm == 1], x[arm == 1]), ArmMoments.of(y[arm == 0], x[arm == 0]))
    fit = sm.OLS(y, sm.add_constant(np.column_stack([arm, x]))).fit()
    assert r.cuped_effect == pytest.approx(fit.params[1], rel=1e-9)
    assert r.cuped_se == pytest.approx(fit.bse[1], rel=1e-9)
    assert r.theta == pytest.approx(fit.params[2], rel=1e-9)
    assert r.cuped_p_value == pytest.approx(fit.pvalues[1], rel=0.02)  # normal vs t with 3997 df
    plain = sm.OLS(y, sm.add_constant(arm.astype(float))).fit(cov_type="HC2")  # HC2 = unpooled variances
    assert r.effect == pytest.approx(plain.params[1], rel=1e-9)
    assert r.se == pytest.approx(plain.bse[1], rel=1e-9)
    assert r.variance_reduction == pytest.approx(r.correlation**2, abs=0.01)
    assert r.variance_reduction > 0.05
    table = cuped_table(units, "A", ["B"]).set_index("arm")
    assert table.at["B", "cuped_diff"] == pytest.approx(fit.params[1])
    assert table.at["B", "cuped_p_adjusted"] == table.at["B", "cuped_p_value"]  # one comparison


def test_several_arms_are_holm_adjusted():
    rng = np.random.default_rng(3)
    units = pd.DataFrame({"arm": np.repeat(["A", "B", "C"], 500), "x": rng.normal(size=1500)})
    units["y"] = units["x"] + rng.normal(size=1500) + np.where(units["arm"] == "C", 0.3, 0.0)
    table = cuped_table(units, "A", ["B", "C"]).set_index("arm")
    p = table.loc[["B", "C"], "cuped_p_value"]
    assert table.at["C", "cuped_p_adjusted"] == pytest.approx(min(1, 2 * p.min()))
    assert table.at["B", "cuped_p_adjusted"] == pytest.approx(max(p.max(), 2 * p.min()) if p.max() < 1 else 1)
    assert table.at["B", "variance_reduction"] > 0.4  # rho² = 0.5 for y = x + noise


def test_sample_size_and_bad_input():
    assert cuped_sample_size(10_000, 0.5) == 7_500
    assert cuped_sample_size(10_000, 0.0) == 10_000
    with pytest.raises(AbTestError, match="rho"):
        cuped_sample_size(100, 1.0)
    with pytest.raises(AbTestError, match="NaN"):
        ArmMoments.of([1.0, np.nan], [0.0, 1.0])
    with pytest.raises(AbTestError, match="missing"):
        cuped_table(pd.DataFrame({"arm": ["A"], "y": [1]}), "A", ["B"])
    with pytest.raises(AbTestError, match="arm"):
        cuped_table(pd.DataFrame({"arm": ["A", "A"], "y": [1, 0], "x": [1, 2]}), "A", ["B"])
    assert correlation([ArmMoments.of([1, 2], [3, 3])]) == 0.0


def test_evaluate_reports_plain_and_cuped_for_every_arm_without_the_holdout():
    rng = np.random.default_rng(21)
    arms = np.repeat(["A", "B", "C", "holdout"], [3_000, 3_000, 3_000, 600])
    x = rng.poisson(1.5, arms.size).astype(float)
    p = np.minimum(0.9, 0.05 + 0.06 * x) + np.select([arms == "B", arms == "C"], [0.04, 0.0], 0.0)
    units = pd.DataFrame({"arm": arms, "x": x, "y": (rng.random(arms.size) < p).astype(float)})
    counts = units.groupby("arm", sort=False)["y"].agg(["size", "sum"])
    ev = evaluate({a: (int(r["sum"]), int(r["size"])) for a, r in counts.iterrows()}, units=units)
    table = ev.cuped.set_index("arm")
    assert list(table.index) == ["A", "B", "C"]  # control first, no holdout
    plain = ev.table.set_index("arm")
    for arm in "BC":  # the plain columns agree with the rate table's difference and Holm p
        assert table.at[arm, "diff"] == pytest.approx(plain.at[arm, "diff"])
        assert table.at[arm, "cuped_p_adjusted"] >= table.at[arm, "cuped_p_value"]
    assert (
        table.at["B", "cuped_high"] - table.at["B", "cuped_low"]
        < table.at["B", "diff_high"] - table.at["B", "diff_low"]
    )
    assert ev.verdict.winner == "B" and "With CUPED" in ev.verdict.reason


def test_an_arm_with_one_customer_leaves_its_row_empty_instead_of_failing():
    units = pd.DataFrame({"arm": ["A", "A", "A", "B", "C", "C"], "y": [1, 0, 0, 1, 0, 1], "x": [2, 0, 1, 3, 0, 1]})
    table = cuped_table(units, "A", ["B", "C"]).set_index("arm")
    assert pd.isna(table.at["B", "cuped_diff"]) and table.at["B", "users"] == 1
    assert table.at["C", "p_adjusted"] == table.at["C", "p_value"]  # Holm over the one comparison made
