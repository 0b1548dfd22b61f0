"""Property: for random rules over random data pandas and SQL pick the same ids.

SQL here is the one compiler (``wamkt_nb.segments.sql``) in each dialect:

* DuckDB: the frame registered in process, the parameterised query executed.
* PostgreSQL: a real server (the ``postgres_url`` fixture), the frame inserted into a table, the
  parameterised query executed through psycopg. PostgreSQL keeps microseconds, so these examples
  use times and rule values at microsecond precision.
* BigQuery and Snowflake: no server here. Their text (values inlined by ``inline_sql``) must parse
  back in its own dialect with sqlglot, and, when sqlglot can transpile it to DuckDB and DuckDB runs
  it, the result must equal pandas. That proves the text is well-formed for sqlglot's grammar of the
  dialect and that its logic (NULL handling, group structure, operators) is right as far as
  sqlglot's translation preserves it; it does NOT prove that the warehouse itself accepts every
  function or gives the same answer (its regex engine, collation and array semantics are its own).
"""

from __future__ import annotations

import dataclasses

import duckdb
import numpy as np
import pandas as pd
import psycopg
import pytest
import sqlglot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wamkt_nb.segments import (
    And,
    Condition,
    Not,
    Or,
    SqlEvaluator,
    evaluate,
    inline_sql,
    segment_frame,
    segment_query,
    to_json,
)

NOW = pd.Timestamp("2026-01-01 12:00", tz="UTC")
NUMBERS = [np.nan, -1.5, 0.0, 1.0, 2.0, 2.5, 3.0, 100.0]
TEXTS = [None, "", "a", "ab", "Ab", "b\n", "ba", "äb", "a b", "a\x0bb", "٣"]
CATS = [None, "x", "y", "z"]
TAGS = ["active_7d", "inactive_90d", "frequent_buyer", "dormant_30d"]
DAY = pd.Timedelta(days=1)
TIMES = [None] + [
    NOW - d
    for d in (
        0 * DAY,
        DAY,
        7 * DAY,
        7 * DAY + pd.Timedelta("1ns"),
        7 * DAY - pd.Timedelta("1ns"),
        7 * DAY + pd.Timedelta("1us"),
        30 * DAY,
        90.5 * DAY,
        400 * DAY,
    )
]
PATTERNS = [
    "^a",
    "b$",
    "a.b",
    r"\s",
    r"^\w+$",
    "[ab]+",
    "^(?:a|b)b",
    "ä",
    r"a\sb",
    r"\d",
    "[^a]",
    r"\bb",
    r"b\B",
    r"[\d\w]b",
    r"\W",
    "b.$",
]


@st.composite
def frames(draw) -> pd.DataFrame:
    n = draw(st.integers(0, 30))

    def col(values):
        return draw(st.lists(st.sampled_from(values), min_size=n, max_size=n))

    return pd.DataFrame(
        {
            "customer_id": pd.array([f"c{i}" for i in range(n)], dtype="string"),
            "amount": pd.Series(col(NUMBERS), dtype="float64"),
            "count": pd.Series(draw(st.lists(st.integers(0, 4), min_size=n, max_size=n)), dtype="int64"),
            "text": pd.array(col(TEXTS), dtype="string"),
            "band": pd.Categorical(col(CATS), categories=["x", "y", "z"]),
            "flag": pd.array(col([True, False, None]), dtype="boolean"),
            "seen_at": pd.Series(pd.to_datetime(pd.Series(col(TIMES), dtype=object), utc=True)).dt.as_unit("ns"),
            "tags": pd.Series(
                [
                    None if t is None else tuple(t)
                    for t in col(
                        [
                            None,
                            (),
                            ("active_7d",),
                            ("inactive_90d",),
                            ("frequent_buyer", "active_7d"),
                            ("dormant_30d", "frequent_buyer"),
                        ]
                    )
                ],
                dtype=object,
            ),
        }
    )


def values(strategy, k=3):
    return st.lists(strategy, min_size=1, max_size=k)


number = st.sampled_from([x for x in NUMBERS if not np.isnan(x)] + [1, 3])
text = st.sampled_from([t for t in TEXTS if t is not None])
iso = st.sampled_from([t.isoformat() for t in TIMES if t is not None])
presence = st.sampled_from(["is_set", "is_empty"])

