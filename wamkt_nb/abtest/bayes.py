"""Bayesian chance to beat control with Beta-Binomial posteriors."""

from __future__ import annotations

import numpy as np
from scipy import integrate, stats

from .frequentist import check_counts


def posterior(successes: int, n: int, prior: tuple[float, float] = (1.0, 1.0)):
    """Beta(a + successes, b + failures): the rate's posterior under a Beta(a, b) prior."""
    check_counts(successes, n)
    return stats.beta(prior[0] + successes, prior[1] + n - successes)


def chance_to_beat_control(
    x_t: int,
    n_t: int,
    x_c: int,
    n_c: int,
    *,
    prior: tuple[float, float] = (1.0, 1.0),
    method: str = "integration",
    draws: int = 200_000,
    seed: int | None = 0,
) -> float:
    """P(p_t > p_c) for independent Beta posteriors.

    ``integration``: ∫ f_t(x)·F_c(x) dx over the range where the posteriors hold their mass
    (deterministic). ``sampling``: the share of ``draws`` posterior pairs with p_t > p_c, from a
    seeded generator.
    """
    post_t = posterior(x_t, n_t, prior)
    post_c = posterior(x_c, n_c, prior)
    if method == "sampling":
        rng = np.random.default_rng(seed)
        return float(np.mean(post_t.rvs(draws, random_state=rng) > post_c.rvs(draws, random_state=rng)))
    if method != "integration":
        raise ValueError(f"method must be 'integration' or 'sampling', got {method!r}")
    tail = 1e-12
    low = min(post_t.ppf(tail), post_c.ppf(tail))
    high = max(post_t.isf(tail), post_c.isf(tail))
    points = sorted({post_t.mean(), post_c.mean()})
    value, _ = integrate.quad(
        lambda x: post_t.pdf(x) * post_c.cdf(x), low, high, points=points, limit=200, epsabs=1e-10
    )
    # mass of f_t above ``high`` counts fully (F_c = 1 there); below ``low`` it counts nothing.
    return float(min(1.0, max(0.0, value + post_t.sf(high))))
