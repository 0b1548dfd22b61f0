"""131049, Meta holding a marketing message back: produced by the sandbox the way Meta does, kept
apart from failures, an opt-in retry scheduled durably 24 h later, and a retargeting list."""

from __future__ import annotations

import orjson
import pandas as pd
import pytest
from helpers.held import DAY, HOLD, START, add_campaign, post
from helpers.webhook_payloads import APP_SECRET, VERIFY_TOKEN, status

from wamkt_nb.analytics import enrich, failures, funnel
from wamkt_nb.clock import ManualClock
from wamkt_nb.cloudapi import template_message
from wamkt_nb.data.sample import generate
from wamkt_nb.ledger import due_held_retries, held_count, held_customers, set_held_retry
from wamkt_nb.sandbox import Sandbox, SandboxConfig
from wamkt_nb.webhooks import WebhookReceiver

pytestmark = pytest.mark.both_stores


def test_the_sandbox_holds_a_second_marketing_message_in_a_failed_status_webhook():
    data = generate(5, seed=4, now="2026-11-20")
    phone = next(p for p in data.customers.phone if not p.startswith("+1"))
    config = SandboxConfig(not_on_whatsapp_rate=0, marketing_stopped_rate=0, pair_interval=0)
    with Sandbox(customers=data, clock=ManualClock(START), config=config) as sb:
        answers = [
            orjson.loads(
                sb.engine.send(
                    sb.phone_number_id,
                    orjson.dumps(
                        template_message(
                            phone,
                            "rabatt_aktion",
                            "de",
                            body_params={"first_name": "Anna", "discount": "10 %"},
                            callback_data=f"k{i}",
                        )
                    ),
                )[1]
            )
            for i in range(2)
        ]
        assert all(a["messages"][0]["message_status"] == "accepted" for a in answers)  # accepted: the hold is async
        sb.advance(60)
        sb.wait_idle()
        failed = [
            s
            for b in sb.emitted()
            for c in b["payload"]["entry"][0]["changes"]
            for s in c["value"].get("statuses", [])
            if s["status"] == "failed"
        ]
    assert [s["biz_opaque_callback_data"] for s in failed] == ["k1"]
    error = failed[0]["errors"][0]
    assert error["code"] == 131049 and error["error_data"]["details"]


def test_a_hold_schedules_one_retry_24h_later_only_when_the_campaign_opted_in(store):
    receiver = WebhookReceiver(store, APP_SECRET, VERIFY_TOKEN, clock=ManualClock(START))
    add_campaign(store, "opt", [("w.a", "+4915100000001"), ("w.b", "+4915100000002")])
    add_campaign(store, "plain", [("w.c", "+4915100000003")])
    set_held_retry(store, "opt")
    with store.transaction() as conn:  # a later marketing reservation for customer b pushes its retry
        conn.execute(
            "INSERT INTO marketing_reservations (phone, campaign_id, reserved_at) VALUES (?, 'other', ?)",
            ("+4915100000002", START + 3_600),
        )
    for wamid, key in (("w.a", "opt:0"), ("w.b", "opt:1"), ("w.c", "plain:0")):
        post(receiver, status(wamid, "failed", ts=START + 60, callback=key, errors=HOLD))
    post(receiver, status("w.a", "failed", ts=START + 60, callback="opt:0", errors=HOLD))  # redelivered
    rows = {
        r["recipient_key"]: dict(r)
        for r in store.query("SELECT recipient_key, state, error_code, retry_after FROM sends")
    }
    assert rows["opt:0"] == {
        "recipient_key": "opt:0",
        "state": "failed",
        "error_code": 131049,
        "retry_after": START + 60 + DAY,
    }
    assert rows["opt:1"]["retry_after"] == START + 3_600 + DAY  # the 24 h marketing cap
    assert rows["plain:0"]["retry_after"] is None  # not opted in: no retry
    assert list(due_held_retries(store, START + DAY).recipient_key) == []
    assert list(due_held_retries(store, START + 60 + DAY).recipient_key) == ["opt:0"]
    assert list(due_held_retries(store, START + 2 * DAY).recipient_key) == ["opt:0", "opt:1"]
    assert held_customers(store) == ["Copt0", "Copt1", "Cplain0"]
    assert held_customers(store, "plain") == ["Cplain0"] and held_count(store, "opt") == 2


def test_held_is_its_own_outcome_in_the_funnel_and_the_error_breakdown():
    at = pd.Timestamp("2026-11-20 09:00", tz="UTC")
    sends = pd.DataFrame(
        {
            "campaign_id": ["c"] * 4,
            "customer_id": ["1", "2", "3", "4"],
            "phone": ["+491", "+492", "+493", "+494"],
            "state": ["delivered", "failed", "failed", "failed"],
            "error_code": [None, 131049, 131049, 131026],
            **{col: [at, pd.NaT, pd.NaT, pd.NaT] for col in ("accepted_at", "sent_at", "delivered_at")},
            "read_at": [pd.NaT] * 4,
        }
    )
    empty_in = pd.DataFrame({"phone": pd.Series(dtype=str), "timestamp": pd.Series(dtype="datetime64[ns, UTC]")})
    empty_orders = pd.DataFrame(
        {
            "customer_id": pd.Series(dtype=str),
            "at": pd.Series(dtype="datetime64[ns, UTC]"),
            "amount": pd.Series(dtype=float),
        }
    )
    rich = enrich(sends, empty_in, empty_orders)
    row = funnel(rich).iloc[0]
    assert (row["failed"], row["held"], row["delivered"]) == (1, 2, 1)
    table = failures(rich)
    assert list(zip(table.outcome, table.error_code, table["count"], strict=True)) == [
        ("failed", 131026, 1),
        ("held by Meta", 131049, 2),
    ]
    assert table.share_of_failed.iloc[0] == 1.0 and pd.isna(table.share_of_failed.iloc[1])
