"""Planning a test of a rate metric: sample size per arm, power, detectable effect, duration.

Two named methods for the two-sided two-proportion test:

* ``arcsine`` (default): Cohen's h = 2·asin(√p_t) − 2·asin(√p_c) and the normal power
  Φ(h·√n_eff − z) + Φ(−h·√n_eff − z), n_eff = 1/(1/n_c + 1/n_t); what statsmodels'
  ``NormalIndPower`` with ``proportion_effectsize`` computes.
* ``pooled`` (Fleiss, without continuity correction): n_t = ((z_{α/2}·σ₀ + z_β·σ₁)/δ)² with the
  pooled-rate σ₀ under H₀ and the unpooled σ₁ under H₁; statsmodels'
  ``samplesize_proportions_2indep_onetail``.

Several treatment arms are each compared with the control at α/(arms − 1) (Bonferroni), which
is what Holm's correction in the evaluation never falls below.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from ..cloudapi.models import TIER_LIMITS
from .cuped import cuped_sample_size
from .errors import AbTestError

METHODS = ("arcsine", "pooled")
# Hours after the send until each metric's outcome is known.
OBSERVATION_HOURS = {"read": 24.0, "reply": 24.0, "conversion": 168.0}


def arm_names(arms: int | Sequence[str]) -> tuple[str, ...]:
    """``2`` -> ("A", "B"); names pass through. The first arm is the control."""
    if isinstance(arms, int):
        if not 2 <= arms <= 26:
            raise AbTestError(f"arms must be between 2 and 26, got {arms}")
        return tuple(chr(ord("A") + i) for i in range(arms))
    names = tuple(str(a) for a in arms)
    if len(names) < 2 or len(set(names)) != len(names):
        raise AbTestError(f"arms need at least two distinct names, got {list(names)}")
    if "holdout" in names:
        raise AbTestError("'holdout' is reserved for the holdout share; pass holdout= instead")
    return names


def normalised(weights: Sequence[float] | None, n: int, what: str = "allocation") -> np.ndarray:
    """Weights as shares summing to 1 (equal when None)."""
    if weights is None:
        return np.full(n, 1.0 / n)
    w = np.asarray(weights, dtype=float)
    if w.size != n:
        raise AbTestError(f"{what}: {w.size} weights for {n} arms")
    if np.any(~np.isfinite(w)) or np.any(w <= 0):
        raise AbTestError(f"{what}: weights must be positive numbers, got {w.tolist()}")
    return w / float(w.sum())


def _check_rates(baseline: float, target: float) -> None:
    if not 0 < baseline < 1:
        raise AbTestError(f"baseline rate must be between 0 and 1 (exclusive), got {baseline}")
    if not 0 < target < 1:
        raise AbTestError(f"baseline {baseline:.4g} plus the effect gives {target:.4g}, outside 0..1")
    if target == baseline:
        raise AbTestError("the minimum detectable effect must not be 0")


def _check_probability(name: str, value: float) -> None:
    if not 0 < value < 1:
        raise AbTestError(f"{name} must be between 0 and 1, got {value}")


def cohens_h(p_t: float, p_c: float) -> float:
    """Cohen's effect size for two proportions, 2·asin(√p_t) − 2·asin(√p_c)."""
    return 2 * math.asin(math.sqrt(p_t)) - 2 * math.asin(math.sqrt(p_c))


def power_at(
    n_control: float,
    baseline: float,
    target: float,
    alpha: float = 0.05,
    ratio: float = 1.0,
    method: str = "arcsine",
) -> float:
    """Power of the two-sided test with ``n_control`` users in control and ``ratio·n_control`` in treatment."""
    if n_control <= 0:
        return 0.0
    n_t = ratio * n_control
    z = stats.norm.isf(alpha / 2)
    if method == "arcsine":
        shift = abs(cohens_h(target, baseline)) * math.sqrt(1 / (1 / n_control + 1 / n_t))
        return float(stats.norm.sf(z - shift) + stats.norm.cdf(-z - shift))
    if method == "pooled":
        sd0, sd1 = _pooled_sds(baseline, target, n_control / n_t)
        shift = abs(target - baseline) * math.sqrt(n_t) / sd1
        return float(stats.norm.sf(z * sd0 / sd1 - shift) + stats.norm.cdf(-z * sd0 / sd1 - shift))
    raise AbTestError(f"method must be one of {METHODS}, got {method!r}")


def _pooled_sds(baseline: float, target: float, k: float) -> tuple[float, float]:
    """σ₀, σ₁ per √n_t for n_c = k·n_t: pooled rate under H₀, each arm's own rate under H₁."""
    pooled = (target + k * baseline) / (1 + k)
    sd0 = math.sqrt(pooled * (1 - pooled) * (1 + 1 / k))
    sd1 = math.sqrt(target * (1 - target) + baseline * (1 - baseline) / k)
    return sd0, sd1