conditions = st.one_of(
    st.builds(
        Condition, st.sampled_from(["amount", "count"]), st.sampled_from(["=", "!=", ">", ">=", "<", "<="]), number
    ),
    st.builds(
        lambda f, a, b: Condition(f, "between", [min(a, b), max(a, b)]),
        st.sampled_from(["amount", "count"]),
        number,
        number,
    ),
    st.builds(Condition, st.sampled_from(["amount", "count"]), st.sampled_from(["in", "not_in"]), values(number)),
    st.builds(Condition, st.sampled_from(["text"]), st.sampled_from(["=", "!="]), text),
    st.builds(Condition, st.just("text"), st.sampled_from(["in", "not_in"]), values(text)),
    st.builds(
        Condition,
        st.just("text"),
        st.sampled_from(["contains", "starts_with", "ends_with"]),
        st.sampled_from(["a", "b", "ä", "\n", " ", "A"]),
    ),
    st.builds(Condition, st.just("text"), st.just("regex"), st.sampled_from(PATTERNS)),
    st.builds(Condition, st.just("band"), st.sampled_from(["=", "!="]), st.sampled_from(["x", "y", "z"])),
    st.builds(Condition, st.just("band"), st.sampled_from(["in", "not_in"]), values(st.sampled_from(["x", "y", "z"]))),
    st.builds(Condition, st.just("flag"), st.sampled_from(["=", "!="]), st.booleans()),
    st.builds(
        Condition,
        st.just("seen_at"),
        st.sampled_from(["within_last", "more_than_ago"]),
        st.sampled_from([0, 1, 7, 30, 90, 2.5]),
    ),
    st.builds(Condition, st.just("seen_at"), st.sampled_from([">", ">=", "<", "<="]), iso),
    st.builds(lambda a, b: Condition("seen_at", "between", sorted([a, b], key=pd.Timestamp)), iso, iso),
    st.builds(
        Condition, st.just("tags"), st.sampled_from(["has_any", "has_all", "has_none"]), values(st.sampled_from(TAGS))
    ),
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
    out += [
        Condition(f, op)
        for f in ("amount", "count", "text", "band", "flag", "seen_at", "tags")
        for op in ("is_set", "is_empty")
    ]
    return out


def every_kind_frame(n: int = 64) -> pd.DataFrame:
    """64 customers drawing every interesting value of every kind (seeded)."""
    rng = np.random.default_rng(5)

    def pick(values):
        return [values[i] for i in rng.integers(0, len(values), n)]

    return pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "amount": pick(NUMBERS),
            "count": rng.integers(0, 4, n),
            "text": pd.array(pick(TEXTS), dtype="string"),
            "band": pd.Categorical(pick(CATS), categories=["x", "y", "z"]),
            "flag": pd.array(pick([True, False, None]), dtype="boolean"),
            "seen_at": pd.to_datetime(pd.Series(pick(TIMES), dtype=object), utc=True).dt.as_unit("ns"),
            "tags": pick([None, (), ("active_7d",), ("inactive_90d", "frequent_buyer"), ("dormant_30d",)]),
        }
    )


def test_every_operator_agrees_on_every_kind_of_value():
    frame = every_kind_frame()
    with SqlEvaluator(frame) as ev:
        for cond in every_condition():
            for rule in (cond, Not(cond)):
                a = sorted(evaluate(rule, frame, NOW, include_inactive=True).customer_ids)
                b = sorted(ev.evaluate(rule, NOW, include_inactive=True).customer_ids)
                assert a == b, to_json(rule)


# --- PostgreSQL ------------------------------------------------------------------------------

PG_COLUMNS = (
    '"customer_id" TEXT, "amount" DOUBLE PRECISION, "count" BIGINT, "text" TEXT, "band" TEXT, '
    '"flag" BOOLEAN, "seen_at" TIMESTAMPTZ, "tags" TEXT[]'
)


def to_microseconds(frame: pd.DataFrame, rule):
    """The frame's times and the rule's time values floored to the microsecond (PostgreSQL's precision)."""
    frame = frame.assign(seen_at=frame["seen_at"].dt.floor("us"))

    def fix(node):
        if isinstance(node, Condition):
            if node.field == "seen_at" and node.op in (">", ">=", "<", "<=", "between"):

                def floor(v):
                    return pd.Timestamp(v).floor("us").isoformat()

                value = tuple(map(floor, node.value)) if isinstance(node.value, tuple) else floor(node.value)
                return dataclasses.replace(node, value=value)
            return node
        if isinstance(node, Not):
            return Not(fix(node.child))
        return type(node)(*[fix(c) for c in node.children])

    return frame, fix(rule)


def pg_rows(frame: pd.DataFrame) -> list[tuple]:
    def cell(v):
        if isinstance(v, tuple):
            return list(v)
        if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and np.isnan(v)):
            return None
        if isinstance(v, pd.Timestamp):
            return v.to_pydatetime()
        return v.item() if isinstance(v, np.generic) else v

    return [tuple(cell(v) for v in row) for row in frame.astype(object).itertuples(index=False)]


