"""The receiver core without HTTP: parsing every update kind, dedupe, forward-only ledger, consent, windows."""

from __future__ import annotations

import json

import pytest
from helpers.webhook_payloads import (
    APP_SECRET,
    VERIFY_TOKEN,
    inbound,
    preference,
    signed,
    status,
    template_quality_update,
    template_update,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from wamkt_nb.clock import ManualClock
from wamkt_nb.compliance.rules import SERVICE_WINDOW_SECONDS, window_open
from wamkt_nb.ledger import apply_status, moves_forward, reconcile_sends
from wamkt_nb.store import open_store
from wamkt_nb.webhooks import WebhookReceiver, parse_payload, sign_body, verify_signature
from wamkt_nb.webhooks.consent import opted_out
from wamkt_nb.webhooks.updates import PayloadError, StatusUpdate

pytestmark = pytest.mark.both_stores


@pytest.fixture
def receiver(store):
    return WebhookReceiver(store, APP_SECRET, VERIFY_TOKEN, clock=ManualClock(1_750_000_000))


def add_send(store, key="cmp42:17", state="accepted", wamid=None):
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO campaigns (campaign_id, name, category, created_at)"
            " VALUES ('cmp42', 'x', 'marketing', 0) ON CONFLICT DO NOTHING"
        )
        conn.execute(
            "INSERT INTO sends (campaign_id, recipient_key, customer_id, phone, state, wamid, updated_at)"
            " VALUES ('cmp42', ?, '17', '+4915112345678', ?, ?, 0)",
            (key, state, wamid),
        )


def send_row(store, key="cmp42:17"):
    return dict(store.query("SELECT * FROM sends WHERE recipient_key = ?", (key,))[0])


def post(receiver, payload):
    body, headers = signed(payload)
    return receiver.receive(body, headers["X-Hub-Signature-256"])


# --- signature -------------------------------------------------------------------------------


def test_signature_roundtrip_and_failing_closed():
    body = b'{"a":1}'
    good = sign_body(body, APP_SECRET)
    assert good.startswith("sha256=") and len(good) == 7 + 64
    assert verify_signature(body, good, APP_SECRET)
    assert not verify_signature(body + b" ", good, APP_SECRET)
    assert not verify_signature(body, sign_body(body, "other"), APP_SECRET)
    assert not verify_signature(body, None, APP_SECRET)
    assert not verify_signature(body, good[7:], APP_SECRET)  # no "sha256=" prefix
    assert not verify_signature(body, sign_body(body, ""), "")  # no secret configured: refuse everything


def test_handshake(receiver):
    ok = receiver.handshake({"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"})
    assert (ok.status, ok.body) == (200, b"1158201444")
    assert receiver.handshake({"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1"}).status == 403
    assert (
        receiver.handshake({"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"}).status
        == 403
    )
    assert receiver.handshake({}).status == 403


def test_secrets_never_in_repr(receiver):
    assert APP_SECRET not in repr(receiver) and VERIFY_TOKEN not in repr(receiver)
    assert APP_SECRET not in repr(vars(receiver))


# --- parsing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "extra, expected",
    [
        ({}, "Rabatt"),
        (
            {
                "type": "interactive",
                "interactive": {"type": "button_reply", "button_reply": {"id": "b1", "title": "JA"}},
            },
            "JA",
        ),
        (
            {
                "type": "interactive",
                "interactive": {"type": "list_reply", "list_reply": {"id": "l1", "title": "Schuhe"}},
            },
            "Schuhe",
        ),
        ({"type": "button", "button": {"payload": "STOP_PROMO", "text": "Stop promotions"}}, "Stop promotions"),
        ({"type": "image", "image": {"id": "img1", "mime_type": "image/jpeg", "caption": "kaputt"}}, "kaputt"),
        ({"type": "reaction", "reaction": {"message_id": "wamid.out", "emoji": "👍"}}, "👍"),
        ({"type": "unsupported", "errors": [{"code": 131051}]}, None),
    ],
)
def test_inbound_message_types(extra, expected):
    payload = inbound(**extra)
    if "type" in extra:
        payload["entry"][0]["changes"][0]["value"]["messages"][0].pop("text")
    batch = parse_payload(payload)
    [msg] = batch.inbound
    assert msg.text == expected and msg.phone == "+4915112345678" and msg.profile_name == "Anna Schmidt"
    assert msg.phone_number_id == "106540352242922" and msg.timestamp == 1749416383.0
    assert not batch.rejects


