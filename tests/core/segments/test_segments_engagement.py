"""Retargeting conditions on a real SQLite ledger: each engagement state picks exactly the customers
whose messages are in it, "within N days" bounds by when the message went out, and pandas and
DuckDB (the SQL compiler) pick the same customers for every state, campaign and window."""

from __future__ import annotations

import itertools

import pandas as pd
import pytest

from wamkt_nb.ledger.engagement import engagement_facts
from wamkt_nb.segments import (
    And,
    Condition,
    Not,
    Or,
    SegmentRuleError,
    SqlEvaluator,
    describe,
    engagement_condition,
    evaluate,
    from_json,
    inline_sql,
    segment_query,
    to_json,
    with_engagement,
)
from wamkt_nb.segments.engagement import STATES, column_name, expand
from wamkt_nb.segments.frame import segment_frame
from wamkt_nb.store import open_store

NOW = pd.Timestamp("2026-06-01 12:00", tz="UTC")
HOUR = 3600.0
SPRING = NOW.timestamp() - 3 * 86_400  # three days ago
SUMMER = NOW.timestamp() - 20 * 86_400  # twenty days ago

# customer, campaign, state, error code, sent, delivered, read (hours after sending; None: never)
SENDS = [
    ("c0", "spring", "read", None, 0, 0.1, 0.2),
    ("c1", "spring", "read", None, 0, 0.1, 0.5),
    ("c2", "spring", "delivered", None, 0, 0.1, None),
    ("c3", "spring", "sent", None, 0, None, None),
    ("c4", "spring", "failed", 131049, None, None, None),
    ("c5", "spring", "failed", 131026, None, None, None),
    ("c6", "spring", "excluded", None, None, None, None),
    ("c7", "spring", "read", None, 0, 0.1, 0.3),
    ("c1", "summer", "delivered", None, 0, 0.2, None),
    ("c8", "summer", "read", None, 0, 0.2, 1.0),
]
CUSTOMERS = [f"c{i}" for i in range(10)]  # c9 never got a message


def _fill(store) -> None:
    """Write the ledger of SENDS, the replies, orders and clicks."""
    with store.transaction() as conn:
        for campaign, created in (("spring", SPRING), ("summer", SUMMER)):
            conn.execute(
                "INSERT INTO campaigns (campaign_id, name, category, created_at) VALUES (?, ?, 'marketing', ?)",
                (campaign, campaign, created),
            )
        for customer, campaign, state, code, sent, delivered, read in SENDS:
            start = SPRING if campaign == "spring" else SUMMER
            at = lambda h, start=start: None if h is None else start + h * HOUR  # noqa: E731
            conn.execute(
                "INSERT INTO sends (campaign_id, recipient_key, customer_id, phone, arm, state, reason, error_code,"
                " planned_at, accepted_at, sent_at, delivered_at, read_at, failed_at, updated_at)"
                " VALUES (?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    campaign,
                    f"{campaign}:{customer}",
                    customer,
                    f"+49151{customer[1:]:0>7}",
                    state,
                    "holdout" if state == "excluded" else None,
                    code,
                    start,
                    at(sent),
                    at(sent),
                    at(delivered),
                    at(read),
                    start + 60 if state == "failed" else None,
                    start,
                ),
            )
        replies = [("c0", SPRING + 2 * HOUR), ("c7", SPRING + 30 * HOUR)]  # c7's comes after the 24 h window
        for n, (customer, ts) in enumerate(replies):
            conn.execute(
                "INSERT INTO inbound_messages (wamid, wa_id, phone, type, timestamp, payload_json,"
                " received_at) VALUES (?, ?, ?, 'text', ?, '{}', ?)",
                (f"in{n}", f"49151{customer[1:]:0>7}", f"+49151{customer[1:]:0>7}", ts, ts),
            )
        conn.execute(
            "INSERT INTO conversions (order_id, customer_id, at, amount) VALUES ('o1', 'c7', ?, 20)",
            (SPRING + 5 * HOUR,),
        )
        conn.execute(
            "INSERT INTO conversions (order_id, customer_id, at, amount) VALUES ('o2', 'c2', ?, 20)",
            (SPRING - 5 * HOUR,),
        )  # before the message: not a conversion
        conn.execute(
            "INSERT INTO link_clicks (click_id, token, campaign_id, recipient_key, customer_id, at, agent,"
            " human) VALUES ('k1', 't1', 'spring', 'spring:c7', 'c7', ?, 'mobile', 1)",
            (SPRING + HOUR,),
        )
        conn.execute(
            "INSERT INTO link_clicks (click_id, token, campaign_id, recipient_key, customer_id, at, agent,"
            " human) VALUES ('k2', 't2', 'spring', 'spring:c2', 'c2', ?, 'preview', 0)",
            (SPRING + HOUR,),
        )


