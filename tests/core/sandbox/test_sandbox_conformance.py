"""Requests shaped like Meta's documented examples, answered field by field like the Graph API."""

from __future__ import annotations

import httpx
import pandas as pd
import pytest

from wamkt_nb.clock import ManualClock
from wamkt_nb.data.sample import generate
from wamkt_nb.graph_versions import CURRENT_VERSION
from wamkt_nb.sandbox import Sandbox, SandboxConfig

START = pd.Timestamp("2026-11-20 09:00", tz="UTC").timestamp()


@pytest.fixture(scope="module")
def data():
    return generate(60, seed=5, now="2026-11-20")


@pytest.fixture
def sb(data):
    clock = ManualClock(START)
    with Sandbox(customers=data, clock=clock, config=SandboxConfig(not_on_whatsapp_rate=0)) as sandbox:
        yield sandbox


@pytest.fixture
def http(sb):
    headers = {"Authorization": f"Bearer {sb.access_token.reveal()}"}
    with httpx.Client(base_url=f"{sb.base_url}/{CURRENT_VERSION}", headers=headers) as client:
        yield client


def phone(data, i=0):
    return data.customers.phone.iloc[i]


def post(http, sb, body):
    return http.post(f"/{sb.phone_number_id}/messages", json=body)


def assert_error(resp, status, code):
    """Meta's envelope: WhatsApp errors carry ``error_data``; Graph-level ones (unknown object) only a message."""
    assert resp.status_code == status, resp.text
    err = resp.json()["error"]
    assert set(err) - {"error_data", "error_subcode"} == {"message", "type", "code", "fbtrace_id"}
    assert err["code"] == code
    if err["type"] == "GraphMethodException":
        assert err["message"].startswith("Unsupported ") and err["error_subcode"] == 33
    else:
        assert err["type"] == "OAuthException"
        prefix = "Unknown path components: /" if code == 2500 else f"(#{code}) "
        assert err["message"].startswith(prefix)
    if "error_data" in err:
        assert err["error_data"]["messaging_product"] == "whatsapp" and err["error_data"]["details"]
    assert len(err["fbtrace_id"]) >= 10
    return err


def test_text_message_answer_is_metas(sb, http, data):
    to = phone(data)
    resp = post(
        http,
        sb,
        {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": "text",
            "text": {"preview_url": False, "body": "Hallo Anna"},
        },
    )
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert set(body) == {"messaging_product", "contacts", "messages"}
    assert body["messaging_product"] == "whatsapp"
    assert body["contacts"] == [{"input": to, "wa_id": to.lstrip("+")}]
    assert len(body["messages"]) == 1 and set(body["messages"][0]) == {"id"}
    assert body["messages"][0]["id"].startswith("wamid.")


def test_template_positional_and_named(sb, http, data):
    positional = {
        "messaging_product": "whatsapp",
        "to": phone(data),
        "type": "template",
        "template": {
            "name": "order_shipped",
            "language": {"code": "de"},
            "components": [
                {"type": "body", "parameters": [{"type": "text", "text": "Anna"}, {"type": "text", "text": "#12345"}]}
            ],
        },
    }
    resp = post(http, sb, positional)
    assert resp.status_code == 200, resp.text
    assert resp.json()["messages"][0]["message_status"] == "accepted"
    named = {
        "messaging_product": "whatsapp",
        "to": phone(data, 1),
        "type": "template",
        "template": {
            "name": "rabatt_aktion",
            "language": {"code": "de"},
            "components": [
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "parameter_name": "discount", "text": "15 %"},
                        {"type": "text", "parameter_name": "first_name", "text": "Jonas"},
                    ],
                }
            ],
        },
    }
    assert post(http, sb, named).status_code == 200
    assert sb.messages_frame()["text"].tolist() == [
        "Hallo Anna, deine Bestellung #12345 ist unterwegs.",
        "Hallo Jonas, 15 % Rabatt für dich! Antworte JA für deinen Code.",
    ]


def test_template_with_media_header_and_url_button(sb, http, data):
    body = {
        "messaging_product": "whatsapp",
        "to": phone(data),
        "type": "template",
        "template": {
            "name": "willkommen",
            "language": {"code": "de"},
            "components": [
                {"type": "header", "parameters": [{"type": "image", "image": {"link": "https://x.example/a.jpg"}}]},
                {"type": "body", "parameters": [{"type": "text", "text": "Anna"}]},
                {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "w1"}]},
            ],
        },
    }
    assert post(http, sb, body).status_code == 200
    body["template"]["components"].pop()  # URL button parameter missing
    assert_error(post(http, sb, body), 400, 132000)