def test_context_and_status_fields():
    msg = parse_payload(inbound(context={"from": "4930123456", "id": "wamid.ours"})).inbound[0]
    assert msg.context_wamid == "wamid.ours"
    errors = [
        {
            "code": 131049,
            "title": "This message was not delivered to maintain healthy ecosystem engagement.",
            "message": "x",
            "error_data": {"details": "y"},
        }
    ]
    st_ = parse_payload(status("wamid.1", "failed", errors=errors)).statuses[0]
    assert (st_.status, st_.error_code, st_.callback_data) == ("failed", 131049, "cmp42:17")
    assert st_.error_title.startswith("This message") and st_.pricing_category == "marketing" and st_.billable is True


def test_preferences_and_templates():
    pref = parse_payload(preference("4915112345678", "stop")).preferences[0]
    assert (pref.phone, pref.value, pref.category) == ("+4915112345678", "stop", "marketing_messages")
    tpl = parse_payload(template_update("REJECTED", reason="PROMOTIONAL")).templates[0]
    assert (tpl.event, tpl.name, tpl.reason, tpl.language) == ("REJECTED", "order_shipped", "PROMOTIONAL", "de")


def test_bad_items_become_rejects_and_the_rest_is_kept():
    payload = inbound()
    value = payload["entry"][0]["changes"][0]["value"]
    value["messages"].append({"from": "not-a-phone", "id": "wamid.x", "timestamp": "1", "type": "text"})
    value["messages"].append({"from": "4915112345678", "id": "wamid.y", "timestamp": "soon", "type": "text"})
    value["statuses"] = [{"id": "wamid.z", "status": "exploded", "timestamp": "1"}]
    payload["entry"].append({"id": "W", "changes": [{"field": "account_update", "value": {}}]})
    batch = parse_payload(payload)
    assert [m.wamid for m in batch.inbound] == ["wamid.in1"]
    reasons = {r.field: r.reason for r in batch.rejects}
    assert (
        "entry[0].changes[0].value.messages[1]" in reasons
        and "phone number" in reasons["entry[0].changes[0].value.messages[1]"]
    )
    assert "timestamp" in reasons["entry[0].changes[0].value.messages[2]"]
    assert "exploded" in reasons["entry[0].changes[0].value.statuses[0]"]
    assert "account_update" in reasons["entry[1].changes[0].field"]


@pytest.mark.parametrize("payload", [[], "x", {"object": "page", "entry": []}, {"object": "whatsapp_business_account"}])
def test_wrong_envelope(payload):
    with pytest.raises(PayloadError):
        parse_payload(payload)


# --- recording -------------------------------------------------------------------------------


def test_inbound_recorded_once_opens_window(receiver, store):
    first = post(receiver, inbound(text="Hallo"))
    again = post(receiver, inbound(text="Hallo"))
    assert first.status == again.status == 200
    assert json.loads(first.body)["inbound"] == 1
    assert (json.loads(again.body)["inbound"], json.loads(again.body)["duplicates"]) == (0, 1)
    rows = store.query("SELECT phone, text, profile_name FROM inbound_messages")
    assert [tuple(r) for r in rows] == [("+4915112345678", "Hallo", "Anna Schmidt")]
    assert window_open(store, "+4915112345678", 1749416383 + SERVICE_WINDOW_SECONDS - 1)
    assert not window_open(store, "+4915112345678", 1749416383 + SERVICE_WINDOW_SECONDS + 1)
    post(receiver, inbound(text="older", wamid="wamid.old", ts=1749416000))  # late older message
    assert window_open(store, "+4915112345678", 1749416383 + SERVICE_WINDOW_SECONDS - 1)


