"""Features and tags against small hand-computed histories."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from wamkt_nb.clock import ManualClock
from wamkt_nb.currency import ExchangeRates
from wamkt_nb.data.features import FEATURE_COLUMNS, TAGS, TagThresholds, build_features
from wamkt_nb.data.loaders import empty_interactions, empty_orders
from wamkt_nb.data.sample import generate
from wamkt_nb.data.schema import CUSTOMER_COLUMNS, CustomerData

NOW = pd.Timestamp("2026-06-01 12:00", tz="UTC")


def _ts(days_ago: float, hour_utc: int | None = None) -> pd.Timestamp:
    t = NOW - pd.Timedelta(days=days_ago)
    return t.replace(hour=hour_utc, minute=5) if hour_utc is not None else t


def _customers(rows: list[dict]) -> pd.DataFrame:
    base = {c: None for c in CUSTOMER_COLUMNS}
    frame = pd.DataFrame([{**base, **r} for r in rows])
    for c in ("customer_id", "name", "phone", "timezone", "country"):
        frame[c] = frame[c].astype("string")
    return frame


def _data() -> CustomerData:
    customers = _customers(
        [
            {"customer_id": "A", "timezone": "Europe/Berlin", "phone": "+491511111111"},
            {"customer_id": "B", "timezone": "America/New_York", "phone": "+12125550100"},
            {"customer_id": "C", "timezone": "Europe/Berlin", "phone": "+491522222222"},
        ]
    )
    # A: 12 orders, one every 15 days, the last 1 day ago, 100 each -> AOV 100, LTV 1200.
    a_orders = [("A", _ts(1 + 15 * i), 100.0) for i in range(12)]
    # B: 2 orders 200 and 400 days ago, 30 and 330 -> AOV 180; one order in the future (ignored).
    b_orders = [("B", _ts(200), 30.0), ("B", _ts(400), 330.0), ("B", _ts(-5), 999.0)]
    # An order of an unknown customer is ignored.
    orders = pd.DataFrame(a_orders + b_orders + [("Z", _ts(3), 5.0)], columns=["customer_id", "ordered_at", "amount"])
    orders.insert(0, "order_id", [f"O{i}" for i in range(len(orders))])
    orders["currency"] = "EUR"
    interactions = pd.DataFrame(
        [
            # A: 3 reads, 1 click, 1 reply at 18-19 h UTC (= 20-21 h Berlin summer time), 1 inbound.
            ("A", _ts(2, 18), "read"),
            ("A", _ts(3, 18), "read"),
            ("A", _ts(20, 19), "read"),
            ("A", _ts(40, 18), "click"),
            ("A", _ts(50, 9), "reply"),
            ("A", _ts(100, 9), "inbound"),
            # B: one read 45 days ago at 14 h UTC (= 10 h New York).
            ("B", _ts(45, 14), "read"),
        ],
        columns=["customer_id", "at", "kind"],
    )
    return CustomerData(customers, orders, interactions)


@pytest.fixture(scope="module")
def features() -> pd.DataFrame:
    return build_features(_data(), NOW).set_index("customer_id")


def test_every_contract_column_and_customer_column_is_there(features):
    assert set(FEATURE_COLUMNS) <= set(features.columns)
    assert set(CUSTOMER_COLUMNS) - {"customer_id"} <= set(features.columns)
    assert list(features.index) == ["A", "B", "C"]


def test_order_features_by_hand(features):
    a, b, c = features.loc["A"], features.loc["B"], features.loc["C"]
    assert a.order_count == 12 and a.total_spend == 1200.0 and a.avg_order_value == 100.0
    assert a.days_since_last_order == pytest.approx(1.0)
    assert a.first_order_at == _ts(166) and a.last_order_at == _ts(1)
    assert a.orders_per_month == pytest.approx(12 / (166 / 30.44))
    assert b.order_count == 2 and b.total_spend == 360.0 and b.avg_order_value == 180.0
    assert b.days_since_last_order == pytest.approx(200.0)
    assert b.orders_per_month == pytest.approx(2 / (400 / 30.44))
    assert c.order_count == 0 and c.total_spend == 0.0 and c.orders_per_month == 0.0
    assert math.isnan(c.avg_order_value) and math.isnan(c.days_since_last_order)
    assert pd.isna(c.first_order_at) and pd.isna(c.last_order_at)


def test_orders_in_other_currencies_are_summed_in_the_reporting_currency():
    data = _data()
    data.orders.loc[data.orders["customer_id"] == "B", "currency"] = "CHF"  # 30 and 330 CHF
    rates = ExchangeRates("EUR", {"EUR": 1.0, "CHF": 0.5})
    b = build_features(data, NOW, rates=rates).set_index("customer_id").loc["B"]
    assert b.total_spend == 180.0 and b.avg_order_value == 90.0
    in_chf = build_features(data, NOW, rates=ExchangeRates("CHF", rates.value_in_eur)).set_index("customer_id")
    assert in_chf.loc["A", "total_spend"] == 2400.0 and in_chf.loc["B", "total_spend"] == 360.0


def test_interaction_features_by_hand(features):
    a, b, c = features.loc["A"], features.loc["B"], features.loc["C"]
    assert (a.interactions_7d, a.interactions_30d, a.interactions_90d) == (2, 3, 5)
    assert a.days_since_last_interaction == pytest.approx((NOW - _ts(2, 18)) / pd.Timedelta(days=1))
    # Denominator proxy: read + click + reply = 5 reactions; 3 reads, 1 reply.
    assert a.read_rate == pytest.approx(3 / 5) and a.reply_rate == pytest.approx(1 / 5)
    assert a.most_active_hour == 20  # 18 h UTC in Berlin summer time
    assert b.most_active_hour == 10  # 14 h UTC in New York summer time
    assert b.read_rate == 1.0 and b.reply_rate == 0.0 and b.interactions_90d == 1
    assert math.isnan(c.most_active_hour) and math.isnan(c.read_rate)
    assert pd.isna(c.last_interaction_at) and c.interactions_90d == 0


def test_messages_sent_replaces_the_proxy_denominator():
    sent = pd.Series({"A": 10, "B": 4})
    f = build_features(_data(), NOW, messages_sent=sent).set_index("customer_id")
    assert f.loc["A", "read_rate"] == pytest.approx(0.3) and f.loc["A", "reply_rate"] == pytest.approx(0.1)
    assert f.loc["B", "read_rate"] == pytest.approx(0.25)
    assert math.isnan(f.loc["C", "read_rate"])


def test_tags_and_bands(features):
    a, b, c = features.loc["A"], features.loc["B"], features.loc["C"]
    assert a.purchase_frequency == "monthly" and a.order_value_band == "50_200"
    assert a.interaction_recency == "active_7d"
    assert a.tags == ("monthly_buyer", "aov_50_200", "active_7d", "frequent_buyer")
    assert b.purchase_frequency == "rare" and b.interaction_recency == "dormant_30d"
    assert b.tags == ("rare_buyer", "aov_50_200", "dormant_30d")
    assert c.purchase_frequency == "none" and c.order_value_band == "none"
    assert c.tags == ("inactive_90d",)
    assert set().union(*features.tags) <= set(TAGS)


def test_rfm_quintiles(features):
    a, b, c = features.loc["A"], features.loc["B"], features.loc["C"]
    # Two customers with orders: A ranks top on all three, B bottom (rank pct 0.5 -> 3).
    assert (a.rfm_r, a.rfm_f, a.rfm_m, a.rfm_score) == (5, 5, 5, "555")
    assert (b.rfm_r, b.rfm_f, b.rfm_m, b.rfm_score) == (3, 3, 3, "333")
    assert c.rfm_score == "111"


def test_thresholds_are_configurable():
    th = TagThresholds(aov_low=150, aov_high=500, active_days=1, frequent_min_orders=20)
    f = build_features(_data(), NOW, th).set_index("customer_id")
    assert f.loc["A", "order_value_band"] == "under_50"
    assert f.loc["A", "tags"] == ("monthly_buyer", "aov_under_50")  # 2 days quiet: recent_30d
    assert f.loc["B", "order_value_band"] == "50_200"
    with pytest.raises(ValueError):
        TagThresholds(aov_low=300, aov_high=200)


def test_a_clock_moves_the_picture():
    clock = ManualClock(NOW.value / 1e9)
    before = build_features(_data(), clock).set_index("customer_id")
    clock.advance(10 * 86_400)
    later = build_features(_data(), clock).set_index("customer_id")
    assert later.loc["A", "days_since_last_order"] == pytest.approx(before.loc["A", "days_since_last_order"] + 10)
    assert later.loc["A", "interaction_recency"] == "recent_30d"
    # B's future order is now in the past and counts.
    assert later.loc["B", "order_count"] == 3


def test_rates_stay_in_range_on_sample_data():
    data = generate(3_000, seed=7, now=NOW)
    f = build_features(data, NOW)
    assert len(f) == 3_000
    for col in ("read_rate", "reply_rate"):
        values = f[col].dropna()
        assert ((values >= 0) & (values <= 1)).all()
    assert f.rfm_r.between(1, 5).all() and f.rfm_f.between(1, 5).all() and f.rfm_m.between(1, 5).all()
    assert f.order_count.sum() == (data.orders.ordered_at <= NOW).sum()
    hours = f.most_active_hour.dropna()
    assert hours.between(0, 23).all()
    # Sample activity peaks at 10-12 h and 20-22 h local time.
    assert hours.isin([9, 10, 11, 12, 19, 20, 21, 22]).mean() > 0.5
    # Tags are consistent with the band columns.
    monthly = f.tags.map(lambda t: "monthly_buyer" in t)
    assert (monthly == (f.purchase_frequency == "monthly")).all()
    assert np.array_equal(f.tags.map(lambda t: "inactive_90d" in t), f.interaction_recency == "inactive_90d")


def test_customers_without_any_history_and_no_customers_at_all():
    data = _data()
    bare = CustomerData(data.customers, empty_orders(), empty_interactions())
    f = build_features(bare, NOW)
    assert (f.order_count == 0).all() and f.tags.map(lambda t: t == ("inactive_90d",)).all()
    assert (f.rfm_score == "111").all() and f.most_active_hour.isna().all()
    none = build_features(CustomerData(data.customers.iloc[:0], empty_orders(), empty_interactions()), NOW)
    assert len(none) == 0 and set(FEATURE_COLUMNS) <= set(none.columns)


def test_agrees_with_plain_pandas_groupby_on_sample_data():
    data = generate(800, seed=3, now=NOW)
    f = build_features(data, NOW).set_index("customer_id")
    by = data.orders.groupby("customer_id")
    ref = pd.DataFrame({"n": by.size(), "spend": by["amount"].sum(), "last": by["ordered_at"].max()})
    ref = ref.reindex(f.index)
    assert (f.order_count == ref.n.fillna(0)).all()
    assert np.allclose(f.total_spend, ref.spend.fillna(0))
    assert (f.last_order_at.dropna() == ref["last"].dropna()).all()
    recent = data.interactions[data.interactions["at"] > NOW - pd.Timedelta(days=30)]
    counts = recent.groupby("customer_id").size().reindex(f.index).fillna(0)
    assert (f.interactions_30d == counts).all()
