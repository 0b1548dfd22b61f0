"""Customer data lives in the store, and what customers do after a campaign flows back into it:
reads, replies, button taps, orders and opt-outs become the interactions and orders that features
and segments read. After a played history the Segments presets count what a direct query says."""

from __future__ import annotations

import json

import pandas as pd
from helpers.preset_sql import preset_counts_by_sql

from wamkt_nb.data.features import build_features
from wamkt_nb.data.sample import generate
from wamkt_nb.data.schema import CustomerData
from wamkt_nb.data.stored import has_customer_data, imported_history, read_customer_data, write_customer_data
from wamkt_nb.scenarios.demo import DemoCampaign, play_history
from wamkt_nb.segments import PRESETS, evaluate
from wamkt_nb.store import open_store
from wamkt_nb.workspace import load_customer_data, save_customer_data

T0 = 1_760_000_000.0


def _tiny() -> CustomerData:
    customers = pd.DataFrame(
        {
            "customer_id": ["K1", "K2"],
            "name": ["Anna Berg", "Ben Kurz"],
            "first_name": ["Anna", "Ben"],
            "last_name": ["Berg", "Kurz"],
            "phone": ["+4915112345671", "+4915112345672"],
            "email": [None, "b@x.de"],
            "language": ["de", "de"],
            "timezone": ["Europe/Berlin", "Europe/Berlin"],
            "country": ["DE", "DE"],
            "city": ["Köln", None],
            "opted_in": [True, True],
            "opt_in_at": pd.to_datetime([T0 - 86_400, T0 - 86_400], unit="s", utc=True),
            "signup_at": pd.to_datetime([T0 - 9 * 86_400, None], unit="s", utc=True),
            "vip_level": [3, None],
        }
    )
    orders = pd.DataFrame(
        {
            "order_id": ["O1"],
            "customer_id": ["K1"],
            "ordered_at": pd.to_datetime([T0 - 3_600], unit="s", utc=True),
            "amount": [80.0],
            "currency": ["EUR"],
        }
    )
    interactions = pd.DataFrame(
        {
            "customer_id": ["K2"],
            "at": pd.to_datetime([T0 - 7_200], unit="s", utc=True),
            "kind": pd.Categorical(["inbound"], categories=["inbound", "read", "click", "reply"]),
        }
    )
    return CustomerData(customers, orders, interactions)


def _send(store, send_id: int, customer_id: str, phone: str, delivered_at: float, read_at: float | None) -> None:
    store.execute(
        "INSERT INTO campaigns (campaign_id, name, category, created_at) VALUES ('c1', 'c', 'marketing', ?)"
        " ON CONFLICT DO NOTHING",
        (T0,),
    )
    store.execute(
        "INSERT INTO sends (send_id, campaign_id, recipient_key, customer_id, phone, state, wamid, delivered_at,"
        " read_at, updated_at) VALUES (?, 'c1', ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            send_id,
            f"rk{send_id}",
            customer_id,
            phone,
            "read" if read_at else "delivered",
            f"wamid.{send_id}",
            delivered_at,
            read_at,
            T0,
        ),
    )


def _inbound(store, wamid: str, phone: str, at: float, kind: str = "text", context: str | None = None) -> None:
    store.execute(
        "INSERT INTO inbound_messages (wamid, wa_id, phone, type, text, context_wamid, timestamp, payload_json,"
        " received_at) VALUES (?, ?, ?, ?, 'hi', ?, ?, '{}', ?)",
        (wamid, phone[1:], phone, kind, context, at, at),
    )


def test_an_import_round_trips_through_the_store(store_target, tmp_path):
    data = _tiny()
    store = open_store(store_target)
    assert not has_customer_data(store)
    write_customer_data(store, data)
    back = read_customer_data(store)
    assert list(back.customers["customer_id"]) == ["K1", "K2"]
    assert back.customers["vip_level"].tolist()[0] == 3 and pd.isna(back.customers["vip_level"].iloc[1])
    assert back.customers["signup_at"].iloc[0] == data.customers["signup_at"].iloc[0]
    assert pd.isna(back.customers["signup_at"].iloc[1]) and pd.isna(back.customers["email"].iloc[0])
    assert (
        back.orders["amount"].tolist() == [80.0]
        and back.orders["ordered_at"].iloc[0] == data.orders["ordered_at"].iloc[0]
    )
    assert back.interactions["kind"].tolist() == ["inbound"]
    # the next read is columnar (beside a SQLite file; a PostgreSQL server has no folder of ours)
    assert (tmp_path / "w.db.import-orders.parquet").is_file() == (store.path is not None)
    assert read_customer_data(store).orders.equals(back.orders)
    renamed = data.customers.assign(first_name=["Anne", "Benno"])
    write_customer_data(store, CustomerData(renamed, data.orders, data.interactions))
    assert read_customer_data(store).customers["first_name"].tolist() == ["Anne", "Benno"]  # same size, new import
    write_customer_data(store, CustomerData(data.customers.iloc[:1], data.orders.iloc[:0], data.interactions))
    again = read_customer_data(store)  # a new import replaces the previous one
    assert list(again.customers["customer_id"]) == ["K1"] and again.orders.empty
    store.close()


