"""Saved segments in a real SQLite store; overlap and comparison tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from wamkt_nb.clock import ManualClock
from wamkt_nb.data.features import build_features
from wamkt_nb.data.sample import generate
from wamkt_nb.segments import (
    PRESETS,
    And,
    Condition,
    compare_segments,
    delete_segment,
    evaluate,
    evaluate_saved,
    list_segments,
    load_segment,
    overlap_counts,
    save_segment,
)
from wamkt_nb.store import open_store

pytestmark = pytest.mark.both_stores

NOW = pd.Timestamp("2026-01-01", tz="UTC")


@pytest.fixture(scope="module")
def features():
    return build_features(generate(2_000, seed=3, now=NOW), NOW)


def test_save_load_update_delete(store, tmp_path):
    clock = ManualClock(1_000.0)
    rule = And(Condition("order_count", ">=", 3), Condition("last_interaction_at", "within_last", 7))
    saved = save_segment(store, " loyal ", rule, clock=clock)
    assert (saved.name, saved.rule, saved.include_inactive) == ("loyal", rule, False)
    assert saved.description == "orders at least 3 and last interaction in the last 7 days, excluding inactive 90 d"
    clock.advance(60)
    updated = save_segment(store, "loyal", PRESETS["inactive_90d"].rule, include_inactive=True, clock=clock)
    assert (updated.created_at, updated.updated_at) == (1_000.0, 1_060.0)
    assert updated.include_inactive and updated.rule == PRESETS["inactive_90d"].rule
    store.close()
    with open_store(store.target) as again:  # it really is stored
        assert [s.name for s in list_segments(again)] == ["loyal"]
        assert delete_segment(again, "loyal") and not delete_segment(again, "loyal")
        with pytest.raises(KeyError, match="no saved segment named 'loyal'"):
            load_segment(again, "loyal")
    with pytest.raises(ValueError, match="needs a name"):
        save_segment(open_store(tmp_path / "x.db"), "  ", rule)


def test_overlap_counts_match_set_intersections(store, features):
    for key in ("frequent_buyers", "active_7d", "high_value_active_7d"):
        save_segment(store, key, PRESETS[key].rule, PRESETS[key].include_inactive)
    results = evaluate_saved(store, features, NOW)
    table = overlap_counts(results)
    assert list(table.index) == ["active_7d", "frequent_buyers", "high_value_active_7d"]
    ids = {k: set(r.customer_ids) for k, r in results.items()}
    for a in ids:
        for b in ids:
            assert table.loc[a, b] == len(ids[a] & ids[b])
    # high value + active is inside active
    assert table.loc["high_value_active_7d", "active_7d"] == table.loc["high_value_active_7d", "high_value_active_7d"]


def test_comparison_table(features):
    results = {k: evaluate(p.rule, features, NOW, p.include_inactive) for k, p in PRESETS.items()}
    table = compare_segments(features, results)
    for key, result in results.items():
        members = features[result.mask]
        row = table.loc[key]
        assert row["customers"] == len(members)
        assert row["total_spend"] == pytest.approx(members["total_spend"].sum())
        assert row["avg_order_value"] == pytest.approx(members["total_spend"].sum() / members["order_count"].sum())
        assert row["read_rate"] == pytest.approx(members["read_rate"].mean())
        assert row["reply_rate"] == pytest.approx(members["reply_rate"].mean())
    assert table.loc["high_order_value", "avg_order_value"] > table.loc["frequent_buyers", "avg_order_value"]
    assert np.isclose(table.loc["active_7d", "share"], results["active_7d"].count / len(features))
