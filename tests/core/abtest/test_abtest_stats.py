"""The A/B statistics against textbook values and statsmodels (a test-only dependency)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import betaln
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportions_ztest,
)

from wamkt_nb.abtest import (
    AbTestError,
    absolute_difference_interval,
    chance_to_beat_control,
    holm_adjust,
    relative_lift_interval,
    sequential_interval,
    srm_check,
    two_proportion_ztest,
    wilson_interval,
)


# Newcombe (1998), "Two-sided confidence intervals for the single proportion", Table I, method 3.
@pytest.mark.parametrize(
    "x, n, low, high",
    [
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_matches_newcombe_table(x, n, low, high):
    lo, hi = wilson_interval(x, n)
    assert round(lo, 4) == low and round(hi, 4) == high


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 100_000), frac=st.floats(0, 1), alpha=st.sampled_from([0.01, 0.05, 0.1, 0.2]))
def test_wilson_matches_statsmodels(n, frac, alpha):
    x = int(round(frac * n))
    lo, hi = wilson_interval(x, n, alpha)
    ref_lo, ref_hi = proportion_confint(x, n, alpha=alpha, method="wilson")
    assert lo == pytest.approx(ref_lo, abs=1e-12)
    assert hi == pytest.approx(ref_hi, abs=1e-12)
    assert 0 <= lo <= x / n <= hi <= 1


@settings(max_examples=200, deadline=None)
@given(n_t=st.integers(2, 50_000), n_c=st.integers(2, 50_000), ft=st.floats(0.001, 0.999), fc=st.floats(0.001, 0.999))
def test_ztest_matches_statsmodels(n_t, n_c, ft, fc):
    x_t, x_c = max(1, int(ft * n_t)), max(1, int(fc * n_c))
    z, p = two_proportion_ztest(x_t, n_t, x_c, n_c)
    ref_z, ref_p = proportions_ztest([x_t, x_c], [n_t, n_c])
    assert z == pytest.approx(ref_z, rel=1e-9, abs=1e-12)
    assert p == pytest.approx(ref_p, rel=1e-9, abs=1e-15)


def test_ztest_textbook_example():
    """Hand computation: 120/1000 vs 100/1000, pooled p̄ = 0.11, z = 0.02/sqrt(0.11·0.89·0.002) = 1.4293,
    two-sided p = erfc(z/√2) = 0.1529."""
    z, p = two_proportion_ztest(120, 1000, 100, 1000)
    assert z == pytest.approx(0.02 / math.sqrt(0.11 * 0.89 * 0.002))
    assert round(z, 4) == 1.4293 and round(p, 4) == 0.1529


def test_difference_interval_matches_statsmodels_wald():
    diff, lo, hi = absolute_difference_interval(590, 10_000, 500, 10_000)
    ref = confint_proportions_2indep(590, 10_000, 500, 10_000, method="wald", compare="diff", correction=False)
    assert diff == pytest.approx(0.009)
    assert (lo, hi) == pytest.approx(ref, abs=1e-12)


def test_relative_lift_delta_method_by_hand_and_close_to_log_ratio():
    lift, lo, hi = relative_lift_interval(590, 10_000, 500, 10_000)
    var = (0.059 * 0.941 / 10_000) / 0.05**2 + 0.059**2 * (0.05 * 0.95 / 10_000) / 0.05**4
    assert lift == pytest.approx(0.18)
    assert hi - lift == pytest.approx(1.959963985 * math.sqrt(var), rel=1e-8)
    ref_lo, ref_hi = confint_proportions_2indep(590, 10_000, 500, 10_000, method="log", compare="ratio")
    assert lo == pytest.approx(ref_lo - 1, abs=0.01) and hi == pytest.approx(ref_hi - 1, abs=0.01)
    assert math.isnan(relative_lift_interval(5, 100, 0, 100)[0])


def test_relative_lift_interval_covers_truth_about_95_percent():
    rng = np.random.default_rng(7)
    n, p_c, p_t = 20_000, 0.05, 0.06
    x_t, x_c = rng.binomial(n, p_t, 2_000), rng.binomial(n, p_c, 2_000)
    hits = 0
    for a, b in zip(x_t, x_c, strict=True):
        _, lo, hi = relative_lift_interval(int(a), n, int(b), n)
        hits += lo <= p_t / p_c - 1 <= hi
    assert 0.93 <= hits / 2_000 <= 0.97


def _exact_beat_probability(x_t, n_t, x_c, n_c):
    """Evan Miller's closed form for P(p_B > p_A) with Beta(1+x, 1+n-x) posteriors."""
    a_a, b_a, a_b, b_b = 1 + x_c, 1 + n_c - x_c, 1 + x_t, 1 + n_t - x_t
    i = np.arange(a_b)
    terms = betaln(a_a + i, b_a + b_b) - np.log(b_b + i) - betaln(1 + i, b_b) - betaln(a_a, b_a)
    return float(np.exp(terms).sum())


