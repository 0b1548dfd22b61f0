"""Sample ratio mismatch: did the arms get the share of users the design intended?"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from .errors import AbTestError

SRM_THRESHOLD = 0.001


@dataclass(frozen=True)
class SrmResult:
    """Pearson chi-square goodness of fit of the arm counts against the intended shares."""

    chi2: float
    p_value: float
    observed: dict[str, int]
    expected: dict[str, float]
    threshold: float = SRM_THRESHOLD

    @property
    def alert(self) -> bool:
        """True when the split is so unlikely under the design that the assignment is suspect."""
        return self.p_value < self.threshold

    def describe(self) -> str:
        parts = ", ".join(f"{a} {self.observed[a]:,} (expected {self.expected[a]:,.0f})" for a in self.observed)
        if self.alert:
            return f"Sample ratio mismatch (p = {self.p_value:.2g} < {self.threshold}): {parts}."
        return f"Arm sizes match the design (p = {self.p_value:.2g}): {parts}."


def srm_check(
    counts: Mapping[str, int],
    shares: Mapping[str, float] | Sequence[float] | None = None,
    threshold: float = SRM_THRESHOLD,
) -> SrmResult:
    """χ² = Σ (observed − expected)² / expected with expected = total · share; equal shares by default."""
    arms = list(counts)
    observed = np.array([counts[a] for a in arms], dtype=float)
    if len(arms) < 2:
        raise AbTestError(f"SRM check needs at least two arms, got {arms}")
    if np.any(observed < 0):
        raise AbTestError(f"arm counts must not be negative: {dict(counts)}")
    if shares is None:
        weights = np.ones(len(arms))
    elif isinstance(shares, Mapping):
        missing = [a for a in arms if a not in shares]
        if missing:
            raise AbTestError(f"no intended share for arm(s) {missing}")
        weights = np.array([shares[a] for a in arms], dtype=float)
    else:
        weights = np.asarray(shares, dtype=float)
        if weights.size != len(arms):
            raise AbTestError(f"{weights.size} shares for {len(arms)} arms")
    if np.any(weights <= 0):
        raise AbTestError(f"intended shares must be positive: {weights.tolist()}")
    total = observed.sum()
    expected = total * weights / weights.sum()
    if total == 0:
        chi2, p = 0.0, 1.0
    else:
        chi2 = float(((observed - expected) ** 2 / expected).sum())
        p = float(stats.chi2.sf(chi2, len(arms) - 1))
    return SrmResult(
        chi2=chi2,
        p_value=p,
        observed={a: int(o) for a, o in zip(arms, observed, strict=True)},
        expected={a: float(e) for a, e in zip(arms, expected, strict=True)},
        threshold=threshold,
    )
