"""The inbox: priority order, red flags, handovers, first-response times, answering in and outside the window."""

from __future__ import annotations

import time

import pandas as pd
import pytest
from helpers.webhook_payloads import APP_SECRET, VERIFY_TOKEN, inbound, signed

from wamkt_nb.autoreply import AutoReplier
from wamkt_nb.clock import ManualClock
from wamkt_nb.cloudapi import CloudClient
from wamkt_nb.data.sample import generate
from wamkt_nb.inbox import (
    TemplateChoice,
    WindowClosedError,
    answer,
    first_response_times,
    inbox_summary,
    open_conversations,
)
from wamkt_nb.sandbox import Sandbox
from wamkt_nb.serving.wiring import connect_sandbox
from wamkt_nb.store import open_store
from wamkt_nb.webhooks import WebhookReceiver

T0 = 1_750_000_000.0
A, B, C, D, E = "+4915100000001", "+4915100000002", "+4915100000003", "+4915100000004", "+4915100000005"


@pytest.fixture
def store(store_target):
    s = open_store(store_target)
    clock = ManualClock(T0)
    receiver = WebhookReceiver(s, APP_SECRET, VERIFY_TOKEN, clock=clock, handler=AutoReplier(None))
    script = [  # (phone, text, seconds before "now")
        (B, "Wo ist meine Bestellung?", 3 * 3600),
        (A, "Ist die Jacke in M da?", 1800),
        (C, "Rabatt", 600),
        (D, "Bitte einen Mitarbeiter", 900),
        (E, "Hallo?", 4 * 3600),
        (A, "Hallo??", 600),
    ]
    for i, (phone, text, ago) in enumerate(script):
        body, headers = signed(inbound(wa_id=phone[1:], text=text, wamid=f"w{i}", ts=T0 - ago))
        assert receiver.receive(body, headers["X-Hub-Signature-256"]).status == 200
    # the auto-reply to C was accepted 2 s after it came in; D's handover acknowledgement does not count
    s.execute("UPDATE replies SET state = 'accepted', accepted_at = ? WHERE phone = ?", (T0 - 598, C))
    s.execute("UPDATE replies SET state = 'accepted', accepted_at = ? WHERE phone = ?", (T0 - 898, D))
    yield s
    s.close()


CUSTOMERS = pd.DataFrame(
    {
        "phone": [A, B, C, D],
        "customer_id": ["a", "b", "c", "d"],
        "name": ["Anna", "Ben", "Cem", "Dora"],
        "avg_order_value": [250.0, 20.0, 90.0, 120.0],
        "total_spend": [2500.0, 60.0, 400.0, 800.0],
    }
)


def test_open_conversations_by_value_then_waiting(store):
    table = open_conversations(store, T0, CUSTOMERS)
    assert list(table["phone"]) == [A, D, B, E]
    assert list(table["order_value_band"]) == ["over_200", "50_200", "under_50", "none"]
    row = table.set_index("phone").loc
    assert row[A, "messages"] == 2 and row[A, "last_message"] == "Hallo??" and row[A, "waiting_min"] == 30
    assert row[B, "red"] and row[E, "red"] and not row[A, "red"] and not row[D, "red"]
    assert row[D, "needs_human"] and not row[A, "needs_human"]
    assert row[E, "name"] == "Anna Schmidt"  # unknown customer: the WhatsApp profile name
    assert row[A, "window_open"]


def test_red_threshold_is_configurable(store):
    table = open_conversations(store, T0, CUSTOMERS, red_after_seconds=20 * 60)
    assert set(table.loc[table["red"], "phone"]) == {A, B, E}


def test_without_customer_data_waiting_time_orders(store):
    assert list(open_conversations(store, T0)["phone"]) == [E, B, A, D]


def test_first_response_times_and_summary(store):
    times = first_response_times(store, T0).set_index("phone")
    assert times.loc[C, "answered"] and times.loc[C, "first_response_min"] == pytest.approx(2 / 60)
    assert not times.loc[D, "answered"]
    summary = inbox_summary(store, T0).iloc[0]
    assert summary["conversations"] == 5 and summary["answered"] == 1 and summary["red_flags"] == 2


def test_empty_inbox(tmp_path):
    s = open_store(tmp_path / "empty.db")
    assert open_conversations(s, T0).empty
    s.close()


def test_answering_through_the_sandbox(tmp_path):
    data = generate(10, seed=9, now="2025-10-09")  # the day of the ManualClock below, not today
    store = open_store(tmp_path / "w.db")
    clock = ManualClock(1_760_000_000)
    phone = data.customers["phone"].iloc[0]
    with Sandbox(customers=data, clock=clock) as sb, connect_sandbox(sb, store), CloudClient(sb.settings()) as client:
        sb.inject_inbound(phone, "Hat jemand Zeit für eine Frage?")
        deadline = time.monotonic() + 30
        while open_conversations(store, clock.now()).empty and time.monotonic() < deadline:
            time.sleep(0.02)
        assert list(open_conversations(store, clock.now())["phone"]) == [phone]
        clock.advance(240)
        out = answer(
            store,
            client,
            phone,
            text="Gern, worum geht es?",
            agent="lea",
            clock=clock,
            phone_number_id=sb.phone_number_id,
        )
        assert out.state == "accepted" and out.wamid
        assert open_conversations(store, clock.now()).empty
        assert first_response_times(store, clock.now()).iloc[0]["first_response_min"] == pytest.approx(4.0, abs=0.01)
        sent = [r["body"] for r in sb.received() if r["body"]["to"] == phone]
        assert sent[-1]["text"]["body"] == "Gern, worum geht es?"
        sb.advance(25 * 3600)
        with pytest.raises(WindowClosedError, match="template"):
            answer(store, client, phone, text="Noch da?", clock=clock, phone_number_id=sb.phone_number_id)
        out = answer(
            store,
            client,
            phone,
            text="Noch da?",
            clock=clock,
            phone_number_id=sb.phone_number_id,
            template=TemplateChoice("order_shipped", "de", ("Anna", "#123")),
        )
        assert out.state == "accepted"
        assert [r["body"]["type"] for r in sb.received() if r["body"]["to"] == phone][-1] == "template"
    store.close()


def test_old_conversations_leave_the_inbox(store):
    later = T0 + 31 * 86400
    assert open_conversations(store, later).empty
    assert len(open_conversations(store, later, lookback_days=60)) == 4
    assert inbox_summary(store, later).iloc[0]["conversations"] == 0
