"""Interactive templates against the sandbox over HTTP: it reviews templates with buttons, offers and
carousels by Meta's rules, checks their sends' parameters with Meta's codes, and its customers tap
quick replies (with the business's payload), follow tracked URL buttons and copy coupon codes."""

from __future__ import annotations

import orjson
import pandas as pd
import pytest

from wamkt_nb.clock import ManualClock
from wamkt_nb.cloudapi import CloudClient, template_message
from wamkt_nb.cloudapi.errors import CloudAPIError
from wamkt_nb.cloudapi.payloads import carousel_card
from wamkt_nb.data.sample import generate
from wamkt_nb.messages import Button, template_from_text
from wamkt_nb.messages.templates import Card, LimitedTimeOffer
from wamkt_nb.sandbox import Sandbox, SandboxConfig

START = pd.Timestamp("2026-11-20 09:00", tz="UTC").timestamp()
EXPIRES_MS = int((START + 2 * 86_400) * 1000)
TRACKED = "http://127.0.0.1:9/l/{{1}}"  # a tracked link's shape; nothing listens on port 9

OFFER = template_from_text(
    "wochenend_angebot",
    "de",
    "marketing",
    "Hallo {{1}}, 25 % auf alles mit deinem Code!",
    examples={"1": "Anna"},
    offer=LimitedTimeOffer("Nur 48 Stunden!", has_expiration=True),
    buttons=[
        Button("COPY_CODE", example="WEEKEND25"),
        Button("URL", "Jetzt einkaufen", url=TRACKED, example="http://127.0.0.1:9/l/abcdefgh1234"),
    ],
)
QUICK = template_from_text(
    "umfrage_neu",
    "de",
    "marketing",
    "Was interessiert dich am meisten?",
    buttons=[Button("QUICK_REPLY", "Schuhe"), Button("QUICK_REPLY", "Jacken"), Button("QUICK_REPLY", "Keine Werbung")],
)


def card(n: int) -> Card:
    return Card(
        "IMAGE",
        f"https://cdn.example.com/{n}.jpg",
        "Nur {{1}} heute",
        (Button("QUICK_REPLY", "Mehr davon"),),
        {"1": "19 €"},
    )


CAROUSEL = template_from_text(
    "neuheiten_karussell", "de", "marketing", "Unsere Neuheiten der Woche:", cards=[card(1), card(2), card(3)]
)


@pytest.fixture(scope="module")
def sandbox():
    data = generate(300, seed=16, now="2026-11-20")
    cfg = SandboxConfig(pair_interval=0, throughput_per_second=10_000, messaging_tier="TIER_10K")
    box = Sandbox(customers=data, clock=ManualClock(START), config=cfg)
    box.start()
    with CloudClient(box.settings()) as client:
        for t in (OFFER, QUICK, CAROUSEL):
            info = client.create_template(box.waba_id, t.name, t.language, t.category, t.to_api())
            assert info.status == "PENDING"
        box.advance(box.config.template_review_seconds + 1)
        yield box, client, list(data.customers.phone)
    box.stop()


def refused(client: CloudClient, box: Sandbox, t_name: str, components: list) -> str:
    """What Meta's create endpoint answers for a template of ``components`` (a failing test if it accepts)."""
    with pytest.raises(CloudAPIError) as err:
        client.create_template(box.waba_id, t_name, "de", "MARKETING", components)
    assert err.value.code == 100 and err.value.http_status == 400
    return str(err.value.details or err.value.message)


def test_the_sandbox_approves_offers_coupons_quick_replies_and_carousels(sandbox):
    box, client, _ = sandbox
    approved = {t.name: t.status for t in client.list_templates(box.waba_id)}
    assert {approved[n] for n in ("wochenend_angebot", "umfrage_neu", "neuheiten_karussell")} == {"APPROVED"}