def test_status_duplicates_recorded_once(receiver, store):
    add_send(store, wamid="wamid.1")
    post(receiver, status("wamid.1", "delivered"))
    post(receiver, status("wamid.1", "delivered"))
    assert store.query("SELECT count(*) FROM status_events")[0][0] == 1
    assert send_row(store)["state"] == "delivered"


def test_stop_keyword_and_user_preferences(receiver, store):
    post(receiver, inbound(text="STOP!", wamid="w1", ts=1000))
    assert opted_out(store, "+4915112345678")
    row = store.query("SELECT source FROM consent")[0]
    assert row[0] == "keyword"
    post(receiver, preference("4915112345678", "resume", ts=2000))
    assert not opted_out(store, "+4915112345678")
    post(receiver, inbound(text="abmelden", wamid="w2", ts=1500))  # older than the resume: ignored
    assert not opted_out(store, "+4915112345678")
    post(receiver, preference("4915112345678", "stop", ts=3000))
    assert opted_out(store, "+4915112345678")
    post(receiver, inbound(text="Start", wamid="w3", ts=4000))
    assert not opted_out(store, "+4915112345678")
    post(receiver, inbound(text="stop sending me the wrong size", wamid="w4", ts=5000))  # not the keyword alone
    assert not opted_out(store, "+4915112345678")


def test_quick_reply_with_stop_payload_opts_out_whatever_its_label(receiver, store):
    """Regression (issue 14): a quick reply labelled "Stop promotions" with payload ``STOP`` recorded
    no opt-out, because the label was read before the payload and only a whole "STOP" counted."""
    tap = inbound(
        wamid="w1",
        ts=1000,
        type="button",
        button={"payload": "STOP", "text": "Stop promotions"},
        context={"from": "4930123456", "id": "wamid.out1"},
    )
    del tap["entry"][0]["changes"][0]["value"]["messages"][0]["text"]
    post(receiver, tap)
    assert opted_out(store, "+4915112345678")
    row = store.query("SELECT type, text FROM inbound_messages WHERE wamid = 'w1'")[0]
    assert tuple(row) == ("button", "Stop promotions")  # the inbox shows what the customer tapped
    resume = inbound(wamid="w2", ts=2000, type="button", button={"payload": "Start", "text": "Angebote wieder"})
    post(receiver, resume)
    assert not opted_out(store, "+4915112345678")
    post(receiver, inbound(wamid="w3", ts=3000, type="button", button={"payload": "promo_yes", "text": "STOP"}))
    assert opted_out(store, "+4915112345678")  # no keyword in the payload: a label that is one counts


def test_redelivered_template_status_webhook_is_stored_once(receiver, store):
    """Regression (issue 14): a redelivered template status webhook was stored twice."""
    paused = template_update("PAUSED", reason="LOW_QUALITY", time=1_750_000_100)
    post(receiver, paused)
    post(receiver, paused)  # Meta redelivers the same change
    assert store.query("SELECT COUNT(*) FROM template_status_events")[0][0] == 1
    post(receiver, template_update("PAUSED", reason="LOW_QUALITY", time=1_750_020_000))  # a second pause
    post(receiver, template_update("APPROVED", time=1_750_000_100 + 3 * 3600))
    events = [tuple(r) for r in store.query("SELECT event, event_at FROM template_status_events ORDER BY event_id")]
    assert events == [("PAUSED", 1_750_000_100), ("PAUSED", 1_750_020_000), ("APPROVED", 1_750_010_900)]


def test_template_quality_update_recorded_once(receiver, store):
    update = template_quality_update("RED", "YELLOW", time=1_750_000_200)
    post(receiver, update)
    post(receiver, update)
    rows = store.query("SELECT name, language, previous_score, new_score, event_at FROM template_quality_events")
    assert [tuple(r) for r in rows] == [("order_shipped", "de", "YELLOW", "RED", 1_750_000_200)]


