"""End to end through the real sandbox: its signed webhooks reach our receiver over HTTP, the
auto-reply goes back to its Cloud API, and status webhooks move our ledger forward."""

from __future__ import annotations

import time

import pytest

from wamkt_nb.clock import ManualClock
from wamkt_nb.cloudapi import CloudClient, template_message
from wamkt_nb.data.sample import generate
from wamkt_nb.sandbox import Sandbox
from wamkt_nb.serving.wiring import connect_sandbox
from wamkt_nb.store import open_store
from wamkt_nb.webhooks.consent import opted_out


@pytest.fixture(scope="module")
def data():
    return generate(40, seed=3, now="2025-10-09")  # the day of the sandbox's ManualClock, not today


@pytest.fixture
def linked(tmp_path, data):
    store = open_store(tmp_path / "w.db")
    sb = Sandbox(customers=data, clock=ManualClock(1_760_000_000))
    sb.start()
    link = connect_sandbox(sb, store)
    yield sb, store, link
    link.close()
    sb.stop()
    store.close()


def replies_to(sb, phone, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sb.wait_idle(1)
        got = [r for r in sb.received() if r["body"].get("to") == phone]
        if got:
            return got
        time.sleep(0.02)
    return []


def reply_rows(store, state, timeout=60.0):
    """The receiver marks a reply accepted only after the sandbox's answer comes back: wait for it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = store.query("SELECT in_reply_to, state, latency_ms FROM replies WHERE state = ?", (state,))
        if rows:
            return rows
        time.sleep(0.02)
    return store.query("SELECT in_reply_to, state, latency_ms FROM replies")


def test_rabatt_reply_arrives_at_the_sandbox(linked, data):
    sb, store, link = linked
    phone = data.customers["phone"].iloc[0]
    wamid = sb.inject_inbound(phone, "RABATT!")
    [req] = replies_to(sb, phone)
    assert req["http_status"] == 200 and "WILLKOMMEN10" in req["body"]["text"]["body"]
    row = reply_rows(store, "accepted")[0]
    assert row["in_reply_to"] == wamid and row["state"] == "accepted" and row["latency_ms"] > 0


def test_duplicate_webhooks_reply_once(linked, data):
    sb, store, link = linked
    sb.set_faults(duplicate_webhook=1.0)
    phone = data.customers["phone"].iloc[1]
    sb.inject_inbound(phone, "Rabatt")
    replies_to(sb, phone)
    sb.wait_idle(30)
    time.sleep(0.3)
    assert sb.counters()["webhook_duplicates"] >= 1
    assert len([r for r in sb.received() if r["body"].get("to") == phone]) == 1
    assert store.query("SELECT count(*) FROM inbound_messages")[0][0] == 1


def test_stop_from_the_sandbox_records_opt_out(linked, data):
    sb, store, link = linked
    phone = data.customers["phone"].iloc[2]
    sb.inject_inbound(phone, "Abmelden")
    [req] = replies_to(sb, phone)
    assert "keine Werbenachrichten" in req["body"]["text"]["body"]
    assert opted_out(store, phone)


def test_campaign_statuses_move_the_ledger(linked, data):
    sb, store, link = linked
    customers = data.customers.head(10)
    with store.transaction() as conn:
        conn.execute("INSERT INTO campaigns (campaign_id, name, category, created_at) VALUES ('c1','t','utility',0)")
        for cid, phone in zip(customers["customer_id"], customers["phone"], strict=True):
            conn.execute(
                "INSERT INTO sends (campaign_id, recipient_key, customer_id, phone, state, updated_at)"
                " VALUES ('c1', ?, ?, ?, 'in_flight', 0)",
                (f"c1:{cid}", cid, phone),
            )
    with CloudClient(sb.settings()) as client:
        for cid, phone in zip(customers["customer_id"], customers["phone"], strict=True):
            payload = template_message(phone, "order_shipped", "de", ["Anna", "#1"], callback_data=f"c1:{cid}")
            client.send_message(sb.phone_number_id, payload)  # the wamid is "lost": only the webhook tells
    sb.advance(6 * 3600)
    sb.wait_idle(30)
    time.sleep(0.3)
    ours = dict(store.query("SELECT recipient_key, state FROM sends"))
    theirs = sb.messages_frame().set_index("callback_data")["status"].to_dict()
    assert ours and all(ours[k] == theirs[k] for k in ours), (ours, theirs)
    assert set(ours.values()) <= {"sent", "delivered", "read", "failed"} and "in_flight" not in ours.values()
    assert store.query("SELECT count(*) FROM sends WHERE wamid IS NULL")[0][0] == 0


def test_template_paused_by_the_sandbox_is_recorded(linked):
    sb, store, link = linked
    sb.set_template_status("order_shipped", "PAUSED", "LOW_QUALITY")
    sb.wait_idle(30)
    deadline = time.monotonic() + 30
    rows = []
    while not rows and time.monotonic() < deadline:
        rows = store.query("SELECT name, event, reason FROM template_status_events")
        time.sleep(0.02)
    assert [tuple(r) for r in rows] == [("order_shipped", "PAUSED", "LOW_QUALITY")]