@pytest.mark.parametrize(
    ("components", "expected"),
    [
        (
            [
                {"type": "BODY", "text": "Hallo!"},
                {"type": "LIMITED_TIME_OFFER", "limited_time_offer": {"text": "Bald vorbei", "has_expiration": True}},
                {"type": "BUTTONS", "buttons": [{"type": "URL", "text": "Shop", "url": "https://x.example"}]},
            ],
            "limited-time offer: has_expiration needs a copy-code button",
        ),
        (
            [
                {"type": "BODY", "text": "Hallo!"},
                {"type": "BUTTONS", "buttons": [{"type": "COPY_CODE", "example": "VIEL_ZU_LANGER_CODE"}]},
            ],
            "buttons: button 1: needs an example code of 1 to 15 characters",
        ),
        (
            [
                {"type": "BODY", "text": "Neu:"},
                {"type": "CAROUSEL", "cards": [c.to_api() for c in [card(1)]]},
            ],
            "carousel: 1 cards; give 2 to 10",
        ),
        (
            [
                {"type": "BODY", "text": "Neu:"},
                {
                    "type": "CAROUSEL",
                    "cards": [
                        card(1).to_api(),
                        Card(
                            "IMAGE",
                            "h",
                            "Nur {{1}}",
                            (Button("URL", "Ansehen", url="https://x.example"),),
                            {"1": "9 €"},
                        ).to_api(),
                    ],
                },
            ],
            "card 2: buttons ['URL'] differ from card 1's ['QUICK_REPLY']",
        ),
        (
            [
                {"type": "BODY", "text": "Neu:"},
                {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "x" * 26}]},
            ],
            "buttons: button 1: label",
        ),
    ],
)
def test_the_sandbox_refuses_templates_meta_refuses_naming_the_part(sandbox, components, expected):
    box, client, _ = sandbox
    assert expected in refused(client, box, "abgelehnt", components)
    assert "abgelehnt" not in {t.name for t in client.list_templates(box.waba_id)}  # nothing filed; still serving


def send(client: CloudClient, box: Sandbox, payload: dict):
    return client.send_message(box.phone_number_id, payload)


def test_sends_must_give_what_the_interactive_parts_need(sandbox):
    box, client, phones = sandbox
    to = phones[0]
    good = dict(
        body_params=["Anna"], coupon=(0, "ANNA25"), offer_expires_ms=EXPIRES_MS, button_params={1: "abcdefgh1234"}
    )
    assert send(client, box, template_message(to, OFFER.name, "de", **good)).wamid
    cases = [
        (template_message(to, OFFER.name, "de", **(good | {"offer_expires_ms": None})), 132000, "expiration_time_ms"),
        (template_message(to, OFFER.name, "de", **(good | {"coupon": None})), 132000, "coupon_code"),
        (template_message(to, OFFER.name, "de", **(good | {"coupon": (1, "X1")})), 132000, "no copy-code button"),
        (
            template_message(to, QUICK.name, "de", quick_reply_payloads={5: "X"}),
            132000,
            "button 5: the template has no quick-reply",
        ),
        (
            template_message(
                to,
                CAROUSEL.name,
                "de",
                cards=[carousel_card(i, ("image", "https://c.example/i.jpg"), ["9 €"]) for i in range(2)],
            ),
            132012,
            "2 cards sent; the template has 3",
        ),
        (
            template_message(
                to,
                CAROUSEL.name,
                "de",
                cards=[carousel_card(i, ("video", "https://c.example/v.mp4"), ["9 €"]) for i in range(3)],
            ),
            132012,
            "carousel card 0: header",
        ),
        (
            template_message(
                to,
                CAROUSEL.name,
                "de",
                cards=[carousel_card(i, ("image", "https://c.example/i.jpg")) for i in range(3)],
            ),
            132000,
            "carousel card 0: body: 0 parameters",
        ),
    ]
    for payload, code, words in cases:
        with pytest.raises(CloudAPIError) as err:
            send(client, box, payload)
        assert err.value.code == code and words in err.value.details, (code, err.value.details)


def test_customers_tap_quick_replies_with_the_payload_and_follow_tracked_url_buttons(sandbox):
    box, client, phones = sandbox
    before = dict(box.engine.counters)
    sent = {}
    for i, phone in enumerate(phones[1:]):
        if i % 3 == 0:
            payload = template_message(
                phone, QUICK.name, "de", quick_reply_payloads={0: "SHOES", 1: "JACKETS", 2: "STOP"}
            )
        elif i % 3 == 1:
            cards = [
                carousel_card(
                    c, ("image", f"https://c.example/{c}.jpg"), ["9 €"], quick_reply_payloads={0: f"CARD_{c}"}
                )
                for c in range(3)
            ]
            payload = template_message(phone, CAROUSEL.name, "de", cards=cards)
        else:
            payload = template_message(
                phone,
                OFFER.name,
                "de",
                body_params=["Anna"],
                coupon=(0, "ANNA25"),
                offer_expires_ms=EXPIRES_MS,
                button_params={1: "abcdefgh1234"},
            )
        sent[send(client, box, payload).wamid] = payload["template"]["name"]
    box.advance(3 * 86_400)
    box.wait_idle()
    taps = [
        m
        for b in box.emitted()
        for c in b["payload"]["entry"][0]["changes"]
        for m in c["value"].get("messages", [])
        if m.get("type") == "button" and m["context"]["id"] in sent
    ]
    by_template = {
        name: [(m["button"]["payload"], m["button"]["text"]) for m in taps if sent[m["context"]["id"]] == name]
        for name in sent.values()
    }
    assert set(by_template[QUICK.name]) <= {("SHOES", "Schuhe"), ("JACKETS", "Jacken"), ("STOP", "Keine Werbung")}
    assert len(set(by_template[QUICK.name])) >= 2
    assert (
        set(by_template[CAROUSEL.name]) <= {(f"CARD_{c}", "Mehr davon") for c in range(3)}
        and by_template[CAROUSEL.name]
    )
    assert by_template[OFFER.name] == []  # no quick replies: Meta reports no URL or copy-code taps
    counters = box.engine.counters
    assert counters["link_clicks"] > before.get("link_clicks", 0)  # the tracked URL button was followed
    assert counters["coupon_copies"] > before.get("coupon_copies", 0)


