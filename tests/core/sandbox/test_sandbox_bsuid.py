"""The sandbox's business-scoped user IDs: every customer has one, username users' webhooks carry no phone,
and a send addressed by ``recipient`` reaches the customer (docs/cloud-api.md, "Business-scoped user IDs")."""

from __future__ import annotations

import httpx
import pandas as pd
import pytest
from helpers.processes import wait_until
from helpers.raw_receiver import VERIFY, Receiver

from wamkt_nb.bsuid import bsuid_country, is_bsuid
from wamkt_nb.clock import ManualClock
from wamkt_nb.cloudapi import template_message, text_message
from wamkt_nb.data.loaders import load_customers, to_customer_data
from wamkt_nb.data.sample import generate
from wamkt_nb.graph_versions import CURRENT_VERSION
from wamkt_nb.sandbox import Sandbox, SandboxConfig
from wamkt_nb.webhooks.updates import parse_payload

START = pd.Timestamp("2026-11-20 09:00", tz="UTC").timestamp()


@pytest.fixture(scope="module")
def data():
    return generate(90, seed=3, now="2026-11-20")


@pytest.fixture
def sb(data):
    cfg = SandboxConfig(
        pair_interval=0, not_on_whatsapp_rate=0, marketing_stopped_rate=0, username_share=1 / 3, webhook_retry_base=0.05
    )
    with Sandbox(customers=data, clock=ManualClock(START), config=cfg) as sandbox:
        yield sandbox


@pytest.fixture
def receiver(sb):
    r = Receiver(sb.app_secret.reveal())
    sb.set_webhook(r.url, VERIFY)
    yield r
    r.close()


def post(sb, body):
    with httpx.Client() as http:
        return http.post(
            f"{sb.base_url}/{CURRENT_VERSION}/{sb.phone_number_id}/messages",
            json=body,
            headers={"Authorization": f"Bearer {sb.access_token.reveal()}"},
        )


def batches(receiver):
    return [parse_payload(p) for p in receiver.posts]


def test_every_customer_has_a_bsuid_of_their_country_and_a_share_are_username_users(sb, data):
    customers = list(sb.engine.customers.values())
    assert all(is_bsuid(c.user_id) for c in customers) and len({c.user_id for c in customers}) == len(customers)
    country = data.customers.set_index("customer_id")["country"]
    assert all(bsuid_country(c.user_id) == country[c.customer_id] for c in customers)
    usernames = [c for c in customers if c.username]
    assert 0.2 < len(usernames) / len(customers) < 0.47
    assert all(c.username.startswith("@") and not c.shares_phone for c in usernames)
    with Sandbox(customers=data, clock=ManualClock(START), config=SandboxConfig(username_share=0)) as plain:
        again = {c.customer_id: c.user_id for c in plain.engine.customers.values()}
        assert not any(c.username for c in plain.engine.customers.values())
    assert again == {c.customer_id: c.user_id for c in customers}  # the share changes nothing else


def test_username_users_write_without_a_phone(sb, receiver):
    user = next(c for c in sb.engine.customers.values() if c.username)
    sb.inject_inbound(user.user_id, "Hallo")
    wait_until(lambda: receiver.messages())
    value, raw = receiver.messages()[0]
    assert "from" not in raw and raw["from_user_id"] == user.user_id
    assert value["contacts"] == [{"profile": {"name": user.name, "username": user.username}, "user_id": user.user_id}]
    (msg,) = batches(receiver)[0].inbound
    assert (msg.wa_id, msg.user_id, msg.username, msg.text) == (None, user.user_id, user.username, "Hallo")
    assert user.window_open(START + 1, 24)


def test_a_stop_from_a_username_user_is_a_preference_by_bsuid(sb, receiver):
    user = next(c for c in sb.engine.customers.values() if c.username)
    sb.inject_inbound(user.user_id, "STOP")
    wait_until(lambda: any(b.preferences for b in batches(receiver)))
    (pref,) = [p for b in batches(receiver) for p in b.preferences]
    assert (pref.wa_id, pref.user_id, pref.value) == (None, user.user_id, "stop") and user.marketing_stopped