def control_size(baseline: float, target: float, alpha: float, power: float, ratio: float, method: str) -> float:
    """Users needed in control (unrounded) so that the comparison reaches ``power``."""
    if method == "pooled":
        k = 1 / ratio
        sd0, sd1 = _pooled_sds(baseline, target, k)
        n_t = ((stats.norm.isf(alpha / 2) * sd0 + stats.norm.isf(1 - power) * sd1) / (target - baseline)) ** 2
        return float(n_t * k)
    if method != "arcsine":
        raise AbTestError(f"method must be one of {METHODS}, got {method!r}")
    h = abs(cohens_h(target, baseline))
    z_sum = stats.norm.isf(alpha / 2) + stats.norm.isf(1 - power)
    guess = (z_sum / h) ** 2 * (1 + 1 / ratio)  # ignores the far tail

    def f(n: float) -> float:
        return power_at(n, baseline, target, alpha, ratio, method) - power

    if f(guess) >= 0:
        return float(optimize.brentq(f, guess * 0.5, guess, xtol=1e-9))
    return float(guess)


@dataclass(frozen=True)
class SamplePlan:
    """How many users each arm needs to detect ``target`` vs ``baseline`` with the given power."""

    baseline: float
    target: float
    alpha: float
    power: float
    method: str
    arms: tuple[str, ...]
    shares: dict[str, float]  # of all users in the test, holdout included
    per_arm: dict[str, int]
    alpha_per_comparison: float
    cuped_rho: float = 0.0  # correlation of the outcome with its pre-period covariate (0: no CUPED)

    @property
    def per_arm_cuped(self) -> dict[str, int]:
        """Users per arm when the evaluation adjusts for the covariate (CUPED): n·(1 − ρ²)."""
        return {a: cuped_sample_size(n, self.cuped_rho) for a, n in self.per_arm.items()}

    @property
    def total_cuped(self) -> int:
        return int(sum(self.per_arm_cuped.values()))

    @property
    def absolute_mde(self) -> float:
        return self.target - self.baseline

    @property
    def relative_mde(self) -> float:
        return self.target / self.baseline - 1

    @property
    def total(self) -> int:
        return int(sum(self.per_arm.values()))

    @property
    def control(self) -> str:
        return self.arms[0]

    @property
    def messaged(self) -> int:
        """Users who receive a message (all arms but the holdout)."""
        return int(sum(n for a, n in self.per_arm.items() if a != "holdout"))

    def spec(self) -> dict[str, Any]:
        """The design as JSON-able data, for ``campaigns.spec_json["experiment"]`` (read back by the results)."""
        return {
            "arms": list(self.arms),
            "shares": {a: float(s) for a, s in self.shares.items()},
            "planned_per_arm": int(self.per_arm[self.control]),
            "baseline": float(self.baseline),
            "mde": float(self.absolute_mde),
            "alpha": float(self.alpha),
            "power": float(self.power),
            "method": self.method,
            **({"cuped_rho": float(self.cuped_rho)} if self.cuped_rho else {}),
        }

    def describe(self) -> str:
        arms = ", ".join(f"{a}: {n:,}" for a, n in self.per_arm.items())
        return (
            f"To detect {self.baseline:.2%} → {self.target:.2%} ({self.absolute_mde * 100:+.2f} pp, "
            f"{self.relative_mde:+.1%} relative) "
            f"with {self.power:.0%} power at α = {self.alpha:g}"
            + (f" ({self.alpha_per_comparison:.3g} per comparison)" if len(self.arms) > 2 else "")
            + f": {self.total:,} users ({arms})."
            + (
                f" With CUPED (pre-period correlation ρ = {self.cuped_rho:.2f}): {self.total_cuped:,} users, "
                f"{self.total - self.total_cuped:,} fewer."
                if self.cuped_rho
                else ""
            )
        )


def _target(baseline: float, mde: float, relative: bool) -> float:
    return baseline * (1 + mde) if relative else baseline + mde