def test_reads_replies_taps_orders_and_opt_outs_flow_back(store_target):
    store = open_store(store_target)
    write_customer_data(store, _tiny())
    k1, k2 = "+4915112345671", "+4915112345672"
    _send(store, 1, "K1", k1, T0, T0 + 600)  # K1 reads
    _send(store, 2, "K2", k2, T0, None)  # K2 does not read ...
    _inbound(store, "in.1", k2, T0 + 900)  # ... but answers within 24 h: a reply
    _inbound(store, "in.2", k1, T0 + 950, kind="button", context="wamid.1")  # K1 taps a quick reply
    _inbound(store, "in.3", k2, T0 + 3 * 86_400)  # days later: a message of its own
    _inbound(store, "in.4", "+4915100000000", T0 + 100)  # not a known customer: no interaction
    store.execute(
        "INSERT INTO conversions (order_id, customer_id, phone, at, amount, currency, source)"
        " VALUES ('SBX-1', 'K2', ?, ?, 120.0, 'EUR', 'sandbox')",
        (k2, T0 + 4_000),
    )
    store.execute(
        "INSERT INTO conversions (order_id, customer_id, phone, at, amount, currency, source)"
        " VALUES ('O1', 'K1', ?, ?, 80.0, 'EUR', 'shop')",
        (k1, T0 - 3_600),
    )  # also imported: once
    store.execute(
        "INSERT INTO consent (phone, marketing, changed_at, source) VALUES (?, 0, ?, 'keyword')", (k2, T0 + 1_000)
    )
    data = read_customer_data(store)
    kinds = sorted(zip(data.interactions["customer_id"], data.interactions["kind"].astype(str), strict=True))
    assert kinds == [("K1", "click"), ("K1", "read"), ("K2", "inbound"), ("K2", "inbound"), ("K2", "reply")]
    assert sorted(data.orders["order_id"]) == ["O1", "SBX-1"]
    assert data.customers.set_index("customer_id")["opted_in"].to_dict() == {"K1": True, "K2": False}
    features = build_features(data, T0 + 4 * 86_400).set_index("customer_id")
    assert features.at["K2", "order_count"] == 1 and features.at["K2", "days_since_last_interaction"] < 1.01
    assert features.at["K1", "interactions_7d"] == 2
    # the reports that add the ledger themselves still get the import alone
    assert len(imported_history(store, "orders")) == 1 and len(imported_history(store, "interactions")) == 1
    store.close()


def test_the_workspace_keeps_its_data_in_its_database(workspace, monkeypatch):
    monkeypatch.delenv("WAMKT_DB_PATH", raising=False)
    assert len(load_customer_data(sample_size=30).customers) == 30  # nothing saved: a sample
    assert not (workspace / "wamkt.db").exists()
    path = save_customer_data(_tiny())
    assert path == workspace / "wamkt.db" and not (workspace / "customers.parquet").exists()
    for snapshot in workspace.glob("wamkt.db.import-*.parquet"):
        snapshot.unlink()  # snapshots are copies: the database alone holds the data
    assert list(load_customer_data().customers["customer_id"]) == ["K1", "K2"]
    stored = open_store(path)
    assert json.loads(stored.query("SELECT extra_json FROM customers WHERE customer_id = 'K1'")[0][0]) == {
        "vip_level": 3
    }
    stored.close()


def test_after_a_played_history_every_preset_counts_what_the_store_says(tmp_path):
    start = pd.Timestamp.now(tz="UTC").normalize() - pd.Timedelta(days=10)
    data = generate(300, seed=11, now=start)
    store = open_store(tmp_path / "wamkt.db")
    campaigns = (
        DemoCampaign(0.42, "Newsletter", None),
        DemoCampaign(3.42, "Aktive", "active_7d"),
        DemoCampaign(6.83, "Premium", "high_order_value"),
    )
    play_history(
        store, data, start=start.timestamp(), days=10, campaigns=campaigns, inbound_per_day=3, log=lambda _line: None
    )
    now = start + pd.Timedelta(days=10)
    features = build_features(read_customer_data(store), now)
    shown = {
        key: evaluate(p.rule, features, now=now, include_inactive=p.include_inactive).count
        for key, p in PRESETS.items()
    }
    assert shown == preset_counts_by_sql(store, now.timestamp())
    # the campaigns' reads made customers active who were not in the imported history alone
    before = build_features(data, now)
    assert shown["active_7d"] > evaluate(PRESETS["active_7d"].rule, before, now=now).count
    assert shown["high_value_active_7d"] > 0
    store.close()


def test_a_snapshot_left_beside_a_recreated_database_is_not_taken_for_current(tmp_path):
    data = _tiny()
    store = open_store(tmp_path / "wamkt.db")
    write_customer_data(store, data)
    store.close()
    for name in ("wamkt.db", "wamkt.db-wal", "wamkt.db-shm"):
        (tmp_path / name).unlink(missing_ok=True)  # the snapshots stay behind
    store = open_store(tmp_path / "wamkt.db")
    other = data.customers.assign(city=["Bonn", "Ulm"])  # same count, same rowids, first import again
    write_customer_data(store, CustomerData(other, data.orders, data.interactions))
    assert read_customer_data(store).customers["city"].tolist() == ["Bonn", "Ulm"]
    store.close()
