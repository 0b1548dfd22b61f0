"""Interactive templates: quick replies with payloads, URL buttons with a suffix, copy-code coupons,
limited-time offers and carousels in the model, Meta's rules and the send payloads."""

from __future__ import annotations

import pandas as pd
import pytest

from wamkt_nb.cloudapi.payloads import carousel_card, template_message
from wamkt_nb.messages import Button, MessageSpec, Template, template_from_text, validate_template
from wamkt_nb.messages.interactive import send_arguments
from wamkt_nb.messages.templates import COPY_CODE_LABEL, Card, LimitedTimeOffer

SHOP = "https://shop.example.com/p/{{1}}"


def offer_template(**changes) -> Template:
    base = dict(
        name="weekend_offer",
        language="de",
        category="marketing",
        body="Hallo {{1}}, 25 % auf alles mit deinem Code. Nur bis Sonntag!",
        examples={"1": "Anna"},
        offer=LimitedTimeOffer("Nur 48 Stunden!", has_expiration=True),
        buttons=[
            Button("COPY_CODE", example="WEEKEND25"),
            Button("URL", "Jetzt einkaufen", url=SHOP, example="https://shop.example.com/p/sale"),
        ],
    )
    return template_from_text(**(base | changes))


def card(text: str = "Nur {{1}} heute", **changes) -> Card:
    base = dict(
        header_format="IMAGE",
        header="https://cdn.example.com/a.jpg",
        body=text,
        examples={"1": "19 €"},
        buttons=(Button("QUICK_REPLY", "Mehr davon"), Button("URL", "Ansehen", url=SHOP, example=SHOP[:-5] + "x1")),
    )
    return Card(**(base | changes))


def carousel_template(cards=None, **changes) -> Template:
    base = dict(
        name="neuheiten_karussell",
        language="de",
        category="marketing",
        body="Hallo {{1}}, unsere Neuheiten der Woche:",
        examples={"1": "Anna"},
        cards=cards if cards is not None else [card(), card()],
    )
    return template_from_text(**(base | changes))


def messages(t: Template) -> list[str]:
    return [f.message for f in validate_template(t) if f.severity == "error"]


def test_offer_coupon_and_carousel_templates_pass_and_survive_metas_json():
    for t in (offer_template(), carousel_template()):
        assert messages(t) == []
        back = Template.from_api(
            {"name": t.name, "language": t.language, "category": t.category, "components": t.to_api()}
        )
        assert back.offer == t.offer and back.cards == t.cards and back.buttons == t.buttons
    components = offer_template().to_api()
    assert [c["type"] for c in components] == ["LIMITED_TIME_OFFER", "BODY", "BUTTONS"]
    assert components[2]["buttons"][0] == {"type": "COPY_CODE", "example": "WEEKEND25"}  # no label: WhatsApp's own
    assert offer_template().buttons[0].text == COPY_CODE_LABEL


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        (offer_template(category="utility"), "limited-time offer: only MARKETING"),
        (offer_template(footer="STOP zum Abmelden"), "cannot have a footer"),
        (offer_template(offer=LimitedTimeOffer("Ein viel zu langer Angebotstext")), "1 to 16 characters"),
        (offer_template(buttons=[Button("URL", "Shop", url="https://shop.example.com")]), "needs a copy-code button"),
        (
            offer_template(buttons=[Button("QUICK_REPLY", "Ja"), Button("COPY_CODE", example="X1")]),
            "copy-code button must be the first",
        ),
        (
            offer_template(buttons=[Button("COPY_CODE", example="VIEL_ZU_LANGER_CODE")]),
            "button 1: needs an example code",
        ),
        (
            template_from_text("c", "de", "utility", "Dein Code ist da.", buttons=[Button("COPY_CODE", example="A1")]),
            "only allowed in MARKETING",
        ),
        (
            template_from_text(
                "q", "de", "marketing", "Was magst du?", buttons=[Button("QUICK_REPLY", f"Wahl {i}") for i in range(11)]
            ),
            "11 buttons; at most 10",
        ),
        (
            template_from_text(
                "u",
                "de",
                "marketing",
                "Hallo!",
                buttons=[Button("URL", f"Link {i}", url=f"https://x.example/{i}") for i in range(3)],
            ),
            "3 URL buttons; at most 2",
        ),
        (
            template_from_text(
                "g",
                "de",
                "marketing",
                "Hallo!",
                buttons=[
                    Button("QUICK_REPLY", "Ja"),
                    Button("URL", "Shop", url="https://x.example"),
                    Button("QUICK_REPLY", "Nein"),
                ],
            ),
            "quick-reply buttons must stand together",
        ),
        (
            template_from_text(
                "v",
                "de",
                "marketing",
                "Hallo!",
                buttons=[Button("URL", "Shop", url="https://x.example/{{1}}/a", example="https://x.example/b/a")],
            ),
            "at the end of the address",
        ),
        (
            template_from_text(
                "e", "de", "marketing", "Hallo!", buttons=[Button("URL", "Shop", url="https://x.example/{{1}}")]
            ),
            "buttons: button 1: the URL has a variable but no example URL",
        ),
        (carousel_template(cards=[card()]), "carousel: 1 cards; give 2 to 10"),
        (carousel_template(cards=[card()] * 11), "carousel: 11 cards; give 2 to 10"),
        (carousel_template(category="utility"), "carousel: only MARKETING"),
        (carousel_template(footer="Tschüss"), "body text only"),
        (
            carousel_template(cards=[card(), card(header_format="VIDEO")]),
            "card 2: header VIDEO differs from card 1's IMAGE",
        ),
        (carousel_template(cards=[card(), card(header_format="DOCUMENT")]), "card 2: header 'DOCUMENT'"),
        (carousel_template(cards=[card(), card(text=None)]), "card 2: either every card has body text or none"),
        (carousel_template(cards=[card(), card(text="x" * 161)]), "card 2: body has 161 characters"),
        (
            carousel_template(cards=[card(), card(buttons=(Button("QUICK_REPLY", "Mehr"),))]),
            "card 2: buttons ['QUICK_REPLY'] differ from card 1's ['QUICK_REPLY', 'URL']",
        ),
        (
            carousel_template(cards=[card(buttons=()), card(buttons=())]),
            "card 1: 0 buttons; give 1 to 2",
        ),
        (
            carousel_template(cards=[card(examples={}), card()]),
            "card 1: body variable {{1}} has no example value",
        ),
    ],
)
def test_each_rule_names_the_component_card_and_button(template, expected):
    found = messages(template)
    assert any(expected in m for m in found), found


