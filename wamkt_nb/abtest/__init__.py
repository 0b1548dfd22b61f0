"""A/B tests for message campaigns: plan the sample size and duration, assign arms, evaluate.

Statistics are small pure functions with named formulas (in the style of GrowthBook's gbstats),
tested against statsmodels and textbook values; only numpy and scipy at runtime.
"""

from ..ledger.experiments import GUARDRAILS, METRICS
from ..ledger.states import HOLDOUT
from .assignment import assign_arms, bucket, ledger_arms, strata_from
from .bayes import chance_to_beat_control
from .cuped import ArmMoments, cuped_sample_size, cuped_table
from .errors import AbTestError
from .evaluation import Evaluation, Verdict, evaluate
from .experiment import evaluate_campaign, experiment_spec
from .frequentist import (
    absolute_difference_interval,
    harm_test,
    holm_adjust,
    relative_lift_interval,
    two_proportion_ztest,
    wilson_interval,
)
from .outcomes import arm_counts, experiments, guardrail_counts, unit_outcomes
from .planning import (
    DurationPlan,
    SamplePlan,
    TestPlan,
    detectable_effect,
    plan_duration,
    plan_sample_size,
    plan_test,
    power_at,
    power_curve,
)
from .sequential import sequential_interval
from .srm import SrmResult, srm_check

__all__ = [
    "AbTestError",
    "ArmMoments",
    "GUARDRAILS",
    "cuped_sample_size",
    "cuped_table",
    "guardrail_counts",
    "harm_test",
    "unit_outcomes",
    "DurationPlan",
    "Evaluation",
    "HOLDOUT",
    "METRICS",
    "SamplePlan",
    "SrmResult",
    "TestPlan",
    "Verdict",
    "absolute_difference_interval",
    "arm_counts",
    "assign_arms",
    "bucket",
    "chance_to_beat_control",
    "detectable_effect",
    "evaluate",
    "evaluate_campaign",
    "experiment_spec",
    "experiments",
    "holm_adjust",
    "ledger_arms",
    "plan_duration",
    "plan_sample_size",
    "plan_test",
    "power_at",
    "power_curve",
    "relative_lift_interval",
    "sequential_interval",
    "srm_check",
    "strata_from",
    "two_proportion_ztest",
    "wilson_interval",
]