@pytest.mark.parametrize(
    "components",
    [
        [{"type": "BODY", "text": "x"}, {"type": "BUTTONS", "buttons": [{"type": "URL", "text": "a", "url": 5}]}],
        [
            {"type": "BODY", "text": "x"},
            {"type": "CAROUSEL", "cards": [{"components": [{"type": "HEADER", "example": ["x"]}]}] * 2},
        ],
        [
            {"type": "BODY", "text": "x"},
            {
                "type": "CAROUSEL",
                "cards": [{"components": [{"type": "BODY", "text": "a {{1}}", "example": {"body_text": [["a", "b"]]}}]}]
                * 2,
            },
        ],
        [{"type": "BODY", "text": "x"}, {"type": "CAROUSEL", "cards": [{"components": [5]}] * 2}],
        [
            {"type": "BODY", "text": "x"},
            {"type": "BUTTONS", "buttons": [{"type": "PHONE_NUMBER", "text": "a", "phone_number": {"x": 1}}]},
        ],
    ],
)
def test_malformed_interactive_parts_get_a_400_not_a_crash(sandbox, components):
    box, client, _ = sandbox
    refused(client, box, "kaputt", components)
    assert client.list_templates(box.waba_id)  # still serving


def test_malformed_carousel_sends_get_a_400(sandbox):
    box, client, phones = sandbox
    for cards in (
        [5, 6, 7],
        [{"card_index": 0, "components": 5}] * 3,
        [{"card_index": i, "components": {"a": 1}} for i in range(3)],
    ):
        body = template_message(phones[0], CAROUSEL.name, "de")
        body["template"]["components"] = [{"type": "carousel", "cards": cards}]
        with pytest.raises(CloudAPIError) as err:
            send(client, box, body)
        assert err.value.http_status == 400, cards


def test_taps_and_code_copies_are_the_customers_own_whatever_the_order_of_sends():
    """Each customer's tap (and which button) and code copy come from draws of their own: sending
    in the opposite order gives every customer the same taps."""
    data = generate(150, seed=21, now="2026-11-20")
    library = [
        {"name": t.name, "language": "de", "category": "MARKETING", "status": "APPROVED", "components": t.to_api()}
        for t in (QUICK, OFFER)
    ]
    outcomes = []
    for order in (1, -1):
        cfg = SandboxConfig(
            pair_interval=0, throughput_per_second=10_000, messaging_tier="TIER_10K", marketing_per_user_24h=2
        )
        box = Sandbox(customers=data, clock=ManualClock(START), config=cfg, templates=library)
        try:
            for phone in list(data.customers.phone)[::order]:
                box.engine.send(box.phone_number_id, orjson.dumps(template_message(phone, QUICK.name, "de")))
                offer = template_message(
                    phone,
                    OFFER.name,
                    "de",
                    body_params=["Anna"],
                    coupon=(0, "A1"),
                    offer_expires_ms=EXPIRES_MS,
                    button_params={1: "abcdefgh1234"},
                )
                box.engine.send(box.phone_number_id, orjson.dumps(offer))
            box.advance(3 * 86_400)
            box.wait_idle()
            taps = {
                (m["from"], m["button"]["payload"])
                for b in box.emitted()
                for c in b["payload"]["entry"][0]["changes"]
                for m in c["value"].get("messages", [])
                if m.get("type") == "button"
            }
            copied = {m["wa_id"] for m in box.engine.messages.values() if "coupon_copied_at" in m}
            outcomes.append((taps, copied))
        finally:
            box.stop()
    assert outcomes[0] == outcomes[1] and outcomes[0][0] and outcomes[0][1]
