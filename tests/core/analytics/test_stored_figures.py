"""The funnel and failure tables the database computes (``ledger.aggregates`` through
``analytics.stored``) on SQLite and PostgreSQL: against a hand-computed ledger, and equal to the
pandas tables (``enrich`` + ``funnel``/``failures``) on random ledgers, so the two cannot drift."""

from __future__ import annotations

import pandas as pd
import pytest
from helpers.ledger_rows import clear_rows, phone, write_rows
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wamkt_nb.analytics import MetricOptions, enrich, failures, funnel, funnel_stages, load_ledger
from wamkt_nb.analytics.stored import stored_failures, stored_funnel, stored_stages, stored_tables
from wamkt_nb.currency import ExchangeRates
from wamkt_nb.ledger.aggregates import COUNTS, Selection, stage_counts
from wamkt_nb.ledger.states import STATES

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