@pytest.fixture()
def store(store_target):
    """The ledger above in a fresh store, on SQLite and on PostgreSQL (the team store)."""
    with open_store(store_target) as store:
        _fill(store)
        yield store


def features() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": CUSTOMERS,
            "order_count": [0, 1, 2, 3, 4, 0, 1, 2, 3, 4],
            "tags": [("inactive_90d",) if c == "c5" else () for c in CUSTOMERS],
        }
    )


def picked(store, rule, include_inactive=True) -> list[str]:
    frame = with_engagement(features(), engagement_facts(store), rule)
    return sorted(evaluate(rule, frame, NOW, include_inactive).customer_ids)


EXPECTED = {  # (campaign, state) -> customers, from the table above
    ("spring", "got"): ["c0", "c1", "c2", "c3", "c7"],
    ("spring", "not_delivered"): ["c3", "c4", "c5"],
    ("spring", "delivered_not_read"): ["c2"],
    ("spring", "read_no_reply"): ["c1", "c7"],
    ("spring", "replied"): ["c0"],
    ("spring", "clicked"): ["c7"],
    ("spring", "converted"): ["c7"],
    ("spring", "held_by_meta"): ["c4"],
    ("spring", "failed"): ["c5"],
    ("summer", "delivered_not_read"): ["c1"],
    ("summer", "read_no_reply"): ["c8"],
    ("summer", "replied"): [],
    (None, "read_no_reply"): ["c1", "c7", "c8"],
    (None, "delivered_not_read"): ["c1", "c2"],
}


@pytest.mark.parametrize(("campaign", "state"), list(EXPECTED))
def test_each_state_picks_exactly_its_customers(store, campaign, state):
    assert picked(store, engagement_condition(campaign, state)) == EXPECTED[campaign, state]


def test_within_days_bounds_by_when_the_message_went_out(store):
    assert picked(store, engagement_condition(None, "read_no_reply", 7)) == ["c1", "c7"]
    assert picked(store, engagement_condition(None, "read_no_reply", 30)) == ["c1", "c7", "c8"]
    assert picked(store, engagement_condition("summer", "delivered_not_read", 7)) == []
    assert picked(store, engagement_condition("spring", "got", 2)) == []


def test_negation_and_combination_include_customers_without_messages(store):
    never_got = Not(engagement_condition(None, "got"))
    assert picked(store, never_got) == ["c4", "c5", "c6", "c9"]
    rule = And(engagement_condition("spring", "read_no_reply"), Condition("order_count", ">=", 2))
    assert picked(store, rule) == ["c7"]
    assert picked(store, engagement_condition("spring", "failed"), include_inactive=False) == []


def test_the_rule_round_trips_as_json_and_reads_plainly():
    rule = Or(engagement_condition("spring", "read_no_reply", 7), engagement_condition(None, "held_by_meta"))
    assert from_json(to_json(rule)) == rule
    assert describe(rule) == "read, no reply (spring) in the last 7 days or held by Meta (any campaign)"


@pytest.mark.parametrize(
    "bad",
    [
        Condition("campaign:spring", "opened", None),
        Condition("campaign:spring", "replied", -1),
        Condition("campaign:spring", "replied", "7"),
        Condition("campaign:", "replied", None),
    ],
)
def test_a_malformed_engagement_condition_is_named(bad):
    with pytest.raises(SegmentRuleError, match="rule.and\\[1\\]"):
        expand(And(Condition("order_count", ">", 0), bad))


def test_a_campaign_not_loaded_is_an_unknown_field(store):
    frame = with_engagement(features(), engagement_facts(store, ["spring"]), engagement_condition("spring", "got"))
    with pytest.raises(SegmentRuleError, match="unknown field"):
        evaluate(engagement_condition("summer", "got"), frame, NOW)


def every_rule():
    for campaign, state, days in itertools.product(["spring", "summer", None], STATES, [None, 0, 2.5, 7, 30]):
        cond = engagement_condition(campaign, state, days)
        yield cond
        yield Not(cond)
        yield And(cond, Condition("order_count", ">", 1))
        yield Or(Not(cond), engagement_condition(None, "clicked", days))


def test_pandas_and_duckdb_pick_the_same_customers_for_every_state(store):
    frame = with_engagement(features(), engagement_facts(store))
    assert {column_name(None, s) for s in STATES} <= set(frame.columns)
    with SqlEvaluator(frame) as ev:
        for rule in every_rule():
            for include_inactive in (True, False):
                a = evaluate(rule, frame, NOW, include_inactive)
                b = ev.evaluate(rule, NOW, include_inactive)
                assert sorted(a.customer_ids) == sorted(b.customer_ids), to_json(rule)
                assert (a.count, a.excluded_inactive) == (b.count, b.excluded_inactive)