def test_media_and_interactive_buttons(sb, http, data):
    image = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": phone(data),
        "type": "image",
        "image": {"link": "https://x.example/a.jpg", "caption": "Neu im Shop"},
    }
    assert post(http, sb, image).status_code == 200
    upload = http.post(
        f"/{sb.phone_number_id}/media",
        data={"messaging_product": "whatsapp"},
        files={"file": ("rechnung.pdf", b"%PDF-1.4 Rechnung", "application/pdf")},
    )
    doc = {
        "messaging_product": "whatsapp",
        "to": phone(data, 1),
        "type": "document",
        "document": {"id": upload.json()["id"], "filename": "rechnung.pdf"},
    }
    assert post(http, sb, doc).status_code == 200
    buttons = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": phone(data, 2),
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": "Möchtest du einen Rabattcode?"},
            "footer": {"text": "Shop"},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": "yes", "title": "JA"}},
                    {"type": "reply", "reply": {"id": "no", "title": "Nein"}},
                ]
            },
        },
    }
    assert post(http, sb, buttons).status_code == 200
    buttons["interactive"]["action"]["buttons"] *= 2
    assert_error(post(http, sb, buttons), 400, 131009)
    both = {**image, "image": {"link": "https://x.example/a.jpg", "id": "1"}}
    assert_error(post(http, sb, both), 400, 131009)


def test_auth_errors(sb, data):
    body = {"messaging_product": "whatsapp", "to": phone(data), "type": "text", "text": {"body": "x"}}
    url = f"{sb.base_url}/{CURRENT_VERSION}/{sb.phone_number_id}/messages"
    assert_error(httpx.post(url, json=body), 401, 190)
    assert_error(httpx.post(url, json=body, headers={"Authorization": "Bearer wrong"}), 401, 190)
    assert_error(httpx.get(f"{sb.base_url}/{CURRENT_VERSION}/{sb.waba_id}/message_templates"), 401, 190)
    # Graph also takes the token as a query parameter
    token = sb.access_token.reveal()
    assert httpx.post(url, json=body, params={"access_token": token}).status_code == 200
    assert (
        httpx.get(
            f"{sb.base_url}/{CURRENT_VERSION}/{sb.waba_id}/message_templates", params={"access_token": token}
        ).status_code
        == 200
    )


@pytest.mark.parametrize(
    "change,status,code",
    [
        ({"messaging_product": None}, 400, 100),
        ({"to": None}, 400, 100),
        ({"to": "not-a-number"}, 400, 131009),
        ({"to": "+4930123456"}, 400, 131021),
        ({"type": "hologram"}, 400, 131051),
        ({"text": {"preview_url": False}}, 400, 131008),
        ({"text": {"body": "x" * 4097}}, 400, 100),
        ({"biz_opaque_callback_data": "k" * 513}, 400, 100),
        ({"recipient_type": "group"}, 400, 100),
    ],
)
def test_body_validation(sb, http, data, change, status, code):
    body = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": phone(data),
        "type": "text",
        "text": {"body": "Hallo"},
    }
    body.update(change)
    body = {k: v for k, v in body.items() if v is not None}
    assert_error(post(http, sb, body), status, code)


