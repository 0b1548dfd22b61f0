"""The funnel and failure tables the database computes (``ledger.aggregates`` through
``analytics.stored``) on SQLite and PostgreSQL: against a hand-computed ledger, and equal to the
pandas tables (``enrich`` + ``funnel``/``failures``) on random ledgers, so the two cannot drift;
and the per-campaign rollups (``ledger.rollups``) equal to the live figures after any write."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from helpers.ledger_rows import clear_rows, phone, write_rows
from helpers.plans import make_plan
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wamkt_nb import ledger
from wamkt_nb.analytics import MetricOptions, enrich, failures, funnel, funnel_stages, load_ledger
from wamkt_nb.analytics.stored import stored_failures, stored_funnel, stored_stages, stored_tables
from wamkt_nb.campaigns.worker import FOLD_SECONDS, JsonLog, Worker
from wamkt_nb.clock import ManualClock
from wamkt_nb.currency import ExchangeRates
from wamkt_nb.ledger import rollups
from wamkt_nb.ledger.aggregates import COUNTS, Selection, stage_counts
from wamkt_nb.ledger.rollups import (
    CampaignFigures,
    LiveFigures,
    compute_rollups,
    fold_changes,
    fold_oldest,
    read_rollups,
    store_rollups,
)
from wamkt_nb.ledger.states import STATES
from wamkt_nb.store import open_store

pytestmark = pytest.mark.both_stores

T0 = pd.Timestamp("2026-03-02 10:00", tz="UTC").timestamp()
T1 = T0 + 86_400
MIN = 60.0
RATES = ExchangeRates("EUR", {"EUR": 1.0, "USD": 0.5})
OPTIONS = MetricOptions(rates=RATES)

CAMPAIGNS = [("A", "Spring", T0, "frequent_buyers"), ("B", "Blast", T1, None)]
SENDS = [
    # campaign, customer n, state, error, accepted, sent, delivered, read, failed
    ("A", 1, "read", None, T0, T0 + 1, T0 + 10, T0 + 60, None),
    ("A", 2, "delivered", None, T0, T0 + 1.5, T0 + 20, None, None),
    ("A", 3, "failed", 131026, T0, None, None, None, T0 + 30),
    ("A", 4, "excluded", None, None, None, None, None, None),
    ("A", 5, "read", None, T0, T0 + 2, None, T0 + 300, None),  # read without a delivered status
    ("B", 1, "read", None, T1, T1, T1 + 5, T1 + 100, None),
    ("B", 6, "delivered", None, T1, T1 + 0.5, T1 + 5, None, None),
    ("B", 7, "failed", 131049, T1, None, None, None, T1 + 60),  # held by Meta, not failed
    ("B", 8, "planned", None, None, None, None, None, None),
]
INBOUND = [(1, T0 + 2 * MIN), (1, T0 + 5 * MIN), (9, T0 + 60 * MIN), (5, T0 + 25 * 3600), (1, T1 + 40 * MIN)]
CONVERSIONS = [
    ("o1", 2, T0 + 2 * 86_400, 50.0, "EUR"),
    ("o2", 1, T1 + 3600, 60.0, "USD"),  # 30 EUR
    ("o3", 3, T0 + 3600, 99.0, "EUR"),  # to a failed message: earns nothing
    ("o4", 6, T1 + 10 * 86_400, 20.0, "EUR"),  # after the 7 day window
]
CLICKS = [("A", 2, T0 + 30, 1), ("B", 6, T1 + 9, 0)]  # B's is a bot's


def send_row(campaign, n, state, error, accepted, sent, delivered, read, failed):
    return (campaign, f"{campaign}:{n}", f"C{n}", phone(n), state, error, accepted, sent, delivered, read, failed)


def rows(sends):
    return [(*send_row(*s), None, "template", T1) for s in sends]


@pytest.fixture
def known(store):
    write_rows(store, CAMPAIGNS, rows(SENDS), INBOUND, CONVERSIONS, CLICKS)
    return store


def test_funnel_per_campaign_from_the_database(known):
    table = stored_funnel(known, ("campaign_id", "campaign_name", "segment"), options=OPTIONS)
    assert table["campaign_id"].tolist() == ["A", "B"]
    assert table["segment"].tolist() == ["frequent_buyers", "unsegmented"]
    a, b = table.set_index("campaign_id").to_dict("index").values()
    stages = ("attempted", "accepted", "sent", "delivered", "read", "clicked", "replied", "converted")
    assert [a[s] for s in stages] == [4, 4, 3, 3, 2, 1, 1, 1]
    assert [b[s] for s in stages] == [3, 3, 2, 2, 1, 0, 1, 1]
    assert (a["failed"], a["held"], a["excluded"], b["failed"], b["held"]) == (1, 0, 1, 0, 1)
    assert (a["revenue"], b["revenue"]) == (50.0, 30.0)
    assert a["read_rate"] == pytest.approx(2 / 3) and b["conversion_rate"] == pytest.approx(0.5)


def test_windows_and_selection(known):
    wide = MetricOptions(rates=RATES, reply_window=pd.Timedelta(hours=26), attribution_window=pd.Timedelta(days=11))
    table = stored_funnel(known, ("campaign_id",), options=wide).set_index("campaign_id")
    assert (table.loc["A", "replied"], table.loc["B", "revenue"]) == (2, 50.0)
    only_b = stored_funnel(known, ("segment",), Selection(since=T1, until=T1 + 86_400), OPTIONS)
    assert only_b["segment"].tolist() == ["unsegmented"] and only_b["attempted"].tolist() == [3]
    vip = stored_funnel(known, ("segment",), Selection(segment="frequent_buyers"), OPTIONS)
    assert vip["attempted"].tolist() == [4]
    assert stored_funnel(known, ("campaign_id",), Selection(campaign="nope"), OPTIONS).empty


def test_stages_and_failures(known):
    stages = stored_stages(known, options=OPTIONS).set_index("stage")
    assert stages.loc["attempted", "count"] == 7 and stages.loc["read", "share"] == pytest.approx(3 / 7)
    table = stored_failures(known).set_index("error_code")
    assert table.loc[131026, ["count", "outcome"]].tolist() == [1, "failed"]
    assert table.loc[131026, "share_of_attempted"] == pytest.approx(1 / 7)
    assert table.loc[131049, "outcome"] == "held by Meta"
    per_campaign = stored_failures(known, ("campaign_id",)).set_index("campaign_id")
    assert per_campaign.loc["A", "share_of_attempted"] == pytest.approx(1 / 4)


def test_empty_ledger(store):
    assert stored_funnel(store, ("campaign_id",)).empty
    assert stored_stages(store)["count"].sum() == 0
    assert stored_failures(store).empty
    assert stage_counts(store, ()).iloc[0].tolist() == [0] * len(COUNTS)


def test_unknown_group_is_refused(store):
    with pytest.raises(ValueError, match="cannot group ledger figures by phone"):
        stage_counts(store, ("phone",))


# Random ledgers: every send's times lie in its own 10,000 s block, so no two messages to one phone
# go out at the same second (which of two equal times a reply belongs to is not defined).
BLOCK = 10_000
maybe_offset = st.one_of(st.none(), st.integers(0, BLOCK - 1))
send_rows = st.lists(
    st.tuples(
        st.sampled_from("XYZ"),
        st.integers(0, 4),
        st.sampled_from(STATES),
        st.sampled_from([None, 131026, 131049]),
        maybe_offset,
        maybe_offset,
        maybe_offset,
        maybe_offset,
    ),
    max_size=25,
)
span = st.integers(0, 30 * BLOCK)
ledgers = st.fixed_dictionaries(
    {
        "segments": st.tuples(*[st.sampled_from([None, "", "vip", "new"])] * 3),
        "sends": send_rows,
        "inbound": st.lists(st.tuples(st.integers(0, 5), span), max_size=15),
        "orders": st.lists(
            st.tuples(st.integers(0, 5), span, st.integers(1, 500), st.sampled_from(["EUR", "USD"])), max_size=10
        ),
        "clicks": st.lists(st.tuples(st.sampled_from("XYZ"), st.integers(0, 5), st.integers(0, 1)), max_size=6),
        "window": st.tuples(st.none() | span, st.none() | span),
    }
)


def write_random(store, ledger):
    sends, seen = [], set()
    for block, (cid, n, state, error, *offsets) in enumerate(ledger["sends"]):
        if (cid, n) in seen:  # one row per recipient and campaign
            continue
        seen.add((cid, n))
        times = [None if o is None else T0 + block * BLOCK + o for o in offsets]
        sends.append(send_row(cid, n, state, error if state == "failed" else None, *times, None))
    campaigns = [(c, f"Campaign {c}", T0, seg) for c, seg in zip("XYZ", ledger["segments"], strict=True)]
    write_rows(
        store,
        campaigns,
        [(*s, None, "template", T1) for s in sends],
        [(n, T0 + at) for n, at in ledger["inbound"]],
        [(f"o{i}", n, T0 + at, float(amount), cur) for i, (n, at, amount, cur) in enumerate(ledger["orders"])],
        [(cid, n, T0, human) for cid, n, human in ledger["clicks"]],
    )


def pandas_rows(store, selection):
    data = OPTIONS.in_report_currency(load_ledger(store))
    rich = enrich(data.sends, data.inbound, data.conversions, clicks=data.clicks)
    keep = pd.Series(True, index=rich.index)
    if selection.since is not None:
        keep &= rich["out_at"] >= pd.Timestamp(selection.since, unit="s", tz="UTC")
    if selection.until is not None:
        keep &= rich["out_at"] < pd.Timestamp(selection.until, unit="s", tz="UTC")
    return rich.loc[keep]


def comparable(table: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    out = table.astype({k: str for k in keys}).sort_values(keys).reset_index(drop=True)
    numeric = [c for c in out.columns if c not in keys and pd.api.types.is_numeric_dtype(out[c])]
    return out.astype({c: "float64" for c in numeric})


def assert_same(got: pd.DataFrame, expected: pd.DataFrame, keys: list[str]) -> None:
    pd.testing.assert_frame_equal(comparable(got, keys), comparable(expected[got.columns], keys), rtol=1e-9)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ledger=ledgers)
def test_database_figures_equal_the_pandas_figures(store, ledger):
    clear_rows(store)
    write_random(store, ledger)
    since, until = (None if w is None else T0 + w for w in ledger["window"])
    selection = Selection(since=since, until=until)
    rich = pandas_rows(store, selection)
    for by in (["campaign_id"], ["segment", "campaign_name"]):
        expected = funnel(rich, by) if len(rich) else None
        got = stored_funnel(store, by, selection, OPTIONS)
        if expected is None:
            assert got.empty
            continue
        pd.testing.assert_frame_equal(comparable(got, by), comparable(expected[got.columns], by), rtol=1e-9)
    pd.testing.assert_frame_equal(
        stored_stages(store, selection, OPTIONS).astype({"count": "int64"}), funnel_stages(rich), rtol=1e-9
    )
    tables = stored_tables(store, selection, OPTIONS)  # the coarser tables as sums per campaign
    keys = ["campaign_id", "campaign_name", "segment"]
    assert_same(tables.by_campaign, stored_funnel(store, keys, selection, OPTIONS), keys)
    assert_same(tables.by_segment, stored_funnel(store, ["segment"], selection, OPTIONS), ["segment"])
    pd.testing.assert_frame_equal(tables.stages, stored_stages(store, selection, OPTIONS))
    assert_same(tables.failures, stored_failures(store, (), selection), ["error_code", "outcome"])
    expected_failures = failures(rich, ("campaign_id",))
    got_failures = stored_failures(store, ("campaign_id",), selection)
    columns = ["campaign_id", "error_code", "outcome", "count", "share_of_attempted", "share_of_failed"]
    keys = ["campaign_id", "error_code", "outcome"]
    pd.testing.assert_frame_equal(
        comparable(got_failures[columns], keys), comparable(expected_failures[columns], keys), rtol=1e-9
    )


# Rollups (ledger.rollups): the figures per campaign read from rollups equal those of the live SQL
# after any write, and a rollup computed while a write lands is not kept.


def per_campaign(store, live: bool, windows=(86_400.0, 7 * 86_400.0)):
    """The stage counts, attributed revenue and failures per campaign, read from the rollups or
    computed live, as comparable rows."""
    source = LiveFigures(store, Selection(), *windows) if live else rollups.figures(store, Selection(), *windows)
    assert isinstance(source, LiveFigures if live else CampaignFigures)
    by = ["campaign_id"]
    counts, revenue = source.stage_counts(by), source.attributed_revenue(by)
    fails = source.failure_counts(by)
    return (
        sorted(tuple(int(v) if k else v for k, v in enumerate(r)) for r in counts.itertuples(index=False, name=None)),
        sorted((c, cur, round(float(a), 6)) for c, cur, a in revenue.itertuples(index=False, name=None)),
        sorted((c, int(e), bool(h), int(n)) for c, e, h, n in fails.itertuples(index=False, name=None)),
    )


WRITES = {
    "send inserted": (
        "INSERT INTO sends (campaign_id, recipient_key, customer_id, phone, state, accepted_at, sent_at, updated_at)"
        " VALUES ('A', 'A:9', 'C9', ?, 'sent', ?, ?, ?)",
        (phone(9), T0 + 3, T0 + 3, T1),
    ),
    "send status": ("UPDATE sends SET state = 'read', read_at = ? WHERE recipient_key = 'A:2'", (T0 + 90,)),
    "send error code": ("UPDATE sends SET error_code = 131049 WHERE recipient_key = 'A:3'", ()),
    "send deleted": ("DELETE FROM sends WHERE recipient_key = 'A:4'", ()),
    # B:1 now goes out before customer 1's replies to A:1, which move to it
    "send out earlier": (
        "UPDATE sends SET accepted_at = ?, sent_at = ?, delivered_at = ?, read_at = ? WHERE recipient_key = 'B:1'",
        (T0 + 60, T0 + 60, T0 + 61, T0 + 62),
    ),
    # B:1 no longer delivered: customer 1's order after it goes to A:1
    "send no longer delivered": (
        "UPDATE sends SET state = 'sent', delivered_at = NULL, read_at = NULL WHERE recipient_key = 'B:1'",
        (),
    ),
    "inbound inserted": (
        "INSERT INTO inbound_messages (wamid, wa_id, phone, type, text, timestamp, payload_json, received_at)"
        " VALUES ('wamid.new', ?, ?, 'text', 'JA', ?, '{}', ?)",
        (phone(2)[1:], phone(2), T0 + 100, T0 + 100),
    ),
    "inbound deleted": ("DELETE FROM inbound_messages WHERE phone = ? AND timestamp < ?", (phone(1), T1)),
    "inbound moved to another phone": ("UPDATE inbound_messages SET phone = ? WHERE wamid = 'wamid.in0'", (phone(2),)),
    "order inserted": (
        "INSERT INTO conversions (order_id, customer_id, phone, at, amount, currency)"
        " VALUES ('o9', 'C5', ?, ?, 10, 'EUR')",
        (phone(5), T0 + 400),
    ),
    "order deleted": ("DELETE FROM conversions WHERE order_id = 'o1'", ()),
    "order amount": ("UPDATE conversions SET amount = 70 WHERE order_id = 'o1'", ()),
    "click inserted": (
        "INSERT INTO link_clicks (click_id, token, campaign_id, recipient_key, customer_id, at, agent, human)"
        " VALUES ('k9', 't', 'A', 'A:1', 'C1', ?, 'mobile', 1)",
        (T0 + 50,),
    ),
    "click deleted": ("DELETE FROM link_clicks WHERE click_id = 'k0'", ()),
    "click by a person after all": ("UPDATE link_clicks SET human = 1 WHERE click_id = 'k1'", ()),
}


@pytest.mark.parametrize("write", WRITES)
def test_a_write_after_the_rollups_changes_the_figures_read(known, write):
    before = per_campaign(known, live=False)
    assert before == per_campaign(known, live=True)
    assert read_rollups(known, Selection(), 86_400.0, 7 * 86_400.0).stale == []  # served from the rollups now
    sql, params = WRITES[write]
    with known.transaction() as db:
        db.execute(sql, params)
    after = per_campaign(known, live=False)
    assert after != before
    assert after == per_campaign(known, live=True)


def test_a_write_during_the_computation_keeps_its_rollup_out(known):
    windows = 86_400.0, 7 * 86_400.0
    read = read_rollups(known, Selection(), *windows)
    computed = compute_rollups(known, read.stale, *windows)
    with open_store(known.url or known.path) as other:  # another writer, while the figures were computed
        other.execute("UPDATE sends SET state = 'read', read_at = ? WHERE recipient_key = 'A:2'", (T0 + 90,))
    assert store_rollups(known, computed, read.versions, *windows) == ["B"]
    assert read_rollups(known, Selection(), *windows).stale == ["A"]
    read_of_a = rollups.figures(known, Selection(campaign="A")).stage_counts(["campaign_id"])["read"].tolist()
    assert read_of_a == [json.loads(computed["A"])["counts"][COUNTS.index("read")] + 1]


def test_time_bounds_and_long_windows_are_computed_live(known):
    long = rollups.figures(known, Selection(), 31 * 86_400.0, 7 * 86_400.0)
    bounded = rollups.figures(known, Selection(since=T1))
    assert isinstance(long, LiveFigures) and isinstance(bounded, LiveFigures)
    assert long.stage_counts(["campaign_id"])["replied"].tolist() == [2, 1]  # customer 5 answered after 25 h
    assert bounded.stage_counts(["campaign_id"])["campaign_id"].tolist() == ["B"]
    assert known.query_tuples("SELECT COUNT(*) FROM campaign_rollups") == [(0,)]


index = st.integers(0, 40)
ledger_writes = st.lists(
    st.one_of(
        st.tuples(st.just("state"), index, st.sampled_from(STATES), st.sampled_from([None, 131026, 131049])),
        st.tuples(st.just("out"), index, st.none() | span),
        st.tuples(st.just("delivered"), index, st.none() | span),
        st.tuples(st.just("send deleted"), index),
        st.tuples(st.just("send"), st.sampled_from("XYZ"), st.integers(0, 5), st.sampled_from(STATES), span),
        st.tuples(st.just("inbound"), st.integers(0, 5), span),
        st.tuples(st.just("inbound deleted"), index),
        st.tuples(st.just("order"), st.integers(0, 5), span, st.integers(1, 500)),
        st.tuples(st.just("order deleted"), index),
        st.tuples(st.just("click"), st.sampled_from("XYZ"), st.integers(0, 5), st.integers(0, 1)),
        st.tuples(st.just("click deleted"), index),
    ),
    min_size=1,
    max_size=6,
)


def apply_write(store, k, write):
    """One write of ``ledger_writes`` (the ``k``-th), on the row its index picks among those there."""
    kind, *args = write
    tables = {"inbound deleted": ("inbound_messages", "wamid"), "order deleted": ("conversions", "order_id")}
    tables |= {"click deleted": ("link_clicks", "click_id")}
    table, key = tables.get(kind, ("sends", "send_id"))
    keys = [r[0] for r in store.query_tuples(f"SELECT {key} FROM {table} ORDER BY {key}")]
    picked = keys[args[0] % len(keys)] if keys and isinstance(args[0], int) else None
    with store.transaction() as db:
        if kind == "state" and picked is not None:
            db.execute("UPDATE sends SET state = ?, error_code = ? WHERE send_id = ?", (args[1], args[2], picked))
        elif kind == "out" and picked is not None:
            db.execute(
                "UPDATE sends SET sent_at = ? WHERE send_id = ?", (None if args[1] is None else T0 + args[1], picked)
            )
        elif kind == "delivered" and picked is not None:
            at = None if args[1] is None else T0 + args[1]
            db.execute("UPDATE sends SET delivered_at = ? WHERE send_id = ?", (at, picked))
        elif kind == "send":
            cid, n, state, at = args
            db.execute(
                "INSERT INTO sends (campaign_id, recipient_key, customer_id, phone, state, accepted_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (cid, f"{cid}:{n}:w{k}", f"C{n}", phone(n), state, T0 + at, T1),
            )
        elif kind == "inbound":
            n, at = args
            db.execute(
                "INSERT INTO inbound_messages (wamid, wa_id, phone, type, text, timestamp, payload_json, received_at)"
                " VALUES (?, ?, ?, 'text', 'JA', ?, '{}', ?)",
                (f"wamid.w{k}", phone(n)[1:], phone(n), T0 + at, T0 + at),
            )
        elif kind == "order":
            n, at, amount = args
            db.execute(
                "INSERT INTO conversions (order_id, customer_id, phone, at, amount) VALUES (?, ?, ?, ?, ?)",
                (f"w{k}", f"C{n}", phone(n), T0 + at, float(amount)),
            )
        elif kind == "click":
            cid, n, human = args
            db.execute(
                "INSERT INTO link_clicks (click_id, token, campaign_id, recipient_key, customer_id, at, agent, human)"
                " VALUES (?, 't', ?, ?, ?, ?, 'mobile', ?)",
                (f"w{k}", cid, f"{cid}:{n}", f"C{n}", T0, human),
            )
        elif picked is not None:
            db.execute(f"DELETE FROM {table} WHERE {key} = ?", (picked,))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ledger=ledgers, writes=ledger_writes, windows=st.sampled_from([(86_400.0, 7 * 86_400.0), (BLOCK, 3.0 * BLOCK)]))
def test_rollups_equal_the_live_figures_after_any_writes(store, ledger, writes, windows):
    clear_rows(store)
    write_random(store, ledger)
    assert per_campaign(store, False, windows) == per_campaign(store, True, windows)
    for k, write in enumerate(writes):
        apply_write(store, k, write)
        assert per_campaign(store, False, windows) == per_campaign(store, True, windows), write


def test_a_fold_of_many_changes_bumps_every_campaign(known):
    before = per_campaign(known, live=False)
    versions = read_rollups(known, Selection(), 86_400.0, 7 * 86_400.0).versions
    sql, params = WRITES["click deleted"]  # a change of A only
    with known.transaction() as db:
        db.execute(sql, params)
        fold_changes(db, every_campaign_from=1)
    assert read_rollups(known, Selection(), 86_400.0, 7 * 86_400.0).versions == {c: v + 1 for c, v in versions.items()}
    assert before != per_campaign(known, live=False) == per_campaign(known, live=True)


def test_a_fold_counts_the_changes_not_their_ids_span(known):
    versions = read_rollups(known, Selection(), 86_400.0, 7 * 86_400.0).versions
    sql, params = WRITES["click deleted"]  # a change of A only
    with known.transaction() as db:
        db.execute(sql, params)
        (top,) = db.execute("SELECT MAX(change_id) FROM rollup_changes").fetchone()
        db.execute("INSERT INTO rollup_changes (change_id, campaign_id) VALUES (?, 'A')", (top + 1000,))
        fold_changes(db, every_campaign_from=3)  # two changes, their ids 1000 apart
    assert read_rollups(known, Selection(), 86_400.0, 7 * 86_400.0).versions == {**versions, "A": versions["A"] + 1}


def test_a_plan_of_any_size_is_one_change_of_its_campaign(known):
    """Planned rows have no message out, so no attribution moves: a campaign's plan is noted once,
    not once per row (a large plan would otherwise count as a bulk write and bump every campaign)."""
    per_campaign(known, live=False)  # rollups current, nothing pending
    assert pending(known) == 0
    ledger.create_campaign(known, make_plan(50, excluded=5), name="Later", now=T1, campaign_id="C")
    assert pending(known) == 1
    with known.transaction() as db:
        db.execute(*WRITES["click deleted"])  # a change of A in between
    ledger.create_campaign(known, make_plan(3), name="Later still", now=T1, campaign_id="D")
    assert pending(known) == 3
    figures = per_campaign(known, live=False)
    assert figures == per_campaign(known, live=True)
    recipients = 1 + COUNTS.index("recipients")  # after the campaign column
    assert sorted(row[:1] + row[recipients : recipients + 1] for row in figures[0] if row[0] in "CD") == [
        ("C", 50),
        ("D", 3),
    ]


def write_some(store):
    """Writes noting several changes of both campaigns; how many are noted."""
    before = pending(store)
    for write in ("send status", "send out earlier", "order inserted", "inbound inserted", "click deleted"):
        sql, params = WRITES[write]
        with store.transaction() as db:
            db.execute(sql, params)
    return pending(store) - before


def pending(store):
    return store.query_tuples("SELECT COUNT(*) FROM rollup_changes")[0][0]


def test_a_periodic_fold_folds_the_oldest_chunk_once_enough_are_pending(known):
    before = per_campaign(known, live=False)
    notes = write_some(known)
    assert notes > 4
    fold_oldest(known, at_least=notes + 1, chunk=2)
    assert pending(known) == notes
    fold_oldest(known, at_least=notes, chunk=2)
    assert pending(known) == notes - 2
    for _ in range((notes - 2 + 1) // 2):
        fold_oldest(known, chunk=2)
    assert pending(known) == 0
    assert before != per_campaign(known, live=False) == per_campaign(known, live=True)


def test_the_worker_folds_the_changes_every_fold_seconds_or_a_chunk_at_once(known, monkeypatch):
    """No dashboard read: a worker's tick folds the notes when its last fold is FOLD_SECONDS old,
    or a chunk's worth is pending; the figures read afterwards still equal the live SQL."""
    before = per_campaign(known, live=False)
    clock = ManualClock(T1)
    worker = Worker(known, client=None, phone_number_ids=("pn",), clock=clock, log=JsonLog(io.StringIO()))  # type: ignore[arg-type]
    worker.tick()  # the first tick folds
    notes = write_some(known)
    assert notes > 0
    clock.advance(FOLD_SECONDS - 1)
    worker.tick()
    assert pending(known) == notes
    clock.advance(1)
    worker.tick()
    assert pending(known) == 0
    assert before != per_campaign(known, live=False) == per_campaign(known, live=True)
    monkeypatch.setattr(rollups, "FOLD_CHUNK", 1)  # a chunk's worth pending: folded before FOLD_SECONDS
    known.execute("UPDATE sends SET state = 'read', read_at = ? WHERE recipient_key = 'B:6'", (T1 + 50,))
    clock.advance(1)
    worker.tick()
    assert pending(known) == 0
    assert per_campaign(known, live=False) == per_campaign(known, live=True)
