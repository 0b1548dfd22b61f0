"""Always-valid inference for peeking: the normal-mixture SPRT (mSPRT) and its confidence sequence.

With θ̂ = p_t − p_c, V = p_t(1−p_t)/n_t + p_c(1−p_c)/n_c and a N(0, τ²) mixture over the effect,
the likelihood ratio against θ is Λ(θ) = sqrt(V/(V+τ²)) · exp(τ²(θ̂−θ)² / (2V(V+τ²)))
(Johari et al., "Always valid inference", 2017). {θ : Λ(θ) < 1/α} is a confidence sequence:
it covers the true difference at every look simultaneously with probability ≥ 1 − α, so an
analyst may check results daily and stop as soon as it excludes 0.
"""

from __future__ import annotations

import math

from .errors import AbTestError
from .frequentist import check_counts


def sequential_interval(
    x_t: int, n_t: int, x_c: int, n_c: int, alpha: float = 0.05, tau: float | None = None
) -> tuple[float, float, float]:
    """(low, high, always-valid p) for p_t − p_c; ``tau`` is the mixture's effect scale.

    τ should be about the size of effect one hopes to find (the MDE); by default 10 % of the
    control rate (at least 0.001). The p-value is min(1, 1/Λ(0)).
    """
    check_counts(x_t, n_t, "treatment")
    check_counts(x_c, n_c, "control")
    if not 0 < alpha < 1:
        raise AbTestError(f"alpha must be between 0 and 1, got {alpha}")
    if n_t == 0 or n_c == 0:
        return (-1.0, 1.0, 1.0)
    p_t, p_c = x_t / n_t, x_c / n_c
    if tau is None:
        tau = max(0.1 * p_c, 0.001)
    if tau <= 0:
        raise AbTestError(f"tau must be positive, got {tau}")
    # a variance floor keeps the boundary finite while a rate is still 0 or 1
    v = max(p_t * (1 - p_t) / n_t + p_c * (1 - p_c) / n_c, 0.25 / (n_t + n_c) ** 2)
    t2 = tau * tau
    diff = p_t - p_c
    radius = math.sqrt(v * (v + t2) / t2 * (2 * math.log(1 / alpha) + math.log((v + t2) / v)))
    log_lr = 0.5 * math.log(v / (v + t2)) + t2 * diff * diff / (2 * v * (v + t2))
    p_value = 1.0 if log_lr <= 0 else math.exp(-log_lr)
    return (max(-1.0, diff - radius), min(1.0, diff + radius), p_value)