def plan_sample_size(
    baseline: float,
    mde: float,
    *,
    relative: bool = False,
    alpha: float = 0.05,
    power: float = 0.8,
    arms: int | Sequence[str] = 2,
    allocation: Sequence[float] | None = None,
    holdout: float = 0.0,
    method: str = "arcsine",
    cuped_rho: float = 0.0,
) -> SamplePlan:
    """Users per arm for a rate metric; ``mde`` is absolute (0.01 = one point) or relative (0.1 = +10 %).

    ``cuped_rho``: the correlation of the outcome with a pre-period covariate (e.g. estimated on a
    past period); the plan then also gives the smaller sizes a CUPED evaluation needs, n·(1 − ρ²).

    ``allocation`` weights the message arms (control first); ``holdout`` is the share of all users
    who get nothing, added on top (it is not powered: it measures messaging's incremental effect).
    """
    names = arm_names(arms)
    _check_probability("alpha", alpha)
    _check_probability("power", power)
    cuped_sample_size(1, cuped_rho)  # refuses a correlation outside (-1, 1)
    if not 0 <= holdout < 1:
        raise AbTestError(f"holdout must be a share in [0, 1), got {holdout}")
    if method not in METHODS:
        raise AbTestError(f"method must be one of {METHODS}, got {method!r}")
    target = _target(baseline, mde, relative)
    _check_rates(baseline, target)
    w = normalised(allocation, len(names))
    alpha_each = alpha / (len(names) - 1)
    n_c = max(control_size(baseline, target, alpha_each, power, w[i] / w[0], method) for i in range(1, len(names)))
    per_arm = {a: int(math.ceil(n_c * w[i] / w[0] - 1e-9)) for i, a in enumerate(names)}
    shares = {a: float(w[i] * (1 - holdout)) for i, a in enumerate(names)}
    if holdout > 0:
        messaged = sum(per_arm.values())
        per_arm["holdout"] = int(math.ceil(messaged * holdout / (1 - holdout)))
        shares["holdout"] = float(holdout)
    return SamplePlan(
        baseline=baseline,
        target=target,
        alpha=alpha,
        power=power,
        method=method,
        arms=names,
        shares=shares,
        per_arm=per_arm,
        alpha_per_comparison=alpha_each,
        cuped_rho=cuped_rho,
    )


def detectable_effect(
    baseline: float,
    n_control: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float = 1.0,
    method: str = "arcsine",
) -> float:
    """The smallest absolute increase over ``baseline`` detectable with ``n_control`` users in control."""
    if n_control <= 0:
        raise AbTestError(f"the control arm needs users, got {n_control}")

    def f(d: float) -> float:
        return power_at(n_control, baseline, baseline + d, alpha, ratio, method) - power

    top = (1 - baseline) * (1 - 1e-9)
    if f(top) < 0:
        return math.nan
    return float(optimize.brentq(f, 1e-12, top, xtol=1e-12))


def power_curve(plan: SamplePlan, points: int = 40, mde_factors: Sequence[float] = (0.5, 1.0, 1.5)) -> pd.DataFrame:
    """Power against control-arm size, for the planned effect and multiples of it.

    Columns: ``n_control``, ``total`` (users in the test), ``mde`` (absolute), ``power``.
    """
    w_c = plan.shares[plan.control]
    n_plan = plan.per_arm[plan.control]
    sizes = np.unique(np.linspace(max(2, n_plan * 0.05), n_plan * 2.5, points).round().astype(int))
    rows = []
    for factor in mde_factors:
        target = plan.baseline + factor * plan.absolute_mde
        if not 0 < target < 1:
            continue
        for n in sizes:
            worst = min(
                power_at(n, plan.baseline, target, plan.alpha_per_comparison, plan.shares[a] / w_c, plan.method)
                for a in plan.arms[1:]
            )
            rows.append(
                {"n_control": int(n), "total": int(round(n / w_c)), "mde": target - plan.baseline, "power": worst}
            )
    return pd.DataFrame(rows, columns=["n_control", "total", "mde", "power"])


@dataclass(frozen=True)
class DurationPlan:
    """How long sending and observing the planned users takes under the sending limits."""

    needed: int  # users in the test, holdout included
    messaged: int  # users who get the test's message(s)
    segment_size: int
    daily_capacity: float
    limited_by: str  # "messaging tier" | "pace"
    send_days: int
    observation_days: float
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def feasible(self) -> bool:
        return self.segment_size >= self.needed

    @property
    def total_days(self) -> float:
        return self.send_days + self.observation_days

    def describe(self) -> str:
        head = (
            f"Sending to {self.messaged:,} customers takes {self.send_days} day(s) at up to "
            f"{self.daily_capacity:,.0f} per day (limited by the {self.limited_by}), then "
            f"{self.observation_days:g} day(s) to observe: about {self.total_days:g} days."
        )
        return " ".join((head, *self.notes))


