"""The segment builder's retargeting condition on a real SQLite ledger: a campaign field with the
engagement states and a "within" choice, a live count equal to the evaluator's, save and load."""

from __future__ import annotations

import ipywidgets as W
import pandas as pd
import pytest

from wamkt_nb.data.features import build_features
from wamkt_nb.data.sample import generate
from wamkt_nb.ledger.engagement import engagement_facts
from wamkt_nb.segments import (
    And,
    Condition,
    engagement_condition,
    evaluate,
    load_segment,
    save_segment,
    with_engagement,
)
from wamkt_nb.store import open_store
from wamkt_nb.widgets.preview import MessagePreview
from wamkt_nb.widgets.segment_builder import ConditionEditor, SegmentBuilder

NOW = pd.Timestamp("2026-01-01", tz="UTC")


@pytest.fixture(scope="module")
def features():
    return build_features(generate(300, seed=4, now=NOW), NOW)


@pytest.fixture
def store(tmp_path, features):
    """Campaign "winter" ten days ago to 60 customers: every third read, every third delivered only,
    the rest failed (every second of those held by Meta)."""
    sent = NOW.timestamp() - 10 * 86_400
    with open_store(tmp_path / "w.db") as store:
        with store.transaction() as conn:
            conn.execute(
                "INSERT INTO campaigns (campaign_id, name, category, created_at)"
                " VALUES ('winter', 'winter', 'marketing', ?)",
                (sent,),
            )
            for i, customer in enumerate(features["customer_id"][:60]):
                state = ("read", "delivered", "failed")[i % 3]
                conn.execute(
                    "INSERT INTO sends (campaign_id, recipient_key, customer_id, phone, state, error_code, planned_at,"
                    " sent_at, delivered_at, read_at, failed_at, updated_at)"
                    " VALUES ('winter', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        f"winter:{i}",
                        customer,
                        f"+4915100{i:05d}",
                        state,
                        (131049 if i % 2 else 131026) if state == "failed" else None,
                        sent,
                        None if state == "failed" else sent,
                        None if state == "failed" else sent + 60,
                        sent + 120 if state == "read" else None,
                        sent + 5 if state == "failed" else None,
                        sent,
                    ),
                )
        yield store


def test_the_campaign_field_offers_the_states_and_counts_live(features, store):
    b = SegmentBuilder(features, NOW, store=store)
    assert b.fields[-2:] == ["campaign:*", "campaign:winter"]
    assert not any(f.startswith("engagement:") for f in b.fields)  # the raw columns are not offered
    b.root.add_condition.click()
    row = [c for c in b.root.items.children if isinstance(c, ConditionEditor)][0]
    row.field.value = "campaign:winter"
    assert row.field.label == "campaign winter"
    assert row.op.value == "read_no_reply" and ("read, no reply", "read_no_reply") in row.op.options
    assert ("held by Meta", "held_by_meta") in row.op.options
    window = row._controls[0]
    assert isinstance(window, W.Dropdown) and window.value is None
    frame = with_engagement(features, engagement_facts(store))
    for op, days in (
        ("read_no_reply", None),
        ("delivered_not_read", None),
        ("held_by_meta", None),
        ("held_by_meta", 30),
        ("held_by_meta", 7),
    ):
        row.op.value = op  # the window control is rebuilt, keeping its choice
        window = row._controls[0]
        window.value = days
        rule = And(engagement_condition("winter", op, days))
        assert b.rule == rule
        expected = evaluate(rule, frame, NOW, include_inactive=False).count
        assert b.count == expected, (op, days)
    assert b.count == 0  # sent ten days ago: nothing within 7 days
    window.value = 30
    assert b.count > 0 and "held by Meta (winter) in the last 30 days" in b.description.value
    assert "engagement:winter:held_by_meta" in b.sql.value


def test_a_retargeting_segment_saves_and_loads(features, store):
    b = SegmentBuilder(features, NOW, store=store)
    rule = And(engagement_condition(None, "failed", 30), Condition("order_count", ">=", 0))
    b.set_rule(rule)
    assert b.count > 0 and b.error.value == ""
    assert b.save("winter failures")
    assert load_segment(store, "winter failures").rule == rule
    again = SegmentBuilder(features, NOW, store=store)
    again.load("winter failures")
    assert again.rule == rule and again.count == b.count


def test_without_a_ledger_there_is_no_campaign_field(features, tmp_path):
    with open_store(tmp_path / "empty.db") as empty:
        b = SegmentBuilder(features, NOW, store=empty)
    assert not any(f.startswith("campaign:") for f in b.fields)


def test_the_message_preview_offers_a_saved_retargeting_segment(features, store):
    rule = engagement_condition("winter", "delivered_not_read")
    save_segment(store, "winter unread", rule)
    preview = MessagePreview(features, now=NOW, text="Hallo {{first_name}}", store=store)
    preview.segment.value = "saved: winter unread"
    expected = evaluate(rule, with_engagement(features, engagement_facts(store)), NOW, include_inactive=False)
    assert sorted(preview.audience["customer_id"]) == sorted(expected.customer_ids) != []
