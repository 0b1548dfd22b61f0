"""Bayesian chance to beat control with Beta-Binomial posteriors."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import integrate, stats

from .frequentist import check_counts

GRID = 1_501  # points per posterior's range for the numerical integration


def posterior(successes: int, n: int, prior: tuple[float, float] = (1.0, 1.0)) -> Any:
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

    ``integration``: ∫ f_t(x)·F_c(x) dx by Simpson's rule on a grid over the posteriors'
    mass (deterministic). ``sampling``: the share of ``draws`` posterior pairs with p_t > p_c, from a
    seeded generator.
    """
    post_t = posterior(x_t, n_t, prior)
    post_c = posterior(x_c, n_c, prior)
    if method == "sampling":
        rng = np.random.default_rng(seed)
        return float(np.mean(post_t.rvs(draws, random_state=rng) > post_c.rvs(draws, random_state=rng)))
    if method != "integration":
        raise ValueError(f"method must be 'integration' or 'sampling', got {method!r}")
    # f_t holds all but 2e-12 of its mass in [low, high]; the grid is dense there and wherever
    # F_c rises, so Simpson's rule is accurate to ~1e-8 even when one posterior is much narrower.
    tail = 1e-12
    low, high = post_t.ppf(tail), post_t.isf(tail)
    steep = np.clip(np.linspace(post_c.ppf(tail), post_c.isf(tail), GRID), low, high)
    grid = np.unique(np.concatenate([np.linspace(low, high, GRID), steep]))
    value = integrate.simpson(post_t.pdf(grid) * post_c.cdf(grid), x=grid)
    return float(min(1.0, max(0.0, value)))
