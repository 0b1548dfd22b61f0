"""Signed webhooks from the sandbox to a real HTTP receiver: handshake, batches, retries, duplicates."""

from __future__ import annotations

import httpx
import pandas as pd
import pytest
from helpers.processes import wait_until
from helpers.raw_receiver import VERIFY, Receiver

from wamkt_nb.clock import ManualClock
from wamkt_nb.cloudapi import template_message, text_message
from wamkt_nb.data.sample import generate
from wamkt_nb.graph_versions import CURRENT_VERSION
from wamkt_nb.sandbox import Sandbox, SandboxConfig, WebhookError

START = pd.Timestamp("2026-11-20 09:00", tz="UTC").timestamp()


@pytest.fixture(scope="module")
def data():
    return generate(80, seed=2, now="2026-11-20")


@pytest.fixture
def sb(data):
    cfg = SandboxConfig(pair_interval=0, not_on_whatsapp_rate=0, marketing_stopped_rate=0, webhook_retry_base=0.05)
    with Sandbox(customers=data, clock=ManualClock(START), config=cfg) as sandbox:
        yield sandbox


@pytest.fixture
def receiver(sb):
    r = Receiver(sb.app_secret.reveal())
    yield r
    r.close()


def send(sb, payload):
    with httpx.Client() as http:
        resp = http.post(
            f"{sb.base_url}/{CURRENT_VERSION}/{sb.phone_number_id}/messages",
            json=payload,
            headers={"Authorization": f"Bearer {sb.access_token.reveal()}"},
        )
    assert resp.status_code == 200, resp.text
    return resp.json()["messages"][0]["id"]


def test_handshake_required_and_checked(sb, receiver):
    with pytest.raises(WebhookError, match="verification"):
        sb.set_webhook(receiver.url, "wrong-token")
    assert sb.emitter.url is None
    sb.set_webhook(receiver.url, VERIFY)
    assert sb.emitter.url == receiver.url
    assert sb.settings().verify_token.reveal() == VERIFY


def test_signed_statuses_in_metas_shape_with_callback_data(sb, receiver, data):
    sb.set_webhook(receiver.url, VERIFY)
    phones = data.customers.loc[data.customers.phone.str.startswith("+49"), "phone"].head(30).tolist()
    wamids = [
        send(sb, template_message(p, "order_shipped", "de", ["A", "#1"], callback_data=f"cmp7:{i}"))
        for i, p in enumerate(phones)
    ]
    sb.advance(2 * 86_400)
    assert sb.wait_idle(60)
    assert receiver.bad_signatures == 0
    statuses = receiver.statuses()
    by_id = {}
    for s in statuses:
        by_id.setdefault(s["id"], []).append(s)
    assert set(by_id) == set(wamids)
    sent = [s for s in statuses if s["status"] == "sent"]
    assert len(sent) == 30
    s0 = next(s for s in sent if s["id"] == wamids[0])
    assert s0["biz_opaque_callback_data"] == "cmp7:0" and s0["recipient_id"] == phones[0][1:]
    assert s0["timestamp"].isdigit()
    assert s0["pricing"] == {"billable": True, "pricing_model": "PMP", "type": "regular", "category": "utility"}
    assert sum(s["status"] == "delivered" for s in statuses) >= 25
    post = receiver.posts[0]
    assert post["object"] == "whatsapp_business_account" and post["entry"][0]["id"] == sb.waba_id
    value = post["entry"][0]["changes"][0]["value"]
    assert value["metadata"] == {
        "display_phone_number": sb.config.display_phone_number,
        "phone_number_id": sb.phone_number_id,
    }
    assert any(len(p["entry"][0]["changes"]) > 1 for p in receiver.posts)  # updates arrive batched


def test_failed_status_carries_errors(sb, receiver, data):
    sb.set_webhook(receiver.url, VERIFY)
    closed = next(c for c in sb.engine.customers.values() if not c.window_open(START, 24))
    wamid = send(sb, text_message(closed.phone, "Hallo", callback_data="cmp:x"))
    sb.advance(5)
    sb.wait_idle(60)
    failed = [s for s in receiver.statuses() if s["id"] == wamid]
    assert [s["status"] for s in failed] == ["failed"]
    err = failed[0]["errors"][0]
    assert err["code"] == 131047 and err["title"] == "Re-engagement message" and err["error_data"]["details"]
    assert failed[0]["biz_opaque_callback_data"] == "cmp:x" and "pricing" not in failed[0]


def test_inbound_message_injected_and_via_http(sb, receiver, data):
    sb.set_webhook(receiver.url, VERIFY)
    customer = next(iter(sb.engine.customers.values()))
    wamid = sb.inject_inbound(customer.phone, "Rabatt")
    resp = httpx.post(
        f"{sb.base_url}/_sandbox/inbound",
        json={"from": customer.customer_id, "text": "JA"},
        headers={"Authorization": f"Bearer {sb.access_token.reveal()}"},
    )
    assert resp.status_code == 200
    wait_until(lambda: len(receiver.messages()) == 2)
    value, msg = receiver.messages()[0]
    # Since April 2026 Meta adds the user's BSUID to every messages webhook (docs/cloud-api.md).
    assert msg == {
        "from": customer.wa_id,
        "from_user_id": customer.user_id,
        "id": wamid,
        "timestamp": str(int(START)),
        "type": "text",
        "text": {"body": "Rabatt"},
    }
    assert value["contacts"] == [
        {"profile": {"name": customer.name}, "wa_id": customer.wa_id, "user_id": customer.user_id}
    ]
    assert receiver.messages()[1][1]["text"]["body"] == "JA"
    assert customer.window_open(START + 1, 24)


def test_retries_after_non_200_with_backoff(sb, data):
    flaky = Receiver(sb.app_secret.reveal(), fail_first=2)
    try:
        sb.set_webhook(flaky.url, VERIFY)
        sb.inject_inbound(data.customers.phone.iloc[0], "Hallo?")
        wait_until(lambda: len(flaky.posts) == 1)
        assert sb.wait_idle(60)  # the emitter records the answer after the receiver stored the post
        counters = sb.counters()
        assert counters["webhook_retries"] == 2 and counters["webhook_posts"] == 3
        assert [e["status_code"] for e in sb.emitted()] == [500, 500, 200]
    finally:
        flaky.close()


def test_duplicate_delivery_on_demand(sb, receiver, data):
    sb.set_webhook(receiver.url, VERIFY)
    sb.set_faults(duplicate_webhook=1.0)
    wamid = sb.inject_inbound(data.customers.phone.iloc[1], "Info")
    wait_until(lambda: len(receiver.posts) == 2)
    assert sb.wait_idle(60)
    assert [m["id"] for _, m in receiver.messages()] == [wamid, wamid]
    assert sb.counters()["webhook_duplicates"] == 1


def test_register_callback_like_graph_api(sb, receiver):
    resp = httpx.post(
        f"{sb.base_url}/{CURRENT_VERSION}/{sb.waba_id}/subscribed_apps",
        json={"override_callback_uri": receiver.url, "verify_token": VERIFY},
        headers={"Authorization": f"Bearer {sb.access_token.reveal()}"},
    )
    assert resp.json() == {"success": True}
    assert sb.emitter.url == receiver.url
    bad = httpx.post(
        f"{sb.base_url}/{CURRENT_VERSION}/{sb.waba_id}/subscribed_apps",
        json={"override_callback_uri": receiver.url, "verify_token": "nope"},
        headers={"Authorization": f"Bearer {sb.access_token.reveal()}"},
    )
    assert bad.status_code == 400 and bad.json()["error"]["code"] == 100
