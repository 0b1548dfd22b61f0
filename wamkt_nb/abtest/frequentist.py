"""Frequentist formulas for rates: Wilson interval, two-proportion z-test, lift intervals, Holm."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats

from .errors import AbTestError


def check_counts(successes: int, n: int, what: str = "arm") -> None:
    """Refuse counts that cannot be a rate: negative, or more successes than users."""
    if n < 0 or successes < 0:
        raise AbTestError(f"{what}: counts must not be negative (successes={successes}, users={n})")
    if successes > n:
        raise AbTestError(f"{what}: {successes} successes out of only {n} users")


def z_critical(alpha: float) -> float:
    """The two-sided critical value z_{1-alpha/2}."""
    if not 0 < alpha < 1:
        raise AbTestError(f"alpha must be between 0 and 1, got {alpha}")
    return float(stats.norm.isf(alpha / 2))


def wilson_interval(successes: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson score interval for a rate: (p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n).

    Keeps inside [0, 1] and behaves at 0 or n successes, unlike the Wald interval.
    """
    check_counts(successes, n)
    if n == 0:
        return (0.0, 1.0)
    z = z_critical(alpha)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return (low, high)


def two_proportion_ztest(x_t: int, n_t: int, x_c: int, n_c: int) -> tuple[float, float]:
    """Pooled two-proportion z-test of treatment vs control; returns (z, two-sided p).

    z = (p_t - p_c) / sqrt(p̄(1-p̄)(1/n_t + 1/n_c)) with p̄ the pooled rate.
    """
    check_counts(x_t, n_t, "treatment")
    check_counts(x_c, n_c, "control")
    if n_t == 0 or n_c == 0:
        return (0.0, 1.0)
    pooled = (x_t + x_c) / (n_t + n_c)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_t + 1 / n_c))
    if se == 0:
        return (0.0, 1.0)
    z = (x_t / n_t - x_c / n_c) / se
    return (z, float(2 * stats.norm.sf(abs(z))))


def absolute_difference_interval(
    x_t: int, n_t: int, x_c: int, n_c: int, alpha: float = 0.05
) -> tuple[float, float, float]:
    """Difference p_t - p_c with its unpooled Wald interval; returns (diff, low, high)."""
    check_counts(x_t, n_t, "treatment")
    check_counts(x_c, n_c, "control")
    if n_t == 0 or n_c == 0:
        return (math.nan, math.nan, math.nan)
    p_t, p_c = x_t / n_t, x_c / n_c
    se = math.sqrt(p_t * (1 - p_t) / n_t + p_c * (1 - p_c) / n_c)
    z = z_critical(alpha)
    diff = p_t - p_c
    return (diff, diff - z * se, diff + z * se)


def relative_lift_interval(x_t: int, n_t: int, x_c: int, n_c: int, alpha: float = 0.05) -> tuple[float, float, float]:
    """Relative lift p_t/p_c - 1 with a delta-method interval; returns (lift, low, high).

    Var(p_t/p_c) ≈ Var_t/p_c² + p_t²·Var_c/p_c⁴ (first-order Taylor expansion of the ratio),
    the frequentist "relative" interval of gbstats. Undefined (NaN) while the control rate is 0.
    """
    check_counts(x_t, n_t, "treatment")
    check_counts(x_c, n_c, "control")
    if n_t == 0 or n_c == 0 or x_c == 0:
        return (math.nan, math.nan, math.nan)
    p_t, p_c = x_t / n_t, x_c / n_c
    var_t = p_t * (1 - p_t) / n_t
    var_c = p_c * (1 - p_c) / n_c
    se = math.sqrt(var_t / p_c**2 + p_t**2 * var_c / p_c**4)
    lift = p_t / p_c - 1
    z = z_critical(alpha)
    return (lift, lift - z * se, lift + z * se)


def holm_adjust(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values: max over j ≤ i of min(1, (m - j + 1)·p_(j)).

    Controls the family-wise error rate over several arms compared with one control.
    """
    p = np.asarray(p_values, dtype=float)
    if p.size == 0:
        return []
    if np.any((p < 0) | (p > 1)):
        raise AbTestError(f"p-values must lie in [0, 1], got {p.tolist()}")
    order = np.argsort(p, kind="stable")
    m = p.size
    stepped = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adjusted = np.maximum.accumulate(stepped)
    out = np.empty(m)
    out[order] = adjusted
    return out.tolist()


def harm_test(x_t: int, n_t: int, x_c: int, n_c: int, margin: float = 0.0) -> tuple[float, float]:
    """One-sided test that a guardrail rate (opt-outs, blocks) rises by more than ``margin``.

    H₀: p_t − p_c ≤ margin against H₁: p_t − p_c > margin, z = (p_t − p_c − margin)/se with the
    unpooled se = sqrt(p_t(1−p_t)/n_t + p_c(1−p_c)/n_c); returns (p_t − p_c, one-sided p = 1 − Φ(z)).
    """
    check_counts(x_t, n_t, "treatment")
    check_counts(x_c, n_c, "control")
    if margin < 0:
        raise AbTestError(f"the guardrail margin must not be negative, got {margin}")
    if n_t == 0 or n_c == 0:
        return (math.nan, 1.0)
    p_t, p_c = x_t / n_t, x_c / n_c
    diff = p_t - p_c
    se = math.sqrt(p_t * (1 - p_t) / n_t + p_c * (1 - p_c) / n_c)
    if se == 0:
        return (diff, 0.0 if diff > margin else 1.0)
    return (diff, float(stats.norm.sf((diff - margin) / se)))