@pytest.fixture(scope="module")
def pg(postgres_url):
    with psycopg.connect(postgres_url, autocommit=True) as con:
        con.execute(f"CREATE TABLE IF NOT EXISTS features ({PG_COLUMNS})")
        yield con


def pg_evaluate(con, frame: pd.DataFrame, rule, include_inactive: bool):
    """(ids, count, excluded_inactive) of the rule run by PostgreSQL over the frame."""
    sf = segment_frame(frame)
    q = segment_query(rule, sf.schema, NOW, dialect="postgres")
    with con.transaction():
        con.execute("TRUNCATE features")
        with con.cursor() as cur:
            cur.executemany("INSERT INTO features VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", pg_rows(frame))
        rows = con.execute(q.sql, q.params).fetchall()
    active = [cid for cid, inactive in rows if not inactive]
    ids = [cid for cid, _ in rows] if include_inactive else active
    return sorted(ids), len(ids), len(rows) - len(active)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=frames(), rule=rules, include_inactive=st.booleans())
def test_pandas_and_postgresql_pick_the_same_customers(pg, frame, rule, include_inactive):
    frame, rule = to_microseconds(frame, rule)
    a = evaluate(rule, frame, NOW, include_inactive)
    ids, count, excluded = pg_evaluate(pg, frame, rule, include_inactive)
    assert sorted(a.customer_ids) == ids, to_json(rule)
    assert (a.count, a.excluded_inactive) == (count, excluded)


def test_every_operator_agrees_in_postgresql(pg):
    frame = every_kind_frame()
    frame, _ = to_microseconds(frame, And())
    for cond in every_condition():
        for rule in (cond, Not(cond)):
            _, rule = to_microseconds(frame, rule)
            a = sorted(evaluate(rule, frame, NOW, include_inactive=True).customer_ids)
            assert a == pg_evaluate(pg, frame, rule, include_inactive=True)[0], to_json(rule)


def test_postgresql_quotes_hostile_column_names_and_values(pg):
    frame = pd.DataFrame({"customer_id": ["a", "b"], 'ci"%ty': ["Köln", "x'; DROP TABLE features; --"]})
    rule = Condition('ci"%ty', "in", ["x'; DROP TABLE features; --", "%s"])
    q = segment_query(rule, segment_frame(frame).schema, dialect="postgres")
    assert "DROP" not in q.sql
    with pg.transaction():
        pg.execute('CREATE TEMP TABLE hostile ("customer_id" TEXT, "ci""%ty" TEXT)')
        pg.execute("INSERT INTO hostile VALUES ('a', 'Köln'), ('b', 'x''; DROP TABLE features; --')")
        rows = pg.execute(q.sql.replace('FROM "features"', 'FROM "hostile"'), q.params).fetchall()
        pg.execute("DROP TABLE hostile")
    assert rows == [("b", False)]
    assert 'WHERE COALESCE(("ci""%ty" IN (' in inline_sql(q)


# --- BigQuery and Snowflake (text only) ---------------------------------------------------------


def warehouse_check(duck, frame: pd.DataFrame, rule, dialect: str) -> bool:
    """Parse the dialect's text back; if sqlglot's DuckDB transpilation runs, compare with pandas.

    Returns whether the transpiled text ran (False: sqlglot has no DuckDB spelling DuckDB accepts)."""
    text = inline_sql(segment_query(rule, segment_frame(frame).schema, NOW, dialect=dialect))
    sqlglot.parse_one(text, read=dialect)  # raises on text the dialect's grammar rejects
    [duck_text] = sqlglot.transpile(text, read=dialect, write="duckdb")
    try:
        rows = duck.execute(duck_text).fetchall()
    except duckdb.Error:
        return False
    expected = sorted(evaluate(rule, frame, NOW, include_inactive=True).customer_ids)
    assert sorted(cid for cid, _ in rows) == expected, f"{dialect}: {to_json(rule)}\n{duck_text}"
    return True


@pytest.mark.parametrize("dialect", ["bigquery", "snowflake"])
def test_warehouse_text_parses_and_transpiles_to_the_same_customers(dialect):
    frame = every_kind_frame()
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    with SqlEvaluator(frame, connection=con):
        ran = sum(
            warehouse_check(con, frame, rule, dialect) for cond in every_condition() for rule in (cond, Not(cond))
        )
    con.close()
    print(f"{dialect}: {ran} of {2 * len(every_condition())} conditions transpiled to DuckDB and agreed")
