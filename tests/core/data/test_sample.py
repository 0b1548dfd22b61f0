import pandas as pd
import phonenumbers

from wamkt_nb.data.sample import generate
from wamkt_nb.data.schema import CUSTOMER_COLUMNS, INTERACTION_COLUMNS, ORDER_COLUMNS

NOW = pd.Timestamp("2026-11-25", tz="UTC")


def test_deterministic_for_seed_and_now():
    a, b = generate(500, seed=7, now=NOW), generate(500, seed=7, now=NOW)
    pd.testing.assert_frame_equal(a.customers, b.customers)
    pd.testing.assert_frame_equal(a.orders, b.orders)
    assert not generate(500, seed=8, now=NOW).customers["phone"].equals(a.customers["phone"])


def test_columns_and_valid_unique_e164_phones():
    d = generate(3000, now=NOW)
    assert tuple(d.customers.columns) == CUSTOMER_COLUMNS
    assert tuple(d.orders.columns) == ORDER_COLUMNS
    assert tuple(d.interactions.columns) == INTERACTION_COLUMNS
    phones = d.customers["phone"]
    assert phones.is_unique
    assert all(phonenumbers.is_valid_number(phonenumbers.parse(p)) for p in phones)
    assert set(d.customers["country"]) == {"DE", "AT", "CH", "NL", "US", "IN", "BR"}
    assert (d.customers["country"] == "DE").mean() > 0.6


def test_history_shape():
    d = generate(5000, now=NOW)
    assert d.orders["ordered_at"].max() < NOW
    assert d.orders["ordered_at"].min() >= NOW - pd.Timedelta(days=549)
    assert 8 < len(d.orders) / len(d.customers) < 12
    spend = d.orders.groupby("customer_id")["amount"].sum()
    assert spend.quantile(0.99) > 5 * spend.median()  # heavy tail
    last = d.interactions.groupby("customer_id")["at"].max()
    age = (NOW - last).dt.days
    assert (age <= 7).mean() > 0.15 and (age > 90).mean() > 0.15 and ((age > 30) & (age <= 90)).mean() > 0.08
    hours = d.interactions["at"].dt.tz_convert("Europe/Berlin").dt.hour
    share = hours.value_counts(normalize=True)
    peak = share.reindex([10, 11, 20, 21]).mean()
    assert peak > 1.5 * share.reindex([14, 15, 16, 17]).mean()
    assert set(d.interactions["kind"].unique()) == {"inbound", "read", "click", "reply"}


def test_some_customers_have_no_name_and_some_did_not_opt_in():
    c = generate(5000, now=NOW).customers
    assert 0 < c["first_name"].isna().mean() < 0.05
    assert 0.8 < c["opted_in"].mean() < 1
    assert c.loc[~c["opted_in"], "opt_in_at"].isna().all()
