"""Templates: Meta's JSON both ways, rendering, validation rules, and the registry against the sandbox."""

from __future__ import annotations

import pandas as pd
import pytest

from wamkt_nb.clock import ManualClock
from wamkt_nb.cloudapi import CloudClient
from wamkt_nb.data.sample import generate
from wamkt_nb.messages import Button, Template, template_from_text, validate_template
from wamkt_nb.messages.registry import TemplateRegistry, TemplateRegistryError
from wamkt_nb.sandbox import Sandbox
from wamkt_nb.store import open_store


def codes(t: Template) -> set[str]:
    return {f.code for f in validate_template(t)}


def good(**changes) -> Template:
    base = dict(
        name="order_shipped",
        language="de",
        category="utility",
        body="Hallo {{1}}, deine Bestellung {{2}} ist unterwegs.",
        examples={"1": "Anna", "2": "#12345"},
        footer="Antworte STOP zum Abmelden",
    )
    return template_from_text(**(base | changes))


def test_round_trip_through_meta_json_keeps_everything():
    t = good(
        header="Versand {{1}}",
        buttons=[
            Button("QUICK_REPLY", "Danke"),
            Button("URL", "Verfolgen", url="https://x.example/{{1}}", example="https://x.example/abc"),
        ],
    )
    back = Template.from_api({"name": t.name, "language": "de", "category": "UTILITY", "components": t.to_api()})
    assert back == t
    body = next(c for c in t.to_api() if c["type"] == "BODY")
    assert body["example"] == {"body_text": [["Anna", "#12345"]]}


def test_named_template_examples_use_named_params():
    t = template_from_text(
        "rabatt",
        "de",
        "MARKETING",
        "Hallo {{first_name}}, {{discount}} für dich!",
        examples={"first_name": "Anna", "discount": "10 %"},
    )
    assert t.parameter_format == "NAMED"
    body = t.to_api()[0]
    assert body["example"]["body_text_named_params"][1] == {"param_name": "discount", "example": "10 %"}
    assert (
        Template.from_api(
            {"name": "rabatt", "components": t.to_api(), "parameter_format": "NAMED", "category": "MARKETING"}
        ).examples
        == t.examples
    )


def test_render_gives_the_text_shown_with_header_and_footer():
    t = good(header="Versand")
    assert t.render({"1": "Anna", "2": "#7"}) == (
        "Versand\nHallo Anna, deine Bestellung #7 ist unterwegs.\nAntworte STOP zum Abmelden"
    )


def test_render_series_is_positional_and_rejects_missing_variables():
    t = good(footer=None)
    names = pd.Series(["Anna", "Jürgen"], index=[10, 20], dtype="str")
    out = t.render_series({"1": names, "2": "#1"}, 2)
    assert out.tolist() == [
        "Hallo Anna, deine Bestellung #1 ist unterwegs.",
        "Hallo Jürgen, deine Bestellung #1 ist unterwegs.",
    ]
    with pytest.raises(KeyError, match=r"\{\{2\}\}"):
        t.render_series({"1": names}, 2)


def test_valid_template_has_no_findings():
    assert validate_template(good()) == []


@pytest.mark.parametrize(
    "changes, code",
    [
        ({"name": "Order Shipped"}, "name_format"),
        ({"category": "promo"}, "category"),
        ({"body": "x" * 1025}, "body_too_long"),
        ({"body": "{{1}} deine Bestellung {{2}} ist da."}, "variable_at_start"),
        ({"body": "Hallo {{1}}, deine Bestellung {{2}}."}, "variable_at_end"),
        ({"header": "H" * 61}, "header_too_long"),
        ({"header": "{{1}} und {{2}}"}, "header_variables"),
        ({"footer": "F" * 61}, "footer_too_long"),
        ({"footer": "Bis bald {{1}}"}, "footer_variables"),
        ({"examples": {"1": "Anna"}}, "example_missing"),
        ({"body": "Hallo {{1}}, Bestellung {{3}} ist da."}, "variable_sequence"),
        ({"buttons": [Button("QUICK_REPLY", f"B{i}") for i in range(11)]}, "too_many_buttons"),
        ({"buttons": [Button("QUICK_REPLY", "x" * 26)]}, "button_label"),
        ({"buttons": [Button("URL", f"u{i}", url="https://a.example") for i in range(3)]}, "button_limits"),
    ],
)
def test_each_meta_rule_is_reported(changes, code):
    assert code in codes(good(**changes))


def test_named_variables_must_be_lowercase():
    t = template_from_text("x", "de", "MARKETING", "Hallo {{FirstName}}, schau rein!", examples={"FirstName": "Anna"})
    assert "variable_name" in codes(t)


# -- registry ------------------------------------------------------------------------------------


def test_drafts_survive_reopening_the_store(tmp_path):
    path = tmp_path / "w.db"
    with open_store(path) as store:
        findings = TemplateRegistry(store).save_draft(good(name="broken", examples={}))
        assert {f.code for f in findings} == {"example_missing"}
    with open_store(path) as store:
        reg = TemplateRegistry(store)
        assert reg.get("broken", "de").status == "DRAFT"
        with pytest.raises(TemplateRegistryError, match="no template 'nope'"):
            reg.get("nope", "de")
        with pytest.raises(TemplateRegistryError, match="no Cloud API client"):
            reg.sync()


@pytest.fixture
def sandbox():
    clock = ManualClock(1_780_000_000.0)
    box = Sandbox(customers=generate(50, seed=1, now="2026-05-28"), clock=clock)  # the clock's day, not today
    box.start()
    yield box
    box.stop()


def test_registry_syncs_submits_and_follows_review_against_the_sandbox(tmp_path, sandbox):
    with open_store(tmp_path / "w.db") as store, CloudClient(sandbox.settings()) as client:
        reg = TemplateRegistry(store, client, sandbox.waba_id)
        assert reg.sync() >= 5
        shipped = reg.get("order_shipped", "de")
        assert shipped.status == "APPROVED" and shipped.body_variables == ["1", "2"]
        assert {t.name for t in reg.approved()} >= {"order_shipped", "rabatt_aktion"}

        reg.save_draft(good(name="paket_da", body="Hallo {{1}}, dein Paket {{2}} ist da. Schönen Tag!"))
        invalid = good(name="kaputt", body="{{1}} ist da")
        reg.save_draft(invalid)
        with pytest.raises(TemplateRegistryError, match="starts with a variable") as err:
            reg.submit("kaputt", "de")
        assert "variable_at_start" in {f.code for f in err.value.findings}

        submitted = reg.submit("paket_da", "de")
        assert submitted.status == "PENDING" and submitted.id
        assert reg.refresh("paket_da", "de").status == "PENDING"
        sandbox.advance(sandbox.config.template_review_seconds + 1)
        assert reg.follow("paket_da", "de", timeout=5, interval=0.05).status == "APPROVED"

        reg.save_draft(good(name="utility_promo", body="Hallo {{1}}, nur heute 20 % Rabatt auf {{2}}. Los!"))
        reg.submit("utility_promo", "de")
        sandbox.advance(sandbox.config.template_review_seconds + 1)
        rejected = reg.follow("utility_promo", "de", timeout=5, interval=0.05)
        assert rejected.status == "REJECTED" and rejected.rejected_reason
        with pytest.raises(TemplateRegistryError, match="already APPROVED"):
            reg.save_draft(good(name="paket_da"))
        table = reg.table()
        assert set(table.columns) >= {"name", "language", "status", "source", "body"}