def test_offer_send_carries_expiry_coupon_and_url_suffix_in_metas_shape():
    t = offer_template()
    expires = pd.Timestamp("2026-12-06 23:59", tz="Europe/Berlin")
    spec = MessageSpec(template=t, coupon_code="ANNA25", offer_expires_at=expires, button_suffixes={1: "anna"})
    body = template_message("4915112345678", t.name, t.language, body_params=["Anna"], **send_arguments(t, spec))
    comps = body["template"]["components"]
    assert comps[1] == {
        "type": "limited_time_offer",
        "parameters": [
            {
                "type": "limited_time_offer",
                "limited_time_offer": {"expiration_time_ms": int(expires.timestamp() * 1000)},
            }
        ],
    }
    assert comps[2] == {
        "type": "button",
        "sub_type": "copy_code",
        "index": 0,
        "parameters": [{"type": "coupon_code", "coupon_code": "ANNA25"}],
    }
    assert comps[3]["sub_type"] == "url" and comps[3]["parameters"] == [{"type": "text", "text": "anna"}]
    # defaults: the example code; a countdown without an end is refused before anything is sent
    assert send_arguments(t, MessageSpec(template=t, offer_expires_at=expires))["coupon"] == (0, "WEEKEND25")
    with pytest.raises(ValueError, match="set offer_expires_at"):
        send_arguments(t, MessageSpec(template=t))
    with pytest.raises(ValueError, match="1 to 15 characters"):
        template_message("4915112345678", t.name, "de", coupon=(0, "X" * 16))


def test_quick_reply_payloads_go_to_quick_reply_buttons_only():
    t = template_from_text(
        "feedback",
        "de",
        "marketing",
        "Gefällt dir das?",
        buttons=[Button("QUICK_REPLY", "Ja"), Button("QUICK_REPLY", "Stopp")],
    )
    args = send_arguments(t, MessageSpec(template=t, button_payloads={0: "LIKE", 1: "STOP"}))
    body = template_message("4915112345678", t.name, "de", **args)
    assert [(c["sub_type"], c["index"], c["parameters"]) for c in body["template"]["components"]] == [
        ("quick_reply", "0", [{"type": "payload", "payload": "LIKE"}]),
        ("quick_reply", "1", [{"type": "payload", "payload": "STOP"}]),
    ]
    with pytest.raises(ValueError, match="button 3 of 'feedback' is no quick-reply button"):
        send_arguments(t, MessageSpec(template=t, button_payloads={2: "X"}))


def test_carousel_send_has_one_card_per_card_with_media_body_and_buttons():
    t = carousel_template()
    args = send_arguments(t, MessageSpec(template=t, card_media=["https://cdn.example.com/1.jpg", "media-id-2"]))
    carousel = template_message("4915112345678", t.name, "de", body_params=["Anna"], **args)["template"]["components"][
        1
    ]
    assert carousel["type"] == "carousel"
    assert [c["card_index"] for c in carousel["cards"]] == [0, 1]
    first, second = carousel["cards"]
    assert first["components"][0] == {
        "type": "header",
        "parameters": [{"type": "image", "image": {"link": "https://cdn.example.com/1.jpg"}}],
    }
    assert second["components"][0]["parameters"][0]["image"] == {"id": "media-id-2"}
    assert first["components"][1] == {"type": "body", "parameters": [{"type": "text", "text": "19 €"}]}
    assert first["components"][2]["sub_type"] == "url" and first["components"][2]["parameters"][0]["text"] == "x1"
    assert carousel_card(3, ("video", "vid-1"))["components"][0]["parameters"][0] == {
        "type": "video",
        "video": {"id": "vid-1"},
    }
    with pytest.raises(ValueError, match="1 media for the 2 cards"):
        send_arguments(t, MessageSpec(template=t, card_media=["only-one"]))