def test_a_send_by_recipient_reaches_the_customer_and_its_statuses_name_the_bsuid(sb, receiver):
    user = next(c for c in sb.engine.customers.values() if c.username and c.wa_id and not c.wa_id.startswith("1"))
    resp = post(sb, template_message(user.user_id, "order_shipped", "de", ["Anna", "#1"], callback_data="c:1"))
    assert resp.status_code == 200, resp.text
    assert resp.json()["contacts"] == [{"input": user.user_id, "user_id": user.user_id}]
    wamid = resp.json()["messages"][0]["id"]
    sb.advance(86_400)
    wait_until(lambda: any(s["status"] == "delivered" for s in receiver.statuses()))
    statuses = [s for b in batches(receiver) for s in b.statuses if s.wamid == wamid]
    assert {s.status for s in statuses} >= {"sent", "delivered"}
    for st in statuses:
        assert (st.recipient_id, st.recipient_user_id, st.callback_data) == (None, user.user_id, "c:1")
        assert st.username == (user.username if st.status in ("delivered", "read") else None)
    frame = sb.messages_frame().set_index("wamid")
    assert frame.loc[wamid, "customer_id"] == user.customer_id


def test_a_send_to_the_phone_of_a_username_user_still_names_the_phone(sb, receiver):
    user = next(c for c in sb.engine.customers.values() if c.username and c.wa_id)
    wamid = post(sb, template_message(user.phone, "order_shipped", "de", ["Anna", "#1"])).json()["messages"][0]["id"]
    sb.advance(60)
    wait_until(lambda: any(s["id"] == wamid for s in receiver.statuses()))
    sent = next(s for b in batches(receiver) for s in b.statuses if s.wamid == wamid)
    assert (sent.recipient_id, sent.recipient_user_id) == (user.wa_id, user.user_id)


def test_recipient_checks(sb):
    bad = post(sb, {**text_message("US.1", "x"), "recipient": "+4915112345678"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == 131009
    customer = next(iter(sb.engine.customers.values()))
    both = post(
        sb,
        {
            **template_message(customer.phone, "order_shipped", "de", ["A", "#1"]),
            "recipient": "US.99999999999999999999",
        },
    )
    assert both.json()["contacts"][0]["input"] == customer.phone  # Meta: "to" wins over "recipient"
    unknown = post(sb, template_message("DE.12345678901234567890", "order_shipped", "de", ["A", "#1"]))
    assert unknown.status_code == 200  # accepted, then failed as undeliverable like an unknown phone
    sb.advance(60)
    wamid = unknown.json()["messages"][0]["id"]
    assert sb.messages_frame().set_index("wamid").loc[wamid, "error_code"] == 131026


def test_username_share_is_checked():
    with pytest.raises(ValueError, match="username_share"):
        SandboxConfig(username_share=1.5)


def test_a_customer_loaded_with_only_a_bsuid_is_reachable_by_recipient():
    loaded = load_customers(
        b"id,name,phone,bsuid\n1,Anna,+491511234567,\n2,Ben,,DE.24817305912873645029\n",
        name="x.csv",
        id_key=b"a test workspace key of 32 bytes",
    )
    cfg = SandboxConfig(not_on_whatsapp_rate=0, marketing_stopped_rate=0)
    with Sandbox(customers=to_customer_data(loaded), clock=ManualClock(START), config=cfg) as sb:
        ben = sb.engine.find_customer("DE.24817305912873645029")
        assert (ben.customer_id, ben.wa_id, ben.phone) == ("2", None, None) and ben.username
        anna = sb.engine.find_customer("+491511234567")
        assert bsuid_country(anna.user_id) == "DE" and anna.username is None  # username_share 0: phone shared
        resp = post(sb, template_message(ben.user_id, "order_shipped", "de", ["Ben", "#2"]))
        assert resp.status_code == 200, resp.text
        sb.advance(60)
        wamid = resp.json()["messages"][0]["id"]
        row = sb.messages_frame().set_index("wamid").loc[wamid]
        assert row["customer_id"] == "2" and row["status"] in ("sent", "delivered", "read")


def test_authentication_templates_need_a_phone(sb):
    created = sb.engine.templates.create(
        {
            "name": "login_code",
            "language": "de",
            "category": "AUTHENTICATION",
            "components": [
                {"type": "BODY", "text": "Dein Code: {{1}}. Nicht weitergeben.", "example": {"body_text": [["123456"]]}}
            ],
        },
        START,
    )
    sb.engine.set_template_status(created["id"], "APPROVED")
    customer = next(iter(sb.engine.customers.values()))
    resp = post(sb, template_message(customer.user_id, "login_code", "de", ["123456"]))
    assert resp.status_code == 400 and resp.json()["error"]["code"] == 131062
    assert post(sb, template_message(customer.phone, "login_code", "de", ["123456"])).status_code == 200
