"""Rule model, type check, NULL semantics, regex subset, presets and descriptions."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from wamkt_nb.data.features import build_features
from wamkt_nb.data.sample import generate
from wamkt_nb.segments import (
    PRESETS,
    And,
    Condition,
    FrameSchema,
    Not,
    Or,
    SegmentRuleError,
    SqlEvaluator,
    describe,
    evaluate,
    from_dict,
    from_json,
    segment_frame,
    to_json,
    to_sql,
)
from wamkt_nb.segments.regex import RegexError, translate

NOW = pd.Timestamp("2026-01-01", tz="UTC")


@pytest.fixture
def small() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": pd.array(["a", "b", "c", "d"], dtype="string"),
            "order_count": [0, 3, 10, 1],
            "avg_order_value": [np.nan, 30.0, 250.0, 60.0],
            "city": pd.array(["Berlin", None, "", "Köln"], dtype="string"),
            "purchase_frequency": pd.Categorical(
                ["none", "quarterly", "monthly", "rare"], categories=["monthly", "quarterly", "rare", "none"]
            ),
            "opted_in": [True, False, True, True],
            "last_interaction_at": pd.to_datetime(["2025-12-30", None, "2025-09-01", "2025-12-01"], utc=True),
            "tags": [
                (),
                ("quarterly_buyer", "active_7d"),
                ("monthly_buyer", "frequent_buyer", "inactive_90d"),
                ("rare_buyer",),
            ],
        }
    )


def both(rule, frame, include_inactive=True):
    """Ids from pandas and from DuckDB; the test fails if they differ."""
    a = sorted(evaluate(rule, frame, NOW, include_inactive).customer_ids)
    with SqlEvaluator(frame) as ev:
        b = sorted(ev.evaluate(rule, NOW, include_inactive).customer_ids)
    assert a == b
    return a


NESTED = And(
    Or(Condition("order_count", ">=", 3), Condition("city", "starts_with", "K")),
    Not(Condition("tags", "has_any", ["dormant_30d", "inactive_90d"])),
    Condition("last_interaction_at", "within_last", 30),
    Condition("purchase_frequency", "in", ["monthly", "rare"]),
)


def test_json_round_trip_keeps_nested_groups():
    text = to_json(NESTED)
    assert from_json(text) == NESTED
    assert from_dict(NESTED.to_dict()) == NESTED
    assert '"not"' in text and '"or"' in text
    assert Condition("city", "is_set").to_dict() == {"field": "city", "op": "is_set"}


@pytest.mark.parametrize(
    "bad, where",
    [
        ({"and": {"field": "x"}}, "rule: 'and' must hold a list"),
        ({"or": [{"field": "x", "op": ">", "value": 1, "extra": 2}]}, "rule.or[0]"),
        ([1, 2], "rule: expected an object"),
    ],
)
def test_malformed_json_names_the_node(bad, where):
    with pytest.raises(SegmentRuleError, match=__import__("re").escape(where)):
        from_dict(bad)


@pytest.mark.parametrize(
    "cond, message",
    [
        (Condition("nope", "=", 1), "unknown field"),
        (Condition("order_count", "contains", "x"), "does not fit a number column"),
        (Condition("order_count", ">", "3"), "expects a finite number"),
        (Condition("order_count", "between", [5, 1]), "low <= high"),
        (Condition("purchase_frequency", "in", ["weekly"]), "'weekly' is not a category"),
        (Condition("tags", "has_any", ["vip"]), "unknown tag 'vip'"),
        (Condition("tags", "has_any", []), "non-empty list"),
        (Condition("city", "regex", "(?=x)"), "only '(?:' is portable"),
        (Condition("last_interaction_at", "within_last", -1), "number of days"),
        (Condition("opted_in", "=", "yes"), "true or false"),
        (Condition("last_interaction_at", ">", "not a date"), "ISO date"),
    ],
)
def test_type_check_names_the_condition_and_gives_no_result(small, cond, message):
    rule = And(Condition("order_count", ">=", 0), Or(Condition("opted_in", "=", True), cond))
    for run in (lambda: evaluate(rule, small, NOW), lambda: SqlEvaluator(small).evaluate(rule, NOW)):
        with pytest.raises(SegmentRuleError) as info:
            run()
        text = str(info.value)
        assert text.startswith("rule.and[1].or[1] (field ")
        assert repr(cond.field) in text and repr(cond.op) in text and message in text


def test_relative_dates_need_an_explicit_now(small):
    with pytest.raises(SegmentRuleError, match="needs an explicit 'now'"):
        evaluate(Condition("last_interaction_at", "within_last", 7), small)


def test_null_semantics_are_documented_and_shared(small):
    # a condition on a missing value is false, even != and not_in; is_empty is true for it
    assert both(Condition("avg_order_value", "!=", 30), small) == ["c", "d"]
    assert both(Condition("city", "not_in", ["Berlin"]), small) == ["c", "d"]
    assert both(Condition("city", "is_empty"), small) == ["b", "c"]
    assert both(Condition("city", "is_set"), small) == ["a", "d"]
    assert both(Condition("tags", "is_empty"), small) == ["a"]
    assert both(Condition("last_interaction_at", "more_than_ago", 10), small) == ["c", "d"]
    # NOT negates a definite verdict: rows with a missing value come back
    assert both(Not(Condition("avg_order_value", ">", 50)), small) == ["a", "b"]
    assert both(Or(), small) == [] and both(And(), small) == ["a", "b", "c", "d"]


def test_string_ops_are_case_sensitive(small):
    assert both(Condition("city", "contains", "erl"), small) == ["a"]
    assert both(Condition("city", "contains", "ERL"), small) == []
    assert both(Condition("city", "ends_with", "ln"), small) == ["d"]
    assert both(Condition("city", "regex", r"^K.ln$"), small) == ["d"]


def test_tag_operators(small):
    assert both(Condition("tags", "has_any", ["active_7d", "rare_buyer"]), small) == ["b", "d"]
    assert both(Condition("tags", "has_all", ["monthly_buyer", "frequent_buyer"]), small) == ["c"]
    assert both(Condition("tags", "has_none", ["active_7d"]), small) == ["a", "c", "d"]


def test_within_last_is_inclusive_of_the_cutoff():
    at = NOW - pd.Timedelta(days=7)
    frame = pd.DataFrame(
        {
            "customer_id": ["x", "y"],
            "last_interaction_at": pd.Series([at, at - pd.Timedelta("1ns")]),
            "tags": [(), ()],
        }
    )
    assert both(Condition("last_interaction_at", "within_last", 7), frame) == ["x"]
    assert both(Condition("last_interaction_at", "more_than_ago", 7), frame) == ["y"]


def test_inactive_customers_are_excluded_visibly(small):
    rule = Condition("order_count", ">=", 3)
    default = evaluate(rule, small, NOW)
    assert list(default.customer_ids) == ["b"] and default.excluded_inactive == 1
    assert "1 inactive 90 d excluded" in default.summary()
    included = evaluate(rule, small, NOW, include_inactive=True)
    assert list(included.customer_ids) == ["b", "c"] and included.count == 2
    sql = SqlEvaluator(small)
    result = sql.evaluate(rule, NOW)
    assert (result.count, result.excluded_inactive) == (1, 1)
    assert sql.count(rule, NOW) == (1, 1) and sql.count(rule, NOW, include_inactive=True) == (2, 1)


def test_sql_passes_values_as_parameters_and_quotes_columns(small):
    evil = "x'); DROP TABLE features; --"
    frame = small.rename(columns={"city": 'ci"ty'})
    seg = SqlEvaluator(frame)
    pred = to_sql(Condition('ci"ty', "=", evil), seg.sf.schema)
    assert evil not in pred.sql and pred.params == (evil,)
    assert '"ci""ty"' in pred.sql
    assert seg.evaluate(Condition('ci"ty', "=", evil), NOW).count == 0
    assert seg.evaluate(Condition('ci"ty', "=", "Köln"), NOW).count == 1


@pytest.mark.parametrize(
    "pattern, python, sql",
    [
        ("a$", r"a\Z", "a$"),
        (r"\s+x", "[\\t\\n\\f\\r ]+x", "[\\t\\n\\f\\r ]+x"),
        (r"[a\s]", "[a\\t\\n\\f\\r ]", "[a\\t\\n\\f\\r ]"),
        (r"^(?:ab|c){2,3}\d", r"^(?:ab|c){2,3}\d", r"^(?:ab|c){2,3}\d"),
    ],
)
def test_regex_translation(pattern, python, sql):
    out = translate(pattern)
    assert out.python.pattern == python and out.sql == sql


@pytest.mark.parametrize(
    "pattern, postgres",
    [
        ("a.b", "a[^\\n]b"),
        (r"^\w+\d$", "^[0-9A-Za-z_]+[0-9]$"),
        (r"[\d.]", "[0-9.]"),
        (r"\bx", "(?:(?<=[0-9A-Za-z_])(?![0-9A-Za-z_])|(?<![0-9A-Za-z_])(?=[0-9A-Za-z_]))x"),
    ],
)
def test_regex_postgresql_spelling(pattern, postgres):
    assert translate(pattern).postgres == postgres


@pytest.mark.parametrize(
    "pattern",
    [
        r"(a)\1",
        "(?i)a",
        "(?P<n>a)",
        "[[:alpha:]]",
        "a{,3}",
        "a**",
        "*a",
        r"\Aa",
        "x{2000}",
        "[]a]",
        "",
    ],
)
def test_regex_outside_the_portable_subset_is_refused(pattern):
    with pytest.raises(RegexError):
        translate(pattern)


def test_regex_dialect_differences_are_translated():
    frame = pd.DataFrame({"customer_id": ["a", "b", "c"], "note": ["ab\n", "a\x0bc", "a٣"], "tags": [(), (), ()]})
    assert both(Condition("note", "regex", "b$"), frame) == []  # Python's $ would match before \n
    assert both(Condition("note", "regex", r"a\sc"), frame) == []  # Python's \s has \v, RE2's not
    assert both(Condition("note", "regex", r"a\d"), frame) == []  # ASCII digits only


@pytest.fixture(scope="module")
def features() -> pd.DataFrame:
    return build_features(generate(3_000, seed=7, now=NOW), NOW)


def test_presets_on_real_features_agree_and_follow_the_tags(features):
    with SqlEvaluator(features) as ev:
        for key, p in PRESETS.items():
            a = evaluate(p.rule, features, NOW, p.include_inactive)
            b = ev.evaluate(p.rule, NOW, p.include_inactive)
            assert sorted(a.customer_ids) == sorted(b.customer_ids), key
            assert 0 < a.count < len(features), key
    tags = features["tags"]
    hv = evaluate(PRESETS["high_value_active_7d"].rule, features, NOW)
    expected = tags.map(lambda t: "active_7d" in t and ("aov_50_200" in t or "aov_over_200" in t))
    assert hv.count == int(expected.sum())
    inactive = evaluate(PRESETS["inactive_90d"].rule, features, NOW, include_inactive=False)
    assert inactive.count == 0 and inactive.excluded_inactive == int(tags.map(lambda t: "inactive_90d" in t).sum())


def test_real_features_nested_rule_agrees(features):
    rule = And(
        Or(Condition("avg_order_value", ">=", 50), Condition("rfm_score", "starts_with", "5")),
        Not(Condition("country", "in", ["US", "BR"])),
        Condition("last_order_at", "within_last", 60),
        Condition("interaction_recency", "!=", "dormant_30d"),
        Condition("reply_rate", "between", [0.05, 1]),
        Condition("phone", "regex", r"^\+49(15|16)"),
    )
    ids = both(rule, features, include_inactive=False)
    assert 0 < len(ids) < len(features)


def test_sql_for_a_warehouse_needs_only_the_columns(features):
    schema = FrameSchema.of(features.head(0))
    assert schema.kinds["tags"] == "tags" and schema.kinds["purchase_frequency"] == "category"
    pred = to_sql(PRESETS["high_value_active_7d"].rule, schema)
    assert pred.params == (["aov_50_200", "aov_over_200"], ["active_7d"])
    assert pred.sql.count("list_has_any") == 2


def test_segment_frame_is_prepared_once(features):
    assert segment_frame(features) is segment_frame(features)


def test_describe_in_plain_language():
    rule = And(Condition("tags", "has_any", ["frequent_buyer"]), Condition("tags", "has_any", ["active_7d"]))
    assert describe(rule, include_inactive=False) == (
        "frequent buyers and interacted in the last 7 days, excluding inactive 90 d"
    )
    assert describe(PRESETS["high_value_active_7d"].rule) == (
        "(average order 50-200 or average order over 200) and interacted in the last 7 days"
    )
    assert describe(Not(Condition("last_interaction_at", "within_last", 30))) == (
        "not (last interaction in the last 30 days)"
    )
    assert describe(Condition("order_count", "between", [2, 5.0])) == "orders between 2 and 5"
    assert describe(Condition("last_order_at", ">=", "2025-06-01")) == "last order on or after 2025-06-01"
    assert describe(Condition("opted_in", "=", False)) == "not opted in"
    assert describe(Or()) == "no one" and describe(And()) == "all customers"


def test_sql_evaluator_can_share_a_connection(small):
    con = duckdb.connect()
    with SqlEvaluator(small, connection=con, table="first") as ev:
        assert ev.evaluate(Condition("order_count", ">=", 3), NOW, include_inactive=True).count == 2
    assert con.execute("SELECT 1").fetchall() == [(1,)]  # still open for the next frame
    with SqlEvaluator(small.iloc[:2], connection=con) as ev:
        assert ev.count(Condition("order_count", ">=", 3), NOW) == (1, 0)
    con.close()
