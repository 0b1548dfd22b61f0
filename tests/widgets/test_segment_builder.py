"""The segment builder driven in plain pytest: controls change, the count and views follow."""

from __future__ import annotations

import ipywidgets as W
import numpy as np
import pandas as pd
import pytest

from wamkt_nb.data.features import build_features
from wamkt_nb.data.sample import generate
from wamkt_nb.segments import PRESETS, And, Condition, Not, Or, evaluate, list_segments, load_segment
from wamkt_nb.store import open_store
from wamkt_nb.widgets.segment_builder import ConditionEditor, GroupEditor, SegmentBuilder

NOW = pd.Timestamp("2026-01-01", tz="UTC")


@pytest.fixture(scope="module")
def features():
    return build_features(generate(1_500, seed=11, now=NOW), NOW)


@pytest.fixture
def store(tmp_path):
    with open_store(tmp_path / "wamkt.db") as s:
        yield s


def conditions(group: GroupEditor) -> list[ConditionEditor]:
    return [c for c in group.items.children if isinstance(c, ConditionEditor)]


def test_empty_builder_counts_everyone_but_the_inactive(features):
    b = SegmentBuilder(features, NOW)
    inactive = int(features["tags"].map(lambda t: "inactive_90d" in t).sum())
    assert b.count == len(features) - inactive
    assert f"{inactive:,} inactive 90 d customers excluded" in b.inactive_label.value
    b.include_inactive.value = True
    assert b.count == len(features)
    assert "included" in b.inactive_label.value


def test_adding_and_editing_conditions_updates_the_live_count(features):
    b = SegmentBuilder(features, NOW)
    b.root.add_condition.click()
    row = conditions(b.root)[0]
    assert b.rule == And(Condition("order_count", ">=", 1))
    row._controls[0].value = 10.0
    expected = evaluate(And(Condition("order_count", ">=", 10)), features, NOW)
    assert b.count == expected.count and b.result.share == pytest.approx(expected.share)
    assert f"{expected.count:,}</b> customers match" in b.count_label.value
    assert list(b.customer_ids) == list(expected.customer_ids)
    assert b.mask.sum() == expected.count
    # switch the field to a category: the operator and value controls follow the column
    row.field.value = "purchase_frequency"
    assert row.op.value == "in" and isinstance(row._controls[0], W.SelectMultiple)
    assert row._controls[0].value == ("monthly",)  # a valid start: the count never goes blank
    assert b.rule == And(Condition("purchase_frequency", "in", ["monthly"])) and b.error.value == ""
    row._controls[0].value = ("monthly", "quarterly")
    assert b.rule == And(Condition("purchase_frequency", "in", ["monthly", "quarterly"]))
    assert b.count == evaluate(b.rule, features, NOW).count
    assert bytes(b.chart.value[:4]) == b"\x89PNG"
    assert (
        "IN (CAST(? AS VARCHAR), CAST(? AS VARCHAR))" in b.sql.value and "monthly" not in b.sql.value.split("params")[0]
    )
    assert "params = [&#x27;inactive_90d&#x27;, &#x27;monthly&#x27;, &#x27;quarterly&#x27;]" in b.sql.value


def test_nested_group_not_and_relative_date(features):
    b = SegmentBuilder(features, NOW)
    b.root.add_group.click()
    group = [c for c in b.root.items.children if isinstance(c, GroupEditor)][0]
    group.logic.value = "or"
    group.negate.value = True
    row = conditions(group)[0]
    row.field.value = "last_interaction_at"
    row.op.value = "within_last"
    row._controls[0].value = 30
    assert b.rule == And(Not(Or(Condition("last_interaction_at", "within_last", 30))))
    assert b.count == evaluate(b.rule, features, NOW).count
    group.remove.click()
    assert b.rule == And()


def test_tag_picker_and_remove(features):
    b = SegmentBuilder(features, NOW)
    b.root.add_condition.click()
    row = conditions(b.root)[0]
    row.field.value = "tags"
    assert row.op.value == "has_any" and isinstance(row._controls[0], W.SelectMultiple)
    last = b.count
    # an empty tag pick says what it needs in words; the count waits and says so
    row._controls[0].value = ()
    assert b.error.text == "Finish the condition 'tags has any of': pick at least one value." and b.count == last
    assert "count follows once the rule is complete" in b.count_label.value
    row._controls[0].value = ("frequent_buyer",)
    assert b.error.value == ""
    assert b.count == evaluate(PRESETS["frequent_buyers"].rule, features, NOW).count
    row.remove.click()
    assert conditions(b.root) == [] and b.rule == And()


def test_sample_masks_phones(features):
    b = SegmentBuilder(features, NOW)
    html = b.sample.value
    ids = [i for i in features["customer_id"] if i in html]
    assert 0 < len(ids) <= 8
    for phone in features.set_index("customer_id").loc[ids, "phone"]:
        assert phone not in html and phone[:6] in html and "*****" in html


def test_presets_fill_the_editor_including_inactive_on_purpose(features):
    b = SegmentBuilder(features, NOW)
    b.preset.value = "high_value_active_7d"
    assert b.rule == PRESETS["high_value_active_7d"].rule
    assert "interacted in the last 7 days" in b.description.value
    b.preset.value = "inactive_90d"
    assert b.include_inactive.value is True and b.count > 0