@pytest.mark.parametrize("dialect", ["postgres", "bigquery", "snowflake"])
def test_the_warehouse_text_reads_the_engagement_column(store, dialect):
    frame = with_engagement(features(), engagement_facts(store))
    query = segment_query(
        engagement_condition("spring", "read_no_reply", 7), segment_frame(frame).schema, NOW, dialect=dialect
    )
    text = inline_sql(query)
    assert "engagement:spring:read_no_reply" in text and "2026-05-25" in text


# --- property: random ledgers, random rules -------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from wamkt_nb.ledger.engagement import FACTS  # noqa: E402

OFFSETS = [0.0, 86_400.0, 7 * 86_400.0 - 1e-6, 7 * 86_400.0, 7 * 86_400.0 + 1e-6, 30 * 86_400.0]


@st.composite
def ledgers(draw) -> pd.DataFrame:
    """Engagement facts as the ledger gives them: sends of c0..c7 in campaigns a/b, any flags."""
    n = draw(st.integers(0, 20))
    rows = [
        {
            "campaign_id": draw(st.sampled_from(["a", "b"])),
            "customer_id": f"c{draw(st.integers(0, 7))}",
            "at": NOW.timestamp() - draw(st.sampled_from(OFFSETS)),
            **{f: draw(st.booleans()) for f in FACTS},
        }
        for _ in range(n)
    ]
    return pd.DataFrame(rows, columns=["campaign_id", "customer_id", "at", *FACTS])


engagement_rules = st.recursive(
    st.one_of(
        st.builds(
            engagement_condition,
            st.sampled_from(["a", "b", None]),
            st.sampled_from(list(STATES)),
            st.sampled_from([None, 0, 1, 7, 30]),
        ),
        st.builds(Condition, st.just("order_count"), st.sampled_from([">", "<=", "="]), st.integers(0, 4)),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda c: And(*c)),
        st.lists(inner, max_size=3).map(lambda c: Or(*c)),
        inner.map(Not),
    ),
    max_leaves=6,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(facts=ledgers(), rule=engagement_rules, include_inactive=st.booleans())
def test_pandas_and_duckdb_agree_on_random_ledgers_and_rules(facts, rule, include_inactive):
    base = features().iloc[:8]
    frame = with_engagement(base, facts)
    for name in {column_name(c, s) for c in ("a", "b", None) for s in STATES} - set(frame.columns):  # no sends
        frame[name] = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[us, UTC]")
    a = evaluate(rule, frame, NOW, include_inactive)
    with SqlEvaluator(frame) as ev:
        b = ev.evaluate(rule, NOW, include_inactive)
    assert sorted(a.customer_ids) == sorted(b.customer_ids), to_json(rule)


def test_pandas_and_postgresql_pick_the_same_customers_for_every_state(postgres_server, tmp_path):
    """The postgres dialect of the compiled rule, run by a real server over the same columns."""
    import psycopg  # noqa: PLC0415 (as the property test: only the PostgreSQL tests need it)

    with open_store(tmp_path / "w.db") as sqlite_store:
        _fill(sqlite_store)
        frame = with_engagement(features(), engagement_facts(sqlite_store))
    columns = [c for c in frame.columns if c.startswith("engagement:")]
    ddl = ", ".join(
        ['"customer_id" TEXT', '"order_count" BIGINT', '"tags" TEXT[]'] + [f'"{c}" TIMESTAMPTZ' for c in columns]
    )
    rows = [
        (r.customer_id, int(r.order_count), list(r.tags), *(None if pd.isna(t) else t.to_pydatetime() for t in r[3:]))
        for r in frame[["customer_id", "order_count", "tags", *columns]].itertuples(index=False)
    ]
    url = postgres_server.create_database("wamkt_engagement")
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(f"CREATE TABLE features ({ddl})")
        with con.cursor() as cur:
            cur.executemany(f"INSERT INTO features VALUES ({', '.join(['%s'] * (3 + len(columns)))})", rows)
        schema = segment_frame(frame).schema
        for rule in every_rule():
            q = segment_query(rule, schema, NOW, dialect="postgres")
            got = con.execute(q.sql, q.params).fetchall()
            expected = evaluate(rule, frame, NOW, include_inactive=True)
            assert sorted(c for c, _ in got) == sorted(expected.customer_ids), to_json(rule)
