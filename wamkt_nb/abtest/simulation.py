"""Playing an experiment through the sandbox's customer model, without HTTP, to check a design.

Each customer's chance of the outcome is the sandbox's own composition of its pure behaviour
functions (delivered × read × reply or convert, with the planted ``variant_uplift``), so a
simulated run has the same true rates as a campaign played in the sandbox, only much faster.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import numpy as np
import pandas as pd

from ..ledger.experiments import METRICS
from ..sandbox import behaviour as bm
from .errors import AbTestError


def outcome_probabilities(
    features: pd.DataFrame,
    metric: str = "conversion",
    *,
    text: str,
    variant: str | None = None,
    category: str = "marketing",
    message_type: str = "text",
    local_hour: int = 11,
    params: bm.BehaviourParams | None = None,
) -> np.ndarray:
    """Per customer (rows of ``features``): the model's probability of ``metric`` after one message.

    ``variant`` is looked up like a template name in ``params.variant_uplift`` (conversion) and
    ``params.variant_read_uplift`` (read).
    """
    if metric not in METRICS:
        raise AbTestError(f"metric must be one of {list(METRICS)}, got {metric!r}")
    p = params or bm.BehaviourParams()
    delivered = bm.delivery_probability(message_type, p)
    read_uplift = bm.variant_key_uplift(p.variant_read_uplift, variant, None)
    uplift = bm.variant_key_uplift(p.variant_uplift, variant, None)
    out = np.empty(len(features))
    for i, row in enumerate(cast(list[dict[str, Any]], features.to_dict("records"))):  # string column names
        read = delivered * bm.read_probability(row, text, local_hour, p, read_uplift)
        if metric == "read":
            out[i] = read
        elif metric == "reply":
            out[i] = read * bm.reply_probability(row, text, category, p)
        else:
            out[i] = read * bm.conversion_probability(row, category, p, uplift)
    return out


def simulate_experiment(
    probabilities: Mapping[str, np.ndarray],
    users_per_arm: Mapping[str, int] | int,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """One run: each arm draws its users from the population and each user responds by the model.

    Returns ``arm``, ``users``, ``successes`` as ``evaluate`` takes them.
    """
    rows = []
    for arm, p in probabilities.items():
        n = users_per_arm if isinstance(users_per_arm, int) else users_per_arm[arm]
        if len(p) == 0 or n < 0:
            raise AbTestError(f"arm {arm}: needs a population and a non-negative size")
        who = rng.integers(0, len(p), size=n)
        rows.append({"arm": arm, "users": int(n), "successes": int((rng.random(n) < p[who]).sum())})
    return pd.DataFrame(rows, columns=["arm", "users", "successes"])


def simulate_units(
    probabilities: Mapping[str, np.ndarray],
    covariate: np.ndarray,
    users_per_arm: Mapping[str, int] | int,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """One run, customer by customer, for CUPED: like ``simulate_experiment`` but each drawn user
    keeps their pre-period ``covariate`` (one value per customer of the population, e.g. orders or
    interactions before the test). Returns ``arm``, ``y`` (0/1), ``x`` as ``evaluate(units=...)`` takes them.
    """
    covariate = np.asarray(covariate, dtype=float)
    parts = []
    for arm, p in probabilities.items():
        n = users_per_arm if isinstance(users_per_arm, int) else users_per_arm[arm]
        if len(p) == 0 or n < 0 or len(covariate) != len(p):
            raise AbTestError(f"arm {arm}: needs a population, a covariate per customer and a non-negative size")
        who = rng.integers(0, len(p), size=n)
        parts.append(pd.DataFrame({"arm": arm, "y": (rng.random(n) < p[who]).astype(float), "x": covariate[who]}))
    return pd.concat(parts, ignore_index=True)