def test_save_load_overlap_and_comparison(features, store):
    b = SegmentBuilder(features, NOW, store=store)
    assert "no saved segments yet" in b.overlap.value
    b.set_rule(PRESETS["frequent_buyers"].rule)
    b.save_name.value = "Frequent"
    b.save_button.click()
    b.set_rule(PRESETS["active_7d"].rule)
    b.save_name.value = "Active"
    b.save_button.click()
    assert [s.name for s in list_segments(store)] == ["Active", "Frequent"]
    assert list(b.saved.options) == ["Active", "Frequent"]
    both = len(
        set(evaluate(PRESETS["frequent_buyers"].rule, features, NOW).customer_ids)
        & set(evaluate(PRESETS["active_7d"].rule, features, NOW).customer_ids)
    )
    assert f"<td>{both}</td>" in b.overlap.value
    assert "avg_order_value" in b.comparison.value and "reply_rate" in b.comparison.value
    b.saved.value = "Frequent"
    b.load_button.click()
    assert b.rule == PRESETS["frequent_buyers"].rule and b.save_name.value == "Frequent"
    b.save_name.value = "   "
    b.save_button.click()
    assert "needs a name" in b.store_message.value
    b.saved.value = "Active"
    b.delete_button.click()
    assert list(b.saved.options) == ["Frequent"]


def test_rule_json_trait_for_the_next_steps(features):
    b = SegmentBuilder(features, NOW, rule=And(Condition("country", "=", "DE")))
    seen = []
    b.observe(lambda c: seen.append(c["new"]), names="count")
    b.root.add_condition.click()
    assert '"country"' in b.rule_json and seen and seen[-1] == b.count
    assert isinstance(b.customer_ids, np.ndarray)


def test_switching_the_operator_keeps_a_value_that_fits(features):
    b = SegmentBuilder(features, NOW)
    b.root.add_condition.click()
    row = conditions(b.root)[0]
    row._controls[0].value = 10.0
    row.op.value = "<"
    assert b.rule == And(Condition("order_count", "<", 10))  # not reset to "< 0"
    row.op.value = "between"  # another control: a fresh range from the data
    assert len([c for c in row._controls if isinstance(c, W.FloatText)]) == 2


def test_an_unfinished_condition_says_what_it_needs_in_words(features):
    b = SegmentBuilder(features, NOW)
    b.root.add_condition.click()
    before = b.count
    b.root.add_condition.click()
    row = conditions(b.root)[1]
    row.field.value = "country"
    row.op.value = "contains"
    assert row._controls[0].value == ""
    assert b.error.text == "Finish the condition 'country contains': type a value."
    assert "rule." not in b.error.value and "field 'country'" not in b.error.value
    assert f"the last complete rule matched {before:,}" in b.count_label.value
    row._controls[0].value = "DE"
    assert b.error.value == "" and "customers match" in b.count_label.value


def test_fields_have_labels_and_personal_columns_are_not_offered(features):
    b = SegmentBuilder(features, NOW)
    assert not {"phone", "email", "first_name", "last_name", "name"} & set(b.fields)
    b.root.add_condition.click()
    labels = dict((v, k) for k, v in conditions(b.root)[0].field.options)
    assert labels["rfm_f"] == "RFM frequency score" and labels["opt_in_at"] == "opted in on"


def test_the_preset_picker_clears_once_the_rule_is_edited(features):
    b = SegmentBuilder(features, NOW)
    b.preset.value = "frequent_buyers"
    assert b.rule == PRESETS["frequent_buyers"].rule and b.preset.value == "frequent_buyers"
    b.root.add_condition.click()
    assert b.preset.value == ""


def test_saving_over_an_existing_name_asks_first(features, store):
    b = SegmentBuilder(features, NOW, store=store)
    b.set_rule(PRESETS["frequent_buyers"].rule)
    b.save_name.value = "VIP"
    b.save_button.click()
    b.set_rule(PRESETS["active_7d"].rule)
    b.save_button.click()  # the same name again: nothing is overwritten yet
    assert load_segment(store, "VIP").rule == PRESETS["frequent_buyers"].rule
    assert b.overwrite_box.layout.display == "flex" and "named 'VIP' exists" in b.store_message.text
    b.keep_button.click()
    assert (
        b.overwrite_box.layout.display == "none" and load_segment(store, "VIP").rule == PRESETS["frequent_buyers"].rule
    )
    b.save_button.click()
    b.overwrite_button.click()
    assert load_segment(store, "VIP").rule == PRESETS["active_7d"].rule and b.store_message.text == "Saved 'VIP'."
    b.save_name.value = "VIP 2"  # a new name saves at once
    b.save_button.click()
    assert [s.name for s in list_segments(store)] == ["VIP", "VIP 2"]
    files = b.exports.build()
    phone = str(b._members()["phone"].iloc[0]).encode()
    assert phone not in files["segment-members.csv"] and b"******" in files["segment-members.csv"]
    assert "segment-composition.png" in files