def test_malformed_json_and_unknown_objects(sb, http, data):
    resp = http.post(
        f"/{sb.phone_number_id}/messages", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert_error(resp, 400, 100)
    assert_error(http.post("/999/messages", json={"messaging_product": "whatsapp"}), 400, 100)
    assert_error(http.get("/42424242"), 400, 100)
    bad_version = httpx.post(
        f"{sb.base_url}/v9.0/{sb.phone_number_id}/messages",
        json={},
        headers={"Authorization": f"Bearer {sb.access_token.reveal()}"},
    )
    assert_error(bad_version, 400, 2500)  # a retired version: Meta's "Unknown path components"
    assert (
        post(
            http, sb, {"messaging_product": "whatsapp", "to": phone(data), "type": "text", "text": {"body": "still up"}}
        ).status_code
        == 200
    )


def template(name, params, lang="de"):
    comps = [{"type": "body", "parameters": params}] if params is not None else []
    return {
        "messaging_product": "whatsapp",
        "to": "+4915112345678",
        "type": "template",
        "template": {"name": name, "language": {"code": lang}, "components": comps},
    }


@pytest.mark.parametrize(
    "body,code",
    [
        (template("nope", []), 132001),
        (template("order_shipped", [], lang="fr"), 132001),
        (template("neue_kollektion", [{"type": "text", "text": "A"}]), 132001),
        (template("order_shipped", [{"type": "text", "text": "Anna"}]), 132000),
        (
            template(
                "order_shipped",
                [
                    {"type": "text", "text": "A", "parameter_name": "x"},
                    {"type": "text", "text": "B", "parameter_name": "y"},
                ],
            ),
            132012,
        ),
        (template("rabatt_aktion", [{"type": "text", "text": "A"}, {"type": "text", "text": "B"}]), 132012),
        (
            template(
                "rabatt_aktion",
                [
                    {"type": "text", "parameter_name": "first_name", "text": "A"},
                    {"type": "text", "parameter_name": "other", "text": "B"},
                ],
            ),
            132000,
        ),
        (template("order_shipped", [{"type": "text", "text": "A" * 1100}, {"type": "text", "text": "B"}]), 132005),
        (template("winter_sale", [{"type": "text", "text": "A"}]), 132015),
        (template("alte_aktion", [{"type": "text", "text": "A"}]), 132016),
    ],
)
def test_template_errors(sb, http, body, code):
    assert_error(post(http, sb, body), 400, code)


def test_templates_list_paging_get_and_phone_number(sb, http):
    first = http.get(f"/{sb.waba_id}/message_templates", params={"fields": "name,status,language", "limit": 3})
    assert first.status_code == 200
    page = first.json()
    assert len(page["data"]) == 3 and set(page["data"][0]) == {"id", "name", "status", "language"}
    names = [t["name"] for t in page["data"]]
    while "next" in page.get("paging", {}):
        page = http.get(page["paging"]["next"]).json()  # Meta's absolute next URL, followed as given
        names += [t["name"] for t in page["data"]]
    assert len(names) == 8 and "winter_sale" in names
    one = http.get(f"/{sb.waba_id}/message_templates", params={"status": "PAUSED"}).json()["data"]
    assert [t["name"] for t in one] == ["winter_sale"]
    page, approved = http.get(f"/{sb.waba_id}/message_templates", params={"status": "APPROVED", "limit": 2}).json(), []
    while True:  # the filter stays on every "next" page
        approved += [t["status"] for t in page["data"]]
        if "next" not in page.get("paging", {}):
            break
        page = http.get(page["paging"]["next"]).json()
    everything = http.get(f"/{sb.waba_id}/message_templates", params={"limit": 100}).json()["data"]
    assert set(approved) == {"APPROVED"} and len(approved) == sum(t["status"] == "APPROVED" for t in everything) > 2
    got = http.get(f"/{one[0]['id']}", params={"fields": "name,status"}).json()
    assert got == {"id": one[0]["id"], "name": "winter_sale", "status": "PAUSED"}
    phone_fields = http.get(
        f"/{sb.phone_number_id}", params={"fields": "quality_rating,throughput,messaging_limit_tier"}
    ).json()
    assert phone_fields == {
        "id": sb.phone_number_id,
        "quality_rating": "GREEN",
        "throughput": {"level": "STANDARD"},
        "messaging_limit_tier": "TIER_2K",
    }


def test_create_template_review_and_errors(sb, http):
    body = {
        "name": "herbst_news",
        "language": "de",
        "category": "MARKETING",
        "components": [
            {"type": "BODY", "text": "Hallo {{1}}, neue Herbstmode ist da.", "example": {"body_text": [["Anna"]]}}
        ],
    }
    resp = http.post(f"/{sb.waba_id}/message_templates", json=body)
    assert resp.status_code == 200
    created = resp.json()
    assert created["status"] == "PENDING" and created["category"] == "MARKETING" and created["id"].isdigit()
    assert_error(http.post(f"/{sb.waba_id}/message_templates", json=body), 400, 100)  # exists already
    promo = {**body, "name": "promo", "components": [{"type": "BODY", "text": "Nur heute: alles gratis!"}]}
    promo_id = http.post(f"/{sb.waba_id}/message_templates", json=promo).json()["id"]
    assert http.get(f"/{promo_id}").json().keys() == http.get(f"/{created['id']}").json().keys()  # no hidden verdict
    for bad in (
        {**body, "name": "Bad Name"},
        {**body, "category": "SPAM"},
        {
            **body,
            "name": "x1",
            "components": [{"type": "BODY", "text": "{{1}} hallo", "example": {"body_text": [["A"]]}}],
        },
        {**body, "name": "x2", "components": [{"type": "BODY", "text": "Hallo {{1}} du"}]},
        {**body, "name": "x3", "components": [{"type": "BODY", "text": "ok"}, {"type": "FOOTER", "text": "f" * 61}]},
    ):
        assert_error(http.post(f"/{sb.waba_id}/message_templates", json=bad), 400, 100)
    assert_error(
        http.post(f"/{sb.waba_id}/message_templates", content=b"[", headers={"Content-Type": "application/json"}),
        400,
        100,
    )
    sb.advance(sb.config.template_review_seconds + 1)
    assert http.get(f"/{created['id']}").json()["status"] == "APPROVED"
    rejected = http.get(f"/{promo_id}").json()
    assert rejected["status"] == "REJECTED" and rejected["rejected_reason"] == "PROMOTIONAL"
    sb.wait_idle()
    updates = [
        c["value"]
        for batch in sb.emitted()
        for c in batch["payload"]["entry"][0]["changes"]
        if c["field"] == "message_template_status_update"
    ]
    assert {(u["message_template_name"], u["event"]) for u in updates} == {
        ("herbst_news", "APPROVED"),
        ("promo", "REJECTED"),
    }
