"""Guardrails (opt-out and block rates): a one-sided harm test, and a verdict that names no harmful winner."""

from __future__ import annotations

import pytest
from scipy import stats

from wamkt_nb.abtest import AbTestError, evaluate
from wamkt_nb.abtest.frequentist import harm_test

WIN = {"A": (600, 10_000), "B": (700, 10_000)}


def test_harm_test_against_hand_computed_z():
    diff, p = harm_test(30, 1_000, 10, 1_000)
    se = (0.03 * 0.97 / 1_000 + 0.01 * 0.99 / 1_000) ** 0.5
    assert diff == pytest.approx(0.02)
    assert p == pytest.approx(stats.norm.sf(0.02 / se))
    _, p_margin = harm_test(30, 1_000, 10, 1_000, margin=0.02)
    assert p_margin == pytest.approx(0.5)  # exactly at the margin
    assert harm_test(5, 1_000, 10, 1_000)[1] > 0.9  # fewer opt-outs: no harm
    assert harm_test(0, 100, 0, 100) == (0.0, 1.0)
    with pytest.raises(AbTestError, match="margin"):
        harm_test(1, 10, 1, 10, margin=-0.1)


def test_a_winner_that_harms_a_guardrail_is_not_named():
    plain = evaluate(WIN)
    assert plain.verdict.kind == "winner" and plain.verdict.winner == "B"
    guarded = evaluate(
        WIN,
        guardrails={"opt_out": {"A": (20, 10_000), "B": (60, 10_000)}, "block": {"A": (5, 10_000), "B": (6, 10_000)}},
    )
    assert guarded.verdict.kind == "guardrail harmed" and guarded.verdict.winner is None
    assert "B would win" in guarded.verdict.reason and "opt-out rate is 0.60% vs 0.20%" in guarded.verdict.reason
    assert "block" not in guarded.verdict.reason.split("No winner")[0]  # the block rate is not harmed
    assert guarded.verdict.headline == "Guardrail harmed"
    table = guarded.guardrails.set_index("guardrail")
    assert bool(table.at["opt_out", "harmed"]) and not bool(table.at["block", "harmed"])


def test_a_rise_within_the_margin_keeps_the_winner():
    counts = {"opt_out": {"A": (20, 10_000), "B": (40, 10_000)}}
    assert evaluate(WIN, guardrails=counts).verdict.kind == "guardrail harmed"
    within = evaluate(WIN, guardrails=counts, guardrail_margin=0.005)  # +0.2 pp allowed up to +0.5 pp
    assert within.verdict.winner == "B"
    assert within.guardrails["p_one_sided"].iloc[0] > 0.05


def test_guardrails_check_every_treatment_and_need_every_arm():
    counts = {"A": (600, 10_000), "B": (700, 10_000), "C": (610, 10_000)}
    ev = evaluate(counts, guardrails={"opt_out": {"A": (20, 10_000), "B": (21, 10_000), "C": (90, 10_000)}})
    assert ev.verdict.winner == "B"  # C harms, but C is not the winner
    assert ev.guardrails.set_index("arm").at["C", "harmed"]
    with pytest.raises(AbTestError, match="opt_out.*C"):
        evaluate(counts, guardrails={"opt_out": {"A": (1, 10_000), "B": (1, 10_000)}})
