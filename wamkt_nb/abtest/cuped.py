"""CUPED: variance reduction with what was known before the test (pre-period purchases or reads).

Each customer's outcome Y is compared together with a pre-period covariate X (orders or reads
before the test started; the assignment is independent of X, so the adjustment removes noise,
not effect). Named formulas, on per-arm sufficient statistics (n, ΣY, ΣX, ΣY², ΣX², ΣXY):

* θ = Σ_arms cov(Y, X) / Σ_arms var(X), the within-arm (pooled across arms) slope of Y on X;
* adjusted effect Δ_cuped = (Ȳ_t − Ȳ_c) − θ·(X̄_t − X̄_c);
* its variance (ANCOVA): s²·(1/n_t + 1/n_c + (X̄_t − X̄_c)²/S_xx), with S_xx the within-arm sum
  of squares of X and s² = (S_yy − θ·S_xy)/(n_t + n_c − 3) the residual variance: exactly the
  treatment coefficient and its standard error of the OLS fit Y ~ 1 + treatment + X;
* the plain effect Ȳ_t − Ȳ_c with the unpooled variance var_t/n_t + var_c/n_c;
* the sample size with the covariate: n·(1 − ρ²), ρ the within-arm correlation of Y and X.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from .errors import AbTestError
from .frequentist import holm_adjust, z_critical


@dataclass(frozen=True)
class ArmMoments:
    """Sufficient statistics of one arm: n and the sums of Y, X, Y², X², XY."""

    n: int
    sum_y: float
    sum_x: float
    sum_yy: float
    sum_xx: float
    sum_xy: float

    @classmethod
    def of(cls, outcome: npt.ArrayLike, covariate: npt.ArrayLike) -> ArmMoments:
        y, x = np.asarray(outcome, dtype=float), np.asarray(covariate, dtype=float)
        if y.shape != x.shape:
            raise AbTestError(f"outcome and covariate differ in length ({y.size} vs {x.size})")
        if not (np.isfinite(y).all() and np.isfinite(x).all()):
            raise AbTestError("outcome and covariate must be finite numbers (no NaN)")
        return cls(int(y.size), float(y.sum()), float(x.sum()), float(y @ y), float(x @ x), float(x @ y))

    @property
    def mean_y(self) -> float:
        return self.sum_y / self.n

    @property
    def mean_x(self) -> float:
        return self.sum_x / self.n

    @property
    def ss_y(self) -> float:
        """Σ(Y − Ȳ)²."""
        return self.sum_yy - self.sum_y**2 / self.n

    @property
    def ss_x(self) -> float:
        return self.sum_xx - self.sum_x**2 / self.n

    @property
    def sp_xy(self) -> float:
        """Σ(X − X̄)(Y − Ȳ)."""
        return self.sum_xy - self.sum_x * self.sum_y / self.n


@dataclass(frozen=True)
class Comparison:
    """One treatment against control: plain and CUPED effect, interval, two-sided p-value."""

    effect: float
    low: float
    high: float
    se: float
    p_value: float
    cuped_effect: float
    cuped_low: float
    cuped_high: float
    cuped_se: float
    cuped_p_value: float
    theta: float
    correlation: float

    @property
    def variance_reduction(self) -> float:
        """1 − Var(CUPED)/Var(plain)."""
        return 1 - (self.cuped_se / self.se) ** 2 if self.se > 0 else math.nan


def theta(arms: list[ArmMoments]) -> float:
    """θ = Σ S_xy / Σ S_xx over the arms (0 when X does not vary within the arms)."""
    s_xx = sum(a.ss_x for a in arms)
    return sum(a.sp_xy for a in arms) / s_xx if s_xx > 0 else 0.0


def correlation(arms: list[ArmMoments]) -> float:
    """Within-arm correlation ρ of Y and X, pooled over the arms."""
    s_xx, s_yy = sum(a.ss_x for a in arms), sum(a.ss_y for a in arms)
    return sum(a.sp_xy for a in arms) / math.sqrt(s_xx * s_yy) if s_xx > 0 and s_yy > 0 else 0.0


def cuped_sample_size(n: float, rho: float) -> int:
    """Users needed with the covariate: n·(1 − ρ²), rounded up."""
    if not -1 < rho < 1:
        raise AbTestError(f"the correlation rho must lie strictly between -1 and 1, got {rho}")
    return int(math.ceil(n * (1 - rho * rho) - 1e-9))


def _z_result(effect: float, se: float, alpha: float) -> tuple[float, float, float]:
    if not se > 0:
        return (math.nan, math.nan, 1.0)
    z = z_critical(alpha)
    return (effect - z * se, effect + z * se, float(2 * stats.norm.sf(abs(effect / se))))


def compare(treatment: ArmMoments, control: ArmMoments, alpha: float = 0.05) -> Comparison:
    """Plain and CUPED comparison of ``treatment`` with ``control`` (formulas in the module docstring)."""
    if treatment.n < 2 or control.n < 2:
        raise AbTestError(f"each arm needs at least 2 users (got {treatment.n} and {control.n})")
    t, c = treatment, control
    effect = t.mean_y - c.mean_y
    se = math.sqrt(t.ss_y / (t.n - 1) / t.n + c.ss_y / (c.n - 1) / c.n)
    low, high, p = _z_result(effect, se, alpha)
    th = theta([t, c])
    gap_x = t.mean_x - c.mean_x
    cuped_effect = effect - th * gap_x
    s_xx = t.ss_x + c.ss_x
    residual = (t.ss_y + c.ss_y - th * (t.sp_xy + c.sp_xy)) / (t.n + c.n - 3)
    cuped_se = math.sqrt(max(residual, 0.0) * (1 / t.n + 1 / c.n + (gap_x**2 / s_xx if s_xx > 0 else 0.0)))
    c_low, c_high, c_p = _z_result(cuped_effect, cuped_se, alpha)
    return Comparison(effect, low, high, se, p, cuped_effect, c_low, c_high, cuped_se, c_p, th, correlation([t, c]))


def arm_moments(units: pd.DataFrame) -> dict[str, ArmMoments]:
    """Per arm, from a frame of customers with ``arm``, ``y`` (outcome) and ``x`` (pre-period covariate)."""
    missing = {"arm", "y", "x"} - set(units.columns)
    if missing:
        raise AbTestError(f"CUPED needs columns arm, y, x; missing {sorted(missing)}")
    return {str(arm): ArmMoments.of(g["y"], g["x"]) for arm, g in units.groupby("arm", sort=False)}


CUPED_COLUMNS = [
    "arm",
    "users",
    "mean",
    "diff",
    "diff_low",
    "diff_high",
    "p_value",
    "p_adjusted",
    "cuped_diff",
    "cuped_low",
    "cuped_high",
    "cuped_p_value",
    "cuped_p_adjusted",
    "theta",
    "correlation",
    "variance_reduction",
]


def cuped_table(units: pd.DataFrame, control: str, treatments: list[str], alpha: float = 0.05) -> pd.DataFrame:
    """Each treatment against ``control`` from per-customer ``units`` (``arm``, ``y``, ``x``): plain and
    CUPED difference with interval and p-value, both Holm-adjusted over the treatments (``CUPED_COLUMNS``)."""
    moments = arm_moments(units)
    absent = [a for a in (control, *treatments) if a not in moments]
    if absent:
        raise AbTestError(f"CUPED: no customers of arm(s) {absent} in the per-customer outcomes")
    rows = [{"arm": control, "users": moments[control].n, "mean": moments[control].mean_y}]
    for arm in treatments:
        if min(moments[arm].n, moments[control].n) < 2:  # too early to compare: the row stays empty
            rows.append({"arm": arm, "users": moments[arm].n, "mean": moments[arm].mean_y})
            continue
        r = compare(moments[arm], moments[control], alpha)
        rows.append(
            {
                "arm": arm,
                "users": moments[arm].n,
                "mean": moments[arm].mean_y,
                "diff": r.effect,
                "diff_low": r.low,
                "diff_high": r.high,
                "p_value": r.p_value,
                "cuped_diff": r.cuped_effect,
                "cuped_low": r.cuped_low,
                "cuped_high": r.cuped_high,
                "cuped_p_value": r.cuped_p_value,
                "theta": r.theta,
                "correlation": r.correlation,
                "variance_reduction": r.variance_reduction,
            }
        )
    table = pd.DataFrame(rows).reindex(columns=CUPED_COLUMNS)
    others = (table["arm"] != control) & table["p_value"].notna()
    table.loc[others, "p_adjusted"] = holm_adjust(table.loc[others, "p_value"].tolist())
    table.loc[others, "cuped_p_adjusted"] = holm_adjust(table.loc[others, "cuped_p_value"].tolist())
    return table
