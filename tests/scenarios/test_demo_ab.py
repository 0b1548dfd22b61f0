"""The default demo's A/B test, played alone: the customers and campaigns of the default demo up
to the A/B campaign and one day of reads after it. The test is planned by our planner from these
customers' read rate. The sandbox's draws are a function of (seed, customer, message) and simulated time
stands still while sending, so seed 42 on a fixed day gives one verdict on every run: B wins, short of its
plan, and no guardrail (opt-outs, blocks: nothing planted) is harmed beyond the demo's margin."""

from __future__ import annotations

import pandas as pd

from wamkt_nb.abtest import evaluate_campaign, experiment_spec, plan_sample_size
from wamkt_nb.data.sample import generate
from wamkt_nb.scenarios.demo import AB_GUARDRAIL_MARGIN, AB_METRIC, AB_PLANNED_MDE, DEFAULT_CAMPAIGNS, play_history
from wamkt_nb.store import open_store
from wamkt_nb.widgets.ab_results import AbResults

DEMO_CUSTOMERS = 2_000  # ``wamkt demo``'s default
END = pd.Timestamp("2026-12-02", tz="UTC")  # a fixed day: the customers' local hours (DST) depend on it


def test_the_default_demo_ab_test_is_planned_and_calls_b(tmp_path):
    campaigns = [c for c in DEFAULT_CAMPAIGNS if c.day <= next(c.day for c in DEFAULT_CAMPAIGNS if c.ab_test)]
    days = campaigns[-1].day + 1.5  # reads come within hours; the read outcome counts them all
    start = END - pd.Timedelta(days=days)
    store = open_store(tmp_path / "wamkt.db")
    result = play_history(
        store,
        generate(DEMO_CUSTOMERS, seed=42, now=start),
        start=start.timestamp(),
        days=days,
        campaigns=campaigns,
        log=lambda _line: None,
    )
    assert result.skipped == []
    campaign_id = result.campaign_ids[-1]
    spec = experiment_spec(store, campaign_id)
    assert spec["metric"] == AB_METRIC == "read" and spec["power"] == 0.8 and spec["method"] == "arcsine"
    assert 0.3 < spec["baseline"] < 0.9  # measured from the earlier campaigns, away from the ceiling
    plan = plan_sample_size(spec["baseline"], AB_PLANNED_MDE, relative=True, power=0.8)
    assert spec["planned_per_arm"] == plan.per_arm["A"] == plan.per_arm["B"]
    assert spec["guardrail_margin"] == AB_GUARDRAIL_MARGIN

    counts, evaluation = evaluate_campaign(store, campaign_id)
    has = int(counts["users"].min())
    verdict = evaluation.verdict
    assert (verdict.kind, verdict.winner) == ("winner", "B"), str(verdict)
    assert has < spec["planned_per_arm"]  # short of plan, a significant B still wins, and the verdict says so
    assert f"{has:,} users in its smallest arm of the {spec['planned_per_arm']:,} planned" in verdict.reason
    guardrails = evaluation.guardrails.set_index("guardrail")
    assert set(guardrails.index) == {"opt_out", "block"} and not guardrails["harmed"].any()
    no_margin = evaluate_campaign(store, campaign_id, guardrail_margin=0.0)[1].guardrails.set_index("guardrail")
    assert (guardrails["p_one_sided"] > no_margin["p_one_sided"]).all()  # the stored margin was applied
    shown = AbResults(store)
    assert shown.metric.value == "read" and verdict.headline in shown.verdict.value
    store.close()
