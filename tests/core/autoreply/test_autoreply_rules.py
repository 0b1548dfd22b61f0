"""Rules: matching semantics, validation, priority, languages, storage, and the pure decision."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wamkt_nb.autoreply import (
    AutoReplyRuleError,
    Rule,
    decide,
    decide_message,
    delete_rule,
    first_match,
    load_rules,
    save_rule,
    try_message,
)
from wamkt_nb.webhooks.text import normalize_text

pytestmark = pytest.mark.both_stores


@pytest.mark.parametrize("text", ["rabatt", "RABATT!", "Rabatt?", "  Rábatt ", "Rabatt 🙂", "gibt es RABATT??"])
def test_rabatt_variants_match(text):
    assert Rule("r", "Rabatt", match_type="contains", reply_text="x").matches(normalize_text(text))


@pytest.mark.parametrize(
    "match_type, pattern, yes, no",
    [
        ("exact", "Rabatt", ["rabatt!", "RABATT"], ["rabatt bitte", "Rabattcode"]),
        ("contains", "rabatt", ["ich will rabatt", "Rabatt?"], ["Rabattaktion", "kein rab att"]),
        ("starts_with", "hallo", ["Hallo, Rabatt?", "hallo"], ["sag hallo", "halloween"]),
        ("regex", r"\b(preis|kosten?)\b", ["Was kostet das? Kosten!", "der Preis"], ["preiswert"]),
        ("exact", "stop, abmelden, unsubscribe", ["ABMELDEN.", "Unsubscribe"], ["stop it now"]),
        ("contains", "größe", ["Welche GRÖSSE?", "welche grosse"], ["gross"]),
    ],
)
def test_match_types(match_type, pattern, yes, no):
    rule = Rule("r", pattern, match_type=match_type, reply_text="x")
    assert all(rule.matches(normalize_text(t)) for t in yes), yes
    assert not any(rule.matches(normalize_text(t)) for t in no), no


def test_normalize_text():
    assert normalize_text("  Grüße, Straße!! ") == "grusse strasse"
    assert normalize_text(None) == "" and normalize_text("?!") == ""


@given(st.text(max_size=40))
def test_normalize_is_idempotent_and_punctuation_free(text):
    once = normalize_text(text)
    assert normalize_text(once) == once
    assert once == once.strip() and "  " not in once


def test_priority_languages_and_disabled():
    rules = [
        Rule("general", "rabatt", reply_text="A", priority=50),
        Rule("english", "rabatt, discount", reply_text="B", priority=10, languages=("en",)),
        Rule("off", "rabatt", reply_text="C", priority=1, enabled=False),
    ]
    assert first_match(rules, "Rabatt", "en").rule_id == "english"
    assert first_match(rules, "Rabatt", "de").rule_id == "general"
    assert first_match(rules, "Rabatt", None).rule_id == "english"  # unknown language: every rule qualifies
    assert first_match(rules, "Hallo") is None


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"match_type": "fuzzy"}, "match_type"),
        ({"action": "explode"}, "action"),
        ({"match_type": "regex", "pattern": "(unclosed"}, "regular expression"),
        ({"pattern": " , "}, "pattern is empty"),
        ({"reply_text": ""}, "needs a reply_text"),
        ({"reply_text": "x" * 5000}, "limit is 4096"),
        ({"action": "template"}, "template_name"),
        ({"action": "tag"}, "needs a tag"),
    ],
)
def test_invalid_rules_name_the_field(kwargs, words):
    base = {"rule_id": "bad", "pattern": "x", "reply_text": "hi"}
    with pytest.raises(AutoReplyRuleError, match=words) as err:
        Rule(**(base | kwargs))
    assert "'bad'" in str(err.value) or "rule_id" in str(err.value)


def test_seeded_rules_and_storage(store):
    ids = [r.rule_id for r in load_rules(store)]
    assert {"rabatt", "opt_out", "opt_in", "human", "faq_lieferzeit"} <= set(ids)
    decision = try_message(store, "RABATT!")
    assert decision.rule.rule_id == "rabatt" and "WILLKOMMEN10" in decision.reply_preview
    save_rule(
        store,
        Rule(
            "vip",
            "rabatt",
            match_type="exact",
            reply_text="VIP-Code: GOLD20",
            priority=5,
            languages=("de",),
            tag="asked_discount",
        ),
    )
    assert try_message(store, "Rabatt", language="de").reply_preview == "VIP-Code: GOLD20"
    assert try_message(store, "Rabatt", language="fr").rule.rule_id == "rabatt"
    stored = {r.rule_id: r for r in load_rules(store)}["vip"]
    assert stored.languages == ("de",) and stored.tag == "asked_discount" and stored.priority == 5
    assert delete_rule(store, "vip") and not delete_rule(store, "vip")


def test_decide_actions():
    phone = "+4915112345678"
    tpl = decide(
        [
            Rule(
                "t",
                "katalog",
                action="template",
                template_name="catalog_link",
                template_language="de",
                template_params=("Anna",),
            )
        ],
        "Katalog bitte",
        phone,
    )
    assert tpl.payload["type"] == "template" and tpl.payload["to"] == phone
    assert tpl.payload["template"]["components"][0]["parameters"] == [{"type": "text", "text": "Anna"}]
    assert "catalog_link" in tpl.describe()
    tag = decide([Rule("g", "ja", action="tag", tag="interested")], "JA!", phone)
    assert tag.payload is None and tag.tag == "interested" and "adds tag" in tag.describe()
    out = decide([Rule("s", "stop", action="opt_out", match_type="exact", reply_text="ok")], "Stop", phone)
    assert out.consent is False and out.payload["text"]["body"] == "ok"
    hand = decide([Rule("h", "mensch", action="handover")], "Mensch bitte", phone)
    assert hand.handover and hand.payload is None
    assert decide([], "Hallo", phone).describe().startswith("no rule matches")


def test_quick_reply_payload_stop_triggers_the_opt_out_rule_before_its_label():
    """Regression (issue 14): the label "Stop promotions" was read first, so the exact STOP rule
    never fired for a quick reply whose payload is ``STOP``."""
    rules = [
        Rule("s", "stop", action="opt_out", match_type="exact", reply_text="Abgemeldet"),
        Rule("p", "promotions", match_type="contains", reply_text="Unsere Angebote"),
    ]
    phone = "+4915112345678"
    out = decide_message(rules, ("STOP", "Stop promotions"), phone)
    assert out.rule.rule_id == "s" and out.consent is False
    assert decide_message(rules, ("promo_more", "Stop promotions"), phone).rule.rule_id == "p"
    assert decide_message(rules, (), phone).rule is None
