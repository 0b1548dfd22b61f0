"""An experiment as stored: its design (``campaigns.spec_json["experiment"]``) and its evaluation."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..ledger.campaigns import campaign_over, find_campaign, spec_of
from ..ledger.experiments import GUARDRAILS
from ..store import Store
from .errors import AbTestError
from .evaluation import Evaluation, evaluate
from .outcomes import arm_counts, guardrail_counts, unit_outcomes


def experiment_spec(store: Store, campaign_id: str) -> dict[str, Any]:
    """The design recorded with the campaign (``SamplePlan.spec()`` plus ``metric``), or ``{}``."""
    info = find_campaign(store, campaign_id)
    if info is None:
        raise AbTestError(f"no campaign {campaign_id!r}")
    experiment = spec_of(info["spec_json"]).get("experiment")
    return dict(experiment) if isinstance(experiment, dict) else {}


def evaluate_campaign(
    store: Store,
    campaign_id: str,
    metric: str | None = None,
    *,
    reply_hours: float = 24.0,
    attribution_hours: float = 168.0,
    sequential: bool = False,
    planned_per_arm: int | None = None,
    mde: float | None = None,
    alpha: float | None = None,
    pre_days: float | None = 90.0,
    guardrail_margin: float | None = None,
) -> tuple[pd.DataFrame, Evaluation]:
    """Counts from the ledger and their evaluation; the stored design fills what is not given. A
    campaign that is over and short of its planned size is called underpowered.

    Besides the counts, the evaluation gets each customer's outcome with the pre-period covariate
    of the last ``pre_days`` for CUPED (``None``: no CUPED) and the opt-out and block guardrails
    over the attribution window, harmed when a rate rises by more than ``guardrail_margin`` (absolute;
    default: the design's ``guardrail_margin``, else 0).
    """
    spec = experiment_spec(store, campaign_id)
    metric = metric or spec.get("metric", "conversion")
    counts = arm_counts(store, campaign_id, metric, reply_hours=reply_hours, attribution_hours=attribution_hours)
    counts = counts[counts["users"] > 0]
    arms = [a for a in spec.get("arms", []) if a in set(counts["arm"])] or sorted(counts["arm"])
    arms = [a for a in arms if a != "holdout"]
    if len(arms) < 2:
        raise AbTestError(
            f"campaign {campaign_id!r} has no {metric} results in two arms yet "
            f"(arms with messages sent: {', '.join(arms) or 'none'})"
        )
    shares = spec.get("shares") or None
    if shares and not all(a in shares for a in counts["arm"]):
        shares = None
    evaluation = evaluate(
        counts,
        control=arms[0],
        alpha=alpha or spec.get("alpha", 0.05),
        shares=shares,
        planned_per_arm=planned_per_arm if planned_per_arm is not None else spec.get("planned_per_arm"),
        mde=mde if mde is not None else spec.get("mde"),
        sequential=sequential,
        units=None
        if pre_days is None
        else unit_outcomes(
            store, campaign_id, metric, pre_days=pre_days, reply_hours=reply_hours, attribution_hours=attribution_hours
        ),
        guardrails={g: guardrail_counts(store, campaign_id, g, window_hours=attribution_hours) for g in GUARDRAILS},
        guardrail_margin=guardrail_margin if guardrail_margin is not None else spec.get("guardrail_margin", 0.0),
        final=campaign_over(store, campaign_id),
    )
    return counts, evaluation