def plan_duration(
    needed: int,
    segment_size: int,
    *,
    holdout_users: int = 0,
    tier: str | float = "TIER_10K",
    tier_share: float = 1.0,
    pace_per_minute: float = 30.0,
    sending_hours: float = 12.0,
    messages_per_customer: int = 1,
    metric: str = "conversion",
    observation_hours: float | None = None,
) -> DurationPlan:
    """Days to run a test of ``needed`` users (``holdout_users`` of them get nothing), then observing.

    The messaging tier caps unique users per rolling 24 h (``tier_share`` of it is left for this
    test); the pace caps messages per sending hour. The one-marketing-message-per-24-h rule lets a
    customer receive at most one of the test's ``messages_per_customer`` messages per day.
    """
    if needed < 0 or segment_size < 0 or not 0 <= holdout_users <= needed:
        raise AbTestError(
            f"sizes must not be negative and the holdout not exceed the test "
            f"(needed={needed}, holdout_users={holdout_users}, segment_size={segment_size})"
        )
    if isinstance(tier, str):
        if tier not in TIER_LIMITS:
            raise AbTestError(f"unknown messaging tier {tier!r}; one of {list(TIER_LIMITS)}")
        tier_limit = TIER_LIMITS[tier] or math.inf  # None: unlimited
    else:
        tier_limit = float(tier)
    if tier_limit <= 0 or not 0 < tier_share <= 1:
        raise AbTestError(f"tier limit and tier_share must be positive (got {tier_limit}, {tier_share})")
    if pace_per_minute <= 0 or not 0 < sending_hours <= 24:
        raise AbTestError(
            f"pace must be positive and sending hours in (0, 24] (got {pace_per_minute}, {sending_hours})"
        )
    if messages_per_customer < 1:
        raise AbTestError(f"messages_per_customer must be at least 1, got {messages_per_customer}")
    if observation_hours is None:
        if metric not in OBSERVATION_HOURS:
            raise AbTestError(f"metric must be one of {list(OBSERVATION_HOURS)}, got {metric!r}")
        observation_hours = OBSERVATION_HOURS[metric]
    by_tier = tier_limit * tier_share
    by_pace = pace_per_minute * 60 * sending_hours
    capacity = min(by_tier, by_pace)
    limited_by = "messaging tier" if by_tier <= by_pace else "pace"
    messaged = needed - holdout_users
    messages = messaged * messages_per_customer
    send_days = max(int(math.ceil(messages / capacity)) if messages else 0, messages_per_customer)
    notes = []
    if messages_per_customer > 1:
        notes.append(
            f"With {messages_per_customer} messages per customer and at most one marketing message "
            f"per customer per 24 h, sending takes at least {messages_per_customer} days."
        )
    if segment_size < needed:
        notes.append(
            f"The segment has only {segment_size:,} eligible customers but the test needs "
            f"{needed:,}: widen the segment, accept a larger MDE, or use fewer arms."
        )
    return DurationPlan(
        needed=int(needed),
        messaged=int(messaged),
        segment_size=int(segment_size),
        daily_capacity=float(capacity),
        limited_by=limited_by,
        send_days=send_days,
        observation_days=observation_hours / 24,
        notes=tuple(notes),
    )


@dataclass(frozen=True)
class TestPlan:
    """A sample plan with its duration, and what the segment could detect if it is too small."""

    __test__ = False  # not a pytest test class

    sample: SamplePlan
    duration: DurationPlan
    detectable_with_segment: float | None  # absolute MDE when the segment is smaller than needed

    def describe(self) -> str:
        text = f"{self.sample.describe()} {self.duration.describe()}"
        if self.detectable_with_segment is not None:
            if math.isnan(self.detectable_with_segment):
                text += " The segment is too small to detect any effect with this power."
            else:
                rel = self.detectable_with_segment / self.sample.baseline
                text += (
                    f" With the whole segment the test detects {self.detectable_with_segment * 100:+.2f} pp "
                    f"({rel:+.1%} relative)."
                )
        return text


def plan_test(
    baseline: float,
    mde: float,
    segment_size: int,
    *,
    metric: str = "conversion",
    tier: str | float = "TIER_10K",
    tier_share: float = 1.0,
    pace_per_minute: float = 30.0,
    sending_hours: float = 12.0,
    messages_per_customer: int = 1,
    **design: Any,
) -> TestPlan:
    """Sample size, duration and feasibility in one call (what the planner widget shows).

    ``design``: the keywords of :func:`plan_sample_size` (relative, alpha, power, arms, allocation,
    holdout, method); the rest are those of :func:`plan_duration`.
    """
    sample = plan_sample_size(baseline, mde, **design)
    duration = plan_duration(
        sample.total,
        segment_size,
        holdout_users=sample.total - sample.messaged,
        tier=tier,
        tier_share=tier_share,
        pace_per_minute=pace_per_minute,
        sending_hours=sending_hours,
        messages_per_customer=messages_per_customer,
        metric=metric,
    )
    detectable = None
    if segment_size < sample.total:
        w_c = sample.shares[sample.control]
        ratio = min(sample.shares[a] for a in sample.arms[1:]) / w_c
        detectable = (
            detectable_effect(
                baseline,
                segment_size * w_c,
                alpha=sample.alpha_per_comparison,
                power=sample.power,
                ratio=ratio,
                method=sample.method,
            )
            if segment_size * w_c >= 2
            else math.nan
        )
    return TestPlan(sample=sample, duration=duration, detectable_with_segment=detectable)