def test_template_updates_and_rejects_recorded(receiver, store):
    post(receiver, template_update("PAUSED", reason="LOW_QUALITY"))
    bad = inbound()
    bad["entry"][0]["changes"][0]["value"]["messages"][0]["from"] = "abc"
    assert post(receiver, bad).status == 200
    assert tuple(store.query("SELECT name, event, reason FROM template_status_events")[0]) == (
        "order_shipped",
        "PAUSED",
        "LOW_QUALITY",
    )
    assert "phone number" in store.query("SELECT reason FROM webhook_rejects")[0][0]


# --- ledger ----------------------------------------------------------------------------------


def test_delivered_after_read_records_delivered_at_without_moving_the_state_back(receiver, store):
    """Regression (issue 14): a ``delivered`` arriving after ``read`` left ``delivered_at`` empty."""
    add_send(store, wamid="wamid.1")
    post(receiver, status("wamid.1", "sent", ts=100))
    post(receiver, status("wamid.1", "read", ts=300))
    before = send_row(store)
    assert before["delivered_at"] is None
    post(receiver, status("wamid.1", "delivered", ts=200))
    after = send_row(store)
    assert after["state"] == "read" and after["read_at"] == 300 and after["delivered_at"] == 200
    assert {k: v for k, v in after.items() if k != "delivered_at"} == {
        k: v for k, v in before.items() if k != "delivered_at"
    }
    assert after["pricing_category"] == "marketing" and after["billable"] == 1
    post(receiver, status("wamid.1", "delivered", ts=250, callback=None))  # another late one keeps the first time
    assert send_row(store)["delivered_at"] == 200


def test_failed_with_error_and_final(receiver, store):
    add_send(store, wamid="wamid.1")
    post(receiver, status("wamid.1", "failed", errors=[{"code": 131050, "title": "User stopped marketing"}]))
    post(receiver, status("wamid.1", "read", ts=1750030999))
    row = send_row(store)
    assert (row["state"], row["error_code"], row["error_title"]) == ("failed", 131050, "User stopped marketing")


@pytest.mark.parametrize("state", ["excluded", "cancelled"])
def test_excluded_and_cancelled_untouched(receiver, store, state):
    add_send(store, state=state, wamid="wamid.1")
    post(receiver, status("wamid.1", "delivered"))
    assert send_row(store)["state"] == state


def test_lost_response_reconciled_by_callback_data(receiver, store):
    add_send(store, state="unknown", wamid=None)  # the send response never arrived
    post(receiver, status("wamid.new", "delivered", callback="cmp42:17"))
    row = send_row(store)
    assert (row["state"], row["wamid"]) == ("delivered", "wamid.new")


def test_reconcile_applies_events_recorded_before_the_wamid(receiver, store):
    post(receiver, status("wamid.early", "sent", callback=None))  # webhook faster than the send response
    add_send(store, state="in_flight", wamid=None)
    store.execute("UPDATE sends SET wamid = 'wamid.early'")
    assert reconcile_sends(store, ["cmp42:17"]) == 1
    assert send_row(store)["state"] == "sent"
    assert reconcile_sends(store, []) == 0


def test_moves_forward_table():
    assert moves_forward("accepted", "sent") and moves_forward("unknown", "read")
    assert not moves_forward("read", "delivered") and not moves_forward("delivered", "failed")
    assert moves_forward("sent", "failed") and not moves_forward("failed", "read")
    assert not moves_forward("excluded", "sent") and not moves_forward("read", "deleted")


@settings(max_examples=60, deadline=None)
@given(st.permutations(["sent", "delivered", "read"]), st.integers(0, 2))
def test_any_order_ends_at_the_highest_state(tmp_path_factory, order, dupes):
    store = open_store(tmp_path_factory.mktemp("ledger") / "w.db")
    add_send(store, wamid="wamid.1")
    for name in list(order) + list(order[:dupes]):
        with store.transaction() as conn:
            apply_status(conn, StatusUpdate("wamid.1", name, 1.0), 2.0)
    assert send_row(store)["state"] == "read"
    store.close()
