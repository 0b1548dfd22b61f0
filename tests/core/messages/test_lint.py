"""Copy lint: each finding appears when its problem is there and not otherwise (German and English)."""

from __future__ import annotations

import pandas as pd
import pytest

from wamkt_nb.messages import MessageSpec, Param, template_from_text
from wamkt_nb.messages.lint import lint_copy, lint_message, message_warnings


def codes(text, **kw):
    return {f.code for f in lint_copy(text, **kw)}


def test_good_marketing_copy_is_clean():
    assert codes("{{first_name}}, 10 % Rabatt! Antworte JA") == set()
    assert codes("{{first_name}}, 10 % off! Reply YES now") == set()


@pytest.mark.parametrize(
    "text",
    ["{{first_name}}, kurz", "{{first_name}}, wir haben heute ganz viele neue Sachen für dich im Shop. Antworte JA"],
)
def test_length_outside_sweet_spot_says_what_to_do(text):
    found = [f for f in lint_copy(text) if f.code == "length_outside_sweet_spot"]
    assert found and ("cut about" in found[0].message or "add about" in found[0].message)


def test_name_position():
    assert "name_not_at_start" in codes("Wir haben neue Produkte für {{first_name}}. Antworte JA")
    assert "name_not_at_start" not in codes("Hallo {{first_name}}, Neues! Antworte JA")
    assert "no_name" in codes("Neue Produkte im Shop! Antworte JA")
    assert "name_not_at_start" in codes("Schau mal, {{1}}! Antworte JA", name_variables=["1"])


@pytest.mark.parametrize("text", ["Neue Produkte für dich, {{first_name}}.", "New arrivals for you, {{first_name}}."])
def test_missing_call_to_action(text):
    assert "no_call_to_action" in codes(text)
    assert "no_call_to_action" not in codes(text, has_buttons=True)


@pytest.mark.parametrize(
    "text, word",
    [
        ("Hallo {{1}}, zeitlich begrenztes Angebot für deine Bestellung.", "zeitlich begrenzt"),
        ("Hi {{1}}, limited time: 20 % off your next order.", "limited time"),
        ("Hi {{1}}, your order ships today. Get 15% off next time.", "% off"),
    ],
)
def test_promotional_wording_in_utility(text, word):
    found = [f for f in lint_copy(text, category="utility") if f.code == "promotional_in_utility"]
    assert found and word in found[0].message
    assert "promotional_in_utility" not in codes(text, category="marketing")


def test_utility_without_promotion_is_clean_of_that_warning():
    assert "promotional_in_utility" not in codes("Hallo {{1}}, deine Bestellung ist unterwegs.", category="utility")


def test_media_and_shouting_hints():
    assert "media_instead_of_text" in codes("{{first_name}}, schau! Antworte JA", has_media=True)
    assert "shouting" in codes("{{first_name}}, JETZT GANZ SCHNELL KAUFEN!!!")


def test_lint_message_uses_rendered_length_and_param_sources():
    t = template_from_text(
        "promo", "de", "MARKETING", "Hallo {{1}}, heute 10 % für dich. Antworte JA!", examples={"1": "Anna"}
    )
    spec = MessageSpec(template={"de": t}, params={"1": Param("first_name")})
    found = lint_message(spec, pd.Series(["x" * 25] * 3, dtype="str"))
    assert {f.code for f in found["de"]} == set()
    found = lint_message(spec)
    assert "length_outside_sweet_spot" in {f.code for f in found["de"]}


def test_message_warnings_per_row():
    body = pd.Series(["Anna, dein Code wartet!", "zu kurz"], dtype="str")
    out = message_warnings(body, truncated=pd.Series([False, True]), fallback=pd.Series([False, True]))
    assert out.iloc[0] == ""
    assert "20-30" in out.iloc[1] and "shortened" in out.iloc[1] and "greeting" in out.iloc[1]