@pytest.mark.parametrize(
    "x_t, n_t, x_c, n_c",
    [
        (12, 100, 10, 100),
        (590, 10_000, 500, 10_000),
        (30, 1_000, 45, 1_200),
        (0, 50, 0, 50),
        (2_100, 40_000, 2_000, 40_000),
        (45, 1_000, 4_100, 100_000),  # a wide treatment posterior against a narrow control one
    ],
)
def test_chance_to_beat_control_integration_and_sampling_match_closed_form(x_t, n_t, x_c, n_c):
    exact = _exact_beat_probability(x_t, n_t, x_c, n_c)
    assert chance_to_beat_control(x_t, n_t, x_c, n_c) == pytest.approx(exact, abs=1e-6)
    sampled = chance_to_beat_control(x_t, n_t, x_c, n_c, method="sampling", draws=400_000, seed=3)
    assert sampled == pytest.approx(exact, abs=0.004)
    again = chance_to_beat_control(x_t, n_t, x_c, n_c, method="sampling", draws=400_000, seed=3)
    assert again == sampled  # seeded: reproducible


def test_chance_to_beat_control_symmetry():
    p = chance_to_beat_control(55, 1_000, 48, 1_000)
    assert p + chance_to_beat_control(48, 1_000, 55, 1_000) == pytest.approx(1.0, abs=1e-6)
    assert chance_to_beat_control(50, 1_000, 50, 1_000) == pytest.approx(0.5, abs=1e-6)


def test_srm_by_hand_and_alert_threshold():
    result = srm_check({"A": 5_000, "B": 5_300})
    assert result.chi2 == pytest.approx(2 * 150**2 / 5_150)
    assert result.p_value == pytest.approx(math.erfc(math.sqrt(result.chi2 / 2)))  # χ²(1 df) tail
    assert round(result.chi2, 3) == 8.738 and round(result.p_value, 5) == 0.00312
    assert not result.alert  # 0.003 is not below 0.001
    assert srm_check({"A": 5_000, "B": 5_400}).alert
    weighted = srm_check({"A": 2_000, "B": 8_000}, {"A": 0.2, "B": 0.8})
    assert weighted.chi2 == pytest.approx(0.0) and not weighted.alert
    assert "mismatch" in srm_check({"A": 100, "B": 900}).describe().lower()
    with pytest.raises(AbTestError, match="no intended share"):
        srm_check({"A": 1, "B": 2}, {"A": 0.5})


@pytest.mark.parametrize("p", [[0.01, 0.04, 0.03], [0.2, 0.001, 0.04, 0.5], [0.05], [0.03, 0.03, 0.6, 0.0]])
def test_holm_matches_statsmodels(p):
    _, ref, _, _ = multipletests(p, method="holm")
    assert holm_adjust(p) == pytest.approx(ref.tolist())


def test_holm_rejects_bad_p_values():
    with pytest.raises(AbTestError):
        holm_adjust([0.5, 1.2])


def test_sequential_interval_is_wider_than_fixed_and_shrinks():
    diff, lo, hi = absolute_difference_interval(590, 10_000, 500, 10_000)
    s_lo, s_hi, s_p = sequential_interval(590, 10_000, 500, 10_000, tau=0.01)
    assert s_lo < lo < diff < hi < s_hi
    small = sequential_interval(59, 1_000, 50, 1_000, tau=0.01)
    assert small[1] - small[0] > s_hi - s_lo
    assert 0 < s_p <= 1


def test_sequential_stays_valid_under_peeking_where_fixed_test_does_not():
    """A/A with a look after every 250 users per arm (20 looks): stopping at the first p < 0.05
    rejects far more than 5 % of the time with the fixed test, at most ~5 % with the mSPRT."""
    rng = np.random.default_rng(11)
    runs, looks, step, p = 400, 20, 250, 0.1
    fixed = sequential = 0
    for _ in range(runs):
        a = np.cumsum(rng.random(looks * step) < p)[step - 1 :: step]
        b = np.cumsum(rng.random(looks * step) < p)[step - 1 :: step]
        ns = np.arange(1, looks + 1) * step
        fixed += any(
            two_proportion_ztest(int(x), int(n), int(y), int(n))[1] < 0.05 for x, y, n in zip(a, b, ns, strict=True)
        )
        sequential += any(
            sequential_interval(int(x), int(n), int(y), int(n), tau=0.02)[2] < 0.05
            for x, y, n in zip(a, b, ns, strict=True)
        )
    assert fixed / runs > 0.12
    assert sequential / runs <= 0.06


def test_bad_counts_name_the_arm():
    with pytest.raises(AbTestError, match="treatment: 12 successes out of only 10"):
        two_proportion_ztest(12, 10, 1, 10)
    with pytest.raises(AbTestError, match="alpha"):
        wilson_interval(1, 10, alpha=1.5)


@settings(max_examples=60, deadline=None)
@given(n_t=st.integers(1, 50_000), n_c=st.integers(1, 50_000), ft=st.floats(0, 0.2), fc=st.floats(0, 0.2))
def test_chance_to_beat_control_matches_closed_form_everywhere(n_t, n_c, ft, fc):
    x_t, x_c = int(ft * n_t), int(fc * n_c)
    assert chance_to_beat_control(x_t, n_t, x_c, n_c) == pytest.approx(
        _exact_beat_probability(x_t, n_t, x_c, n_c), abs=1e-6
    )
