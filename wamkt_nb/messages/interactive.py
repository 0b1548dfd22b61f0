"""Meta's rules for a template's interactive parts: buttons, the limited-time offer and the carousel.

Each broken rule is an error :class:`Finding` whose message names the component, card and button
(numbered from 1, as an analyst counts them). ``validate_template`` reports them with the other
template rules, and the sandbox refuses a template that breaks one, so both apply the same rules.
The figures and where they were checked are in docs/cloud-api.md ("Interactive templates").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ..cloudapi.payloads import carousel_card
from .findings import Finding
from .personalise import MessageSpec
from .templates import BUTTON_TYPES, CARD_HEADER_FORMATS, VARIABLE, Button, Card, Template, variables

MAX_BUTTONS = 10
MAX_QUICK_REPLIES = 10
MAX_URL_BUTTONS = 2
MAX_PHONE_BUTTONS = 1
MAX_COPY_CODE_BUTTONS = 1
MAX_BUTTON_LABEL = 25
MAX_URL = 2000
MAX_COUPON_EXAMPLE = 15
MAX_OFFER_TEXT = 16
MAX_OFFER_BODY = 600
MIN_CARDS = 2
MAX_CARDS = 10
MAX_CARD_BODY = 160
MAX_CARD_BUTTONS = 2
CARD_BUTTON_TYPES = ("QUICK_REPLY", "URL", "PHONE_NUMBER")


def interactive_findings(t: Template) -> list[Finding]:
    """Every rule the template's buttons, offer and carousel break (empty: Meta's checks pass)."""
    out = button_findings(t.buttons, "buttons", t.category)
    if t.offer is not None:
        out += _offer_findings(t)
    if t.cards:
        out += _carousel_findings(t)
    return out


def button_findings(buttons: Sequence[Button], where: str, category: str) -> list[Finding]:
    """The rules of one ``BUTTONS`` component (the template's, or a card's when ``where`` names it)."""
    out: list[Finding] = []

    def err(code: str, message: str) -> None:
        out.append(Finding(code, "error", message, where))

    if len(buttons) > MAX_BUTTONS:
        err("too_many_buttons", f"{where}: {len(buttons)} buttons; at most {MAX_BUTTONS}")
    kinds = [b.type for b in buttons]
    for kind, limit, name in (
        ("QUICK_REPLY", MAX_QUICK_REPLIES, "quick-reply"),
        ("URL", MAX_URL_BUTTONS, "URL"),
        ("PHONE_NUMBER", MAX_PHONE_BUTTONS, "phone-number"),
        ("COPY_CODE", MAX_COPY_CODE_BUTTONS, "copy-code"),
    ):
        if kinds.count(kind) > limit:
            err("button_limits", f"{where}: {kinds.count(kind)} {name} buttons; at most {limit}")
    if "QUICK_REPLY" in kinds and not _grouped(kinds):
        err(
            "button_order",
            f"{where}: quick-reply buttons must stand together, before or after the other buttons "
            f"(order now: {', '.join(kinds)})",
        )
    if "COPY_CODE" in kinds and category != "MARKETING":
        err("copy_code_category", f"{where}: a copy-code button is only allowed in MARKETING templates")
    for i, b in enumerate(buttons, start=1):
        out.extend(_one_button(b, f"{where}: button {i}"))
    return out


def _one_button(b: Button, where: str) -> list[Finding]:
    out: list[Finding] = []

    def err(code: str, message: str) -> None:
        out.append(Finding(code, "error", f"{where}: {message}", "buttons"))

    if b.type not in BUTTON_TYPES:
        err("button_type", f"type {b.type!r}; use one of {', '.join(BUTTON_TYPES)}")
        return out
    if b.type == "COPY_CODE":
        if not b.example or len(b.example) > MAX_COUPON_EXAMPLE:
            err("coupon_example", f"needs an example code of 1 to {MAX_COUPON_EXAMPLE} characters, not {b.example!r}")
        return out
    if not b.text or len(b.text) > MAX_BUTTON_LABEL:
        err("button_label", f"label {b.text!r}: 1 to {MAX_BUTTON_LABEL} characters")
    if b.type == "URL":
        url = b.url or ""
        names = variables(url)
        if not url.startswith(("https://", "http://")) or len(url) > MAX_URL:
            err("button_url", f"URL {url!r}: an http(s) address of at most {MAX_URL} characters")
        elif names and (names != ["1"] or not url.rstrip().endswith("}}")):
            err("button_url_variable", f"URL {url!r}: at most one variable, {{{{1}}}}, at the end of the address")
        elif names and not b.example:
            err("example_missing", "the URL has a variable but no example URL")
        elif names and not b.example.startswith(url.split("{{", 1)[0]):  # type: ignore[union-attr]
            err("button_url_example", f"example {b.example!r} must start like the URL {url.split('{{', 1)[0]!r}")
    if b.type == "PHONE_NUMBER" and not (b.phone_number or "").lstrip("+").isdigit():
        err("button_phone", f"phone number {b.phone_number!r}: digits in international format, e.g. +4930123456")
    if b.type != "URL" and VARIABLE.search(b.text):
        err("button_variable", "labels cannot hold variables")
    return out


def _grouped(kinds: list[str]) -> bool:
    """Quick replies form one block (first or last), not interleaved with the other buttons."""
    runs = [k == "QUICK_REPLY" for k in kinds]
    changes = sum(1 for a, b in zip(runs, runs[1:], strict=False) if a != b)
    return changes <= 1


def _offer_findings(t: Template) -> list[Finding]:
    out: list[Finding] = []
    offer = t.offer
    assert offer is not None

    def err(code: str, message: str) -> None:
        out.append(Finding(code, "error", f"limited-time offer: {message}", "offer"))

    if t.category != "MARKETING":
        err("offer_category", "only MARKETING templates may carry one")
    if not offer.text or len(offer.text) > MAX_OFFER_TEXT:
        err("offer_text", f"text {offer.text!r}: 1 to {MAX_OFFER_TEXT} characters")
    if t.footer is not None:
        err("offer_footer", "a template with a limited-time offer cannot have a footer")
    if len(t.body) > MAX_OFFER_BODY:
        err("offer_body", f"the body has {len(t.body)} characters; with an offer at most {MAX_OFFER_BODY}")
    if t.header_format not in (None, *CARD_HEADER_FORMATS):
        err("offer_header", f"header {t.header_format}: only IMAGE or VIDEO headers go with an offer")
    kinds = [b.type for b in t.buttons]
    if offer.has_expiration and "COPY_CODE" not in kinds:
        err("offer_copy_code", "has_expiration needs a copy-code button (the code the countdown is for)")
    if "COPY_CODE" in kinds and kinds[0] != "COPY_CODE":
        err("offer_copy_code_first", "the copy-code button must be the first button")
    if t.cards:
        err("offer_carousel", "a carousel template cannot carry a limited-time offer")
    return out


def _carousel_findings(t: Template) -> list[Finding]:
    out: list[Finding] = []

    def err(code: str, message: str, field: str = "cards") -> None:
        out.append(Finding(code, "error", message, field))

    if t.category != "MARKETING":
        err("carousel_category", "carousel: only MARKETING templates may have cards")
    if not MIN_CARDS <= len(t.cards) <= MAX_CARDS:
        err("card_count", f"carousel: {len(t.cards)} cards; give {MIN_CARDS} to {MAX_CARDS}")
    if t.header_format is not None or t.footer is not None or t.buttons:
        err(
            "carousel_components",
            "carousel: the message above the cards is body text only (no header, footer or buttons)",
        )
    first = t.cards[0]
    for i, card in enumerate(t.cards, start=1):
        out.extend(_card_findings(card, i, first, t.category))
    return out


def _card_findings(card: Card, number: int, first: Card, category: str) -> list[Finding]:
    where = f"card {number}"
    out: list[Finding] = []

    def err(code: str, message: str) -> None:
        out.append(Finding(code, "error", f"{where}: {message}", "cards"))

    if card.header_format not in CARD_HEADER_FORMATS:
        err("card_header", f"header {card.header_format!r}: an IMAGE or VIDEO header is required")
    elif card.header_format != first.header_format:
        err("card_mismatch", f"header {card.header_format} differs from card 1's {first.header_format}")
    if not card.header:
        err("card_header_example", "the header needs an example (an uploaded media handle or link)")
    if (card.body is None) != (first.body is None):
        err("card_mismatch", "either every card has body text or none has")
    if card.body is not None:
        if not card.body.strip() or len(card.body) > MAX_CARD_BODY:
            err("card_body", f"body has {len(card.body)} characters; give 1 to {MAX_CARD_BODY}")
        for name in dict.fromkeys(card.body_variables):
            if not str(card.examples.get(name, "")).strip():
                err("example_missing", f"body variable {{{{{name}}}}} has no example value")
    if not 1 <= len(card.buttons) <= MAX_CARD_BUTTONS:
        err("card_buttons", f"{len(card.buttons)} buttons; give 1 to {MAX_CARD_BUTTONS}")
    bad = [b.type for b in card.buttons if b.type not in CARD_BUTTON_TYPES]
    if bad:
        err("card_button_type", f"button type(s) {', '.join(bad)}; cards take {', '.join(CARD_BUTTON_TYPES)}")
    if [b.type for b in card.buttons] != [b.type for b in first.buttons]:
        err(
            "card_mismatch",
            f"buttons {[b.type for b in card.buttons]} differ from card 1's {[b.type for b in first.buttons]}: "
            "every card has the same button types in the same order",
        )
    out.extend(button_findings(card.buttons, where, category) if not bad else [])
    return out


def send_arguments(t: Template, spec: MessageSpec) -> dict[str, Any]:
    """The button, offer and carousel arguments of :func:`wamkt_nb.cloudapi.payloads.template_message`
    for template ``t`` sent as ``spec`` (the same for every recipient), with the defaults of
    :class:`MessageSpec`. ValueError names what is missing."""
    out: dict[str, Any] = {}
    suffixes = url_suffixes(t.buttons, spec.button_suffixes)
    if suffixes:
        out["button_params"] = suffixes
    payloads = {i: p for i, p in spec.button_payloads.items() if i < len(t.buttons)}
    wrong = [i for i in payloads if t.buttons[i].type != "QUICK_REPLY"]
    if wrong or len(payloads) != len(spec.button_payloads):
        bad = wrong or sorted(set(spec.button_payloads) - set(payloads))
        raise ValueError(f"button_payloads: button {bad[0] + 1} of {t.name!r} is no quick-reply button")
    if payloads:
        out["quick_reply_payloads"] = payloads
    copy = next((i for i, b in enumerate(t.buttons) if b.type == "COPY_CODE"), None)
    if copy is not None:
        out["coupon"] = (copy, spec.coupon_code or t.buttons[copy].example or "")
    elif spec.coupon_code:
        raise ValueError(f"coupon_code: template {t.name!r} has no copy-code button")
    if t.offer is not None and t.offer.has_expiration:
        if spec.offer_expires_at is None:
            raise ValueError(f"template {t.name!r} counts down to its offer's end: set offer_expires_at")
        out["offer_expires_ms"] = int(pd.Timestamp(spec.offer_expires_at).timestamp() * 1000)
    if t.cards:
        media = list(spec.card_media) or [c.header for c in t.cards]
        if len(media) != len(t.cards):
            raise ValueError(f"card_media: {len(media)} media for the {len(t.cards)} cards of {t.name!r}")
        per_card = list(spec.card_suffixes) or [{} for _ in t.cards]
        if len(per_card) != len(t.cards):
            raise ValueError(f"card_suffixes: {len(per_card)} entries for the {len(t.cards)} cards of {t.name!r}")
        out["cards"] = [
            carousel_card(
                i,
                (card.header_format.lower(), ref),
                body_params=[card.examples.get(n, "") for n in card.body_variables] or None,
                button_params=url_suffixes(card.buttons, given) or None,
            )
            for i, (card, ref, given) in enumerate(zip(t.cards, media, per_card, strict=True))
        ]
    return out


def url_suffixes(buttons: Sequence[Button], given: Mapping[int, str]) -> dict[int, str]:
    """The suffix of each dynamic URL button by index: ``given``, else the part of the example URL
    that the button's ``{{1}}`` stands for."""
    return {
        i: given.get(i, example_suffix(b.url or "", b.example or "")) for i, b in enumerate(buttons) if b.is_dynamic
    }


def example_suffix(url: str, example: str) -> str:
    """The part of an example URL that the button's ``{{1}}`` stands for."""
    prefix = url.split("{{", 1)[0]
    return example[len(prefix) :] if example.startswith(prefix) else example
