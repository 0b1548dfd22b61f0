"""Property: for random rules over random data the pandas and DuckDB evaluators pick the same ids."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wamkt_nb.segments import And, Condition, Not, Or, SqlEvaluator, evaluate, to_json

NOW = pd.Timestamp("2026-01-01 12:00", tz="UTC")
NUMBERS = [np.nan, -1.5, 0.0, 1.0, 2.0, 2.5, 3.0, 100.0]
TEXTS = [None, "", "a", "ab", "Ab", "b\n", "ba", "äb", "a b", "a\x0bb", "٣"]
CATS = [None, "x", "y", "z"]
TAGS = ["active_7d", "inactive_90d", "frequent_buyer", "dormant_30d"]
DAY = pd.Timedelta(days=1)
TIMES = [None] + [NOW - d for d in (0 * DAY, DAY, 7 * DAY, 7 * DAY + pd.Timedelta("1ns"),
                                    7 * DAY - pd.Timedelta("1ns"), 7 * DAY + pd.Timedelta("1us"),
                                    30 * DAY, 90.5 * DAY, 400 * DAY)]
PATTERNS = ["^a", "b$", "a.b", r"\s", r"^\w+$", "[ab]+", "^(?:a|b)b", "ä", r"a\sb", r"\d", "[^a]"]


@st.composite
def frames(draw) -> pd.DataFrame:
    n = draw(st.integers(0, 30))
    col = lambda values: draw(st.lists(st.sampled_from(values), min_size=n, max_size=n))
    return pd.DataFrame({
        "customer_id": pd.array([f"c{i}" for i in range(n)], dtype="string"),
        "amount": pd.Series(col(NUMBERS), dtype="float64"),
        "count": pd.Series(draw(st.lists(st.integers(0, 4), min_size=n, max_size=n)), dtype="int64"),
        "text": pd.array(col(TEXTS), dtype="string"),
        "band": pd.Categorical(col(CATS), categories=["x", "y", "z"]),
        "flag": pd.array(col([True, False, None]), dtype="boolean"),
        "seen_at": pd.Series(pd.to_datetime(pd.Series(col(TIMES), dtype=object), utc=True)).dt.as_unit("ns"),
        "tags": pd.Series(
            [None if t is None else tuple(t) for t in col([None, (), ("active_7d",), ("inactive_90d",),
                                                           ("frequent_buyer", "active_7d"),
                                                           ("dormant_30d", "frequent_buyer")])],
            dtype=object,
        ),
    })


def values(strategy, k=3):
    return st.lists(strategy, min_size=1, max_size=k)


number = st.sampled_from([x for x in NUMBERS if not np.isnan(x)] + [1, 3])
text = st.sampled_from([t for t in TEXTS if t is not None])
iso = st.sampled_from([t.isoformat() for t in TIMES if t is not None])
presence = st.sampled_from(["is_set", "is_empty"])

conditions = st.one_of(
    st.builds(Condition, st.sampled_from(["amount", "count"]),
              st.sampled_from(["=", "!=", ">", ">=", "<", "<="]), number),
    st.builds(lambda f, a, b: Condition(f, "between", [min(a, b), max(a, b)]),
              st.sampled_from(["amount", "count"]), number, number),
    st.builds(Condition, st.sampled_from(["amount", "count"]), st.sampled_from(["in", "not_in"]), values(number)),
    st.builds(Condition, st.sampled_from(["text"]), st.sampled_from(["=", "!="]), text),
    st.builds(Condition, st.just("text"), st.sampled_from(["in", "not_in"]), values(text)),
    st.builds(Condition, st.just("text"), st.sampled_from(["contains", "starts_with", "ends_with"]),
              st.sampled_from(["a", "b", "ä", "\n", " ", "A"])),
    st.builds(Condition, st.just("text"), st.just("regex"), st.sampled_from(PATTERNS)),
    st.builds(Condition, st.just("band"), st.sampled_from(["=", "!="]), st.sampled_from(["x", "y", "z"])),
    st.builds(Condition, st.just("band"), st.sampled_from(["in", "not_in"]), values(st.sampled_from(["x", "y", "z"]))),
    st.builds(Condition, st.just("flag"), st.sampled_from(["=", "!="]), st.booleans()),
    st.builds(Condition, st.just("seen_at"), st.sampled_from(["within_last", "more_than_ago"]),
              st.sampled_from([0, 1, 7, 30, 90, 2.5])),
    st.builds(Condition, st.just("seen_at"), st.sampled_from([">", ">=", "<", "<="]), iso),
    st.builds(lambda a, b: Condition("seen_at", "between", sorted([a, b], key=pd.Timestamp)), iso, iso),
    st.builds(Condition, st.just("tags"), st.sampled_from(["has_any", "has_all", "has_none"]),
              values(st.sampled_from(TAGS))),
    st.builds(Condition, st.sampled_from(["amount", "count", "text", "band", "flag", "seen_at", "tags"]), presence),
)

rules = st.recursive(
    conditions,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda c: And(*c)),
        st.lists(inner, max_size=3).map(lambda c: Or(*c)),
        inner.map(Not),
    ),
    max_leaves=8,
)


@pytest.fixture(scope="module")
def duck():
    con = duckdb.connect()
    yield con
    con.close()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=frames(), rule=rules, include_inactive=st.booleans())
def test_pandas_and_duckdb_pick_the_same_customers(duck, frame, rule, include_inactive):
    a = evaluate(rule, frame, NOW, include_inactive)
    with SqlEvaluator(frame, connection=duck) as ev:
        b = ev.evaluate(rule, NOW, include_inactive)
    assert sorted(a.customer_ids) == sorted(b.customer_ids), to_json(rule)
    assert (a.count, a.excluded_inactive) == (b.count, b.excluded_inactive)


def every_condition() -> list[Condition]:
    """Each operator of each kind with every interesting value, for an exhaustive check."""
    nums = [x for x in NUMBERS if not np.isnan(x)]
    texts = [t for t in TEXTS if t is not None]
    isos = [t.isoformat() for t in TIMES if t is not None]
    out = []
    for f in ("amount", "count"):
        out += [Condition(f, op, v) for op in ("=", "!=", ">", ">=", "<", "<=") for v in nums]
        out += [Condition(f, op, [v, 2.5]) for op in ("in", "not_in") for v in nums]
        out += [Condition(f, "between", [v, 3.0]) for v in nums if v <= 3]
    out += [Condition("text", op, v) for op in ("=", "!=", "contains", "starts_with", "ends_with") for v in texts if v]
    out += [Condition("text", op, [v, "a"]) for op in ("in", "not_in") for v in texts]
    out += [Condition("text", "regex", p) for p in PATTERNS]
    out += [Condition("band", op, v) for op in ("=", "!=") for v in "xyz"]
    out += [Condition("band", op, [v]) for op in ("in", "not_in") for v in "xyz"]
    out += [Condition("flag", op, v) for op in ("=", "!=") for v in (True, False)]
    out += [Condition("seen_at", op, d) for op in ("within_last", "more_than_ago") for d in (0, 1, 7, 30, 90, 2.5)]
    out += [Condition("seen_at", op, v) for op in (">", ">=", "<", "<=") for v in isos]
    out += [Condition("tags", op, [t]) for op in ("has_any", "has_all", "has_none") for t in TAGS]
    out += [Condition(f, op) for f in ("amount", "count", "text", "band", "flag", "seen_at", "tags")
            for op in ("is_set", "is_empty")]
    return out


def test_every_operator_agrees_on_every_kind_of_value():
    n = 64
    rng = np.random.default_rng(5)
    pick = lambda values: [values[i] for i in rng.integers(0, len(values), n)]
    frame = pd.DataFrame({
        "customer_id": [f"c{i}" for i in range(n)],
        "amount": pick(NUMBERS), "count": rng.integers(0, 4, n),
        "text": pd.array(pick(TEXTS), dtype="string"),
        "band": pd.Categorical(pick(CATS), categories=["x", "y", "z"]),
        "flag": pd.array(pick([True, False, None]), dtype="boolean"),
        "seen_at": pd.to_datetime(pd.Series(pick(TIMES), dtype=object), utc=True).dt.as_unit("ns"),
        "tags": pick([None, (), ("active_7d",), ("inactive_90d", "frequent_buyer"), ("dormant_30d",)]),
    })
    with SqlEvaluator(frame) as ev:
        for cond in every_condition():
            for rule in (cond, Not(cond)):
                a = sorted(evaluate(rule, frame, NOW, include_inactive=True).customer_ids)
                b = sorted(ev.evaluate(rule, NOW, include_inactive=True).customer_ids)
                assert a == b, to_json(rule)
