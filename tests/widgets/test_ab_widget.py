"""The planner and results widgets driven in plain pytest: set values, read traits and core state."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from helpers.experiments import T0, experiment_store

from wamkt_nb.abtest import evaluate, guardrail_counts, plan_test, unit_outcomes
from wamkt_nb.cli import main
from wamkt_nb.ledger import create_campaign
from wamkt_nb.store import open_store
from wamkt_nb.widgets.ab_planner import AbPlanner, parse_allocation
from wamkt_nb.widgets.ab_results import AbResults


def test_planner_shows_the_core_plan_and_a_power_curve():
    w = AbPlanner(baseline=0.05, segment_size=100_000)
    expected = plan_test(0.05, 0.10, 100_000, relative=True)
    assert w.plan.sample.per_arm == expected.sample.per_arm
    assert f"{expected.sample.total:,} customers" in w.summary.value
    assert "fits the segment" in w.summary.value
    assert w.chart.value[:4] == b"\x89PNG"
    first_chart = w.chart.value

    w.mde_kind.value = "absolute"
    w.mde.value = 1.0  # one point: 5 % -> 6 %
    assert w.plan.sample.target == pytest.approx(0.06)
    w.arms.value = 3
    w.allocation.value = "50/25/25"
    assert w.plan.sample.shares["A"] == pytest.approx(0.5) and "C" in w.plan.sample.per_arm
    w.holdout.value = 10
    assert w.plan.sample.per_arm["holdout"] > 0
    w.tier.value = "TIER_250"
    assert w.plan.duration.daily_capacity == 250 and "messaging tier" in w.summary.value
    w.segment_size.value = 1_000
    assert "segment too small" in w.summary.value
    assert w.chart.value != first_chart


def test_planner_shows_the_cuped_sample_size_beside_the_plain_one():
    w = AbPlanner(baseline=0.05, segment_size=100_000)
    assert "with CUPED" not in w.summary.value
    w.cuped_rho.value = 0.5
    plain = w.plan.sample.per_arm["A"]
    assert w.plan.sample.per_arm_cuped["A"] == math.ceil(plain * 0.75 - 1e-9)
    assert "with CUPED" in w.summary.value and f"{w.plan.sample.per_arm_cuped['B']:,}" in w.summary.value
    assert f"{w.plan.sample.total - w.plan.sample.total_cuped:,} fewer" in w.summary.value
    assert w.plan.sample.spec()["cuped_rho"] == 0.5


def test_planner_shows_bad_input_as_a_message_and_keeps_the_last_plan():
    w = AbPlanner()
    good = w.plan
    w.allocation.value = "50/abc"
    assert "allocation" in w.error.value and "Traceback" not in w.error.value
    assert w.plan is good
    w.allocation.value = ""
    w.mde_kind.value = "absolute"
    w.mde.value = 99.0  # 5 % + 99 points is beyond 100 %
    assert "outside 0..1" in w.error.value
    w.mde.value = 1.0
    assert w.error.value == "" and w.plan is not good


def test_parse_allocation():
    assert parse_allocation("2:1:1", 3) == [2.0, 1.0, 1.0]
    assert parse_allocation(" ", 2) is None


def test_results_view_shows_verdict_table_and_chart(tmp_path):
    store = experiment_store(tmp_path / "w.db")
    view = AbResults(store)
    assert view.experiment.value == "cmp-ab"
    expected = evaluate({"A": (60, 1_000), "B": (95, 1_000)})
    assert view.evaluation.verdict == expected.verdict
    assert "Winner: B" in view.verdict.value
    assert "1,000" in view.table.value and "(control)" in view.table.value
    assert "+58.3%" in view.table.value  # 9.5 % vs 6 %
    assert "2,375.00" in view.table.value  # B's revenue: 95 orders of 25
    assert view.chart.value[:4] == b"\x89PNG"
    assert "+4915" not in view.table.value + view.verdict.value  # never a phone number
    # the verdict is marked by its border class, its words keep the theme's font colour (dark theme)
    assert "wamkt-status-ok" in view.verdict.value and "color:" not in view.verdict.value
    files = view.exports.build()
    assert b"B" in files["ab-results.csv"] and files["ab-intervals.png"][:4] == b"\x89PNG"
    view.metric.value = "read"  # nothing read: still evaluated, no winner
    assert view.evaluation.verdict.kind != "winner"
    view.metric.value = "conversion"
    view.attribution.value = 1  # orders came 1 h after the message: outside a 1-hour window
    assert view.evaluation.table["successes"].sum() == 0
    store.close()


def test_results_view_with_planned_size_and_peeking(tmp_path):
    store = experiment_store(
        tmp_path / "w.db",
        b=(130, 1_000),
        spec={"metric": "conversion", "planned_per_arm": 5_000, "mde": 0.02, "shares": {"A": 0.5, "B": 0.5}},
    )
    view = AbResults(store)
    assert view.evaluation.verdict.kind == "not enough data yet" and "1,000 of 5,000" in view.verdict.value
    view.sequential.value = True
    assert view.evaluation.verdict.winner == "B" and "always-valid p" in view.verdict.value
    store.close()


def test_results_view_without_experiments_says_so(tmp_path):
    store = open_store(tmp_path / "empty.db")
    view = AbResults(store)
    assert view.evaluation is None and "No experiments yet" in view.verdict.value
    store.close()


def test_results_view_before_anything_was_sent(tmp_path):
    store = experiment_store(tmp_path / "w.db")
    store.execute("UPDATE sends SET state = 'planned'")
    view = AbResults(store)
    assert view.evaluation is None and "no conversion results in two arms yet" in view.verdict.value
    store.close()


def test_cli_results_shows_the_same_verdict(tmp_path, capsys):
    experiment_store(tmp_path / "w.db").close()
    assert main(["ab", "results", "--db", str(tmp_path / "w.db")]) == 0
    assert "cmp-ab  spring  Spring  arms=A,B  recipients=2,000" in capsys.readouterr().out
    assert main(["ab", "results", "cmp-ab", "--db", str(tmp_path / "w.db")]) == 0
    out = capsys.readouterr().out
    assert "Winner: B. B reaches 9.50% vs 6.00% for A" in out and "95/1,000 = 9.50%" in out
    assert main(["ab", "results", "nope", "--db", str(tmp_path / "w.db")]) == 2
    assert "no campaign 'nope'" in capsys.readouterr().err


def test_refresh_picks_up_new_experiments_and_keeps_the_choice(tmp_path):
    store = experiment_store(tmp_path / "w.db")
    view = AbResults(store)
    plan = pd.DataFrame(
        {
            "customer_id": ["x1"],
            "phone": ["+4917000000001"],
            "outcome": "send",
            "reason": "",
            "category": "marketing",
            "message_type": "text",
            "body": "Hi",
            "payload": [{"type": "text"}],
            "planned_at": T0,
            "arm": ["A"],
        }
    )
    create_campaign(
        store,
        plan,
        name="Later",
        now=T0 + 86_400,
        campaign_id="cmp-new",
        experiment_key="later",
        spec={"experiment": {"metric": "read"}},
    )
    view.refresh.click()
    assert [v for _, v in view.experiment.options] == ["cmp-new", "cmp-ab"]
    assert view.experiment.value == "cmp-ab" and "Winner: B" in view.verdict.value
    view.experiment.value = "cmp-new"
    assert view.metric.value == "read"  # the design's metric
    assert "no read results in two arms yet" in view.verdict.value
    store.close()


def test_results_view_shows_cuped_and_guardrails_from_the_ledger(tmp_path):
    store = experiment_store(tmp_path / "g.db")
    # pre-period orders (10 days before): most of those who convert now bought before, few others did
    buyers = [f"A{i}" for i in range(50)] + [f"B{i}" for i in range(80)] + ["A500", "B500", "B501"]
    store.executemany(
        "INSERT INTO conversions (order_id, customer_id, at, amount) VALUES (?, ?, ?, 10.0)",
        [(f"pre{cid}", cid, T0 - 10 * 86_400) for cid in buyers],
    )
    # B's recipients opt out far more often (phones: A0.. = +4915000000000.., B0.. from +4915000001000)
    store.executemany(
        "INSERT INTO consent (phone, marketing, changed_at, source) VALUES (?, 0, ?, 'keyword')",
        [(f"+4915{n:09d}", T0 + 5_000) for n in [*range(5), *range(1_000, 1_060)]],
    )
    view = AbResults(store)
    ev = view.evaluation
    assert ev.cuped is not None and ev.cuped.set_index("arm").at["B", "variance_reduction"] > 0.3
    assert "Plain vs CUPED" in view.table.value and "With CUPED" in ev.verdict.reason
    assert ev.verdict.kind == "guardrail harmed" and "Guardrail harmed" in view.verdict.value
    assert "opt-out" in view.table.value and "harmed" in view.table.value
    assert "+4915" not in view.table.value + view.verdict.value
    units = unit_outcomes(store, "cmp-ab", "conversion")
    assert units.groupby("arm")["y"].sum().to_dict() == {"A": 60, "B": 95}  # as arm_counts counts
    assert units["x"].sum() == len(buyers)
    store.close()


def test_block_guardrail_counts_later_undeliverable_messages(tmp_path):
    store = experiment_store(tmp_path / "b.db")
    blocked = [f"B{i}" for i in range(30)] + ["A0"]
    phones = {f"B{i}": f"+4915{1_000 + i:09d}" for i in range(30)} | {"A0": f"+4915{0:09d}"}
    later = pd.DataFrame(
        {
            "customer_id": blocked,
            "phone": [phones[c] for c in blocked],
            "outcome": "send",
            "reason": "",
            "category": "marketing",
            "message_type": "text",
            "body": "Hi",
            "payload": [{"type": "text"}] * len(blocked),
            "planned_at": T0 + 86_400,
        }
    )
    create_campaign(store, later, name="Later", now=T0 + 86_400, campaign_id="cmp-later")
    store.execute(
        "UPDATE sends SET state = 'failed', error_code = 131026, failed_at = ? WHERE campaign_id = 'cmp-later'",
        (T0 + 86_400 + 60,),
    )
    counts = guardrail_counts(store, "cmp-ab", "block").set_index("arm")
    assert counts.loc["A", ["users", "successes"]].tolist() == [1_000, 1]
    assert counts.loc["B", ["users", "successes"]].tolist() == [1_000, 30]
    assert guardrail_counts(store, "cmp-ab", "block", window_hours=1)["successes"].sum() == 0  # a day later
    view = AbResults(store)
    assert view.evaluation.verdict.kind == "guardrail harmed" and "block rate" in view.evaluation.verdict.reason
    store.close()


def test_planner_with_an_unmeasured_baseline_and_an_empty_segment_says_so():
    """Notebook 06 after a daytime send: nobody eligible, the baseline is NaN."""
    w = AbPlanner(baseline=float("nan"), segment_size=0, metric="read")
    assert w.baseline.value == 5.0 and w.segment_size.value == 0
    assert "baseline could not be measured" in w.note.text and "segment is empty" in w.note.text
    assert w.plan is not None and not w.plan.duration.feasible
    assert w.error.level == "warn" and "too small for this test" in w.error.text and "Next:" in w.error.text
    assert "wamkt-bad" in w.summary.value and "color:" not in w.summary.value
    w.segment_size.value = 1_000_000
    assert w.plan.duration.feasible and w.error.value == "" and "wamkt-good" in w.summary.value
    files = w.exports.build()
    assert {"ab-plan.csv", "ab-power-curve.svg"} <= set(files)


def test_planner_inputs_keep_their_width_whatever_the_plan_says():
    w = AbPlanner(baseline=0.05, segment_size=10)
    inputs = w.children[1].children[0]
    assert inputs.layout.min_width == "350px" and inputs.layout.flex == "0 0 auto"
    assert all(c.layout.min_width == "340px" for c in (w.metric, w.baseline, w.alpha, w.tier))
    assert w.children[1].layout.flex_flow == "row wrap"
