"""Preview and dry-run widgets driven in plain pytest: set values, click, read traits and core state."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import ROOT
from helpers.notebooks import execute_notebook, widget_views

from wamkt_nb.clock import ManualClock
from wamkt_nb.data.features import build_features
from wamkt_nb.data.sample import generate
from wamkt_nb.messages import MessageSpec, Template
from wamkt_nb.sandbox.templates import default_templates
from wamkt_nb.segments import PRESETS, save_segment
from wamkt_nb.store import open_store
from wamkt_nb.widgets.bubbles import countdown
from wamkt_nb.widgets.dry_run import DryRunView
from wamkt_nb.widgets.preview import MessagePreview

NOW = pd.Timestamp("2026-11-25 17:00", tz="UTC")


@pytest.fixture(scope="module")
def features():
    return build_features(generate(600, seed=4, now=NOW.normalize()), NOW)


@pytest.fixture(scope="module")
def templates():
    return [Template.from_api(t) for t in default_templates() if t["status"] == "APPROVED"]


def test_text_preview_shows_masked_bubbles_warnings_lint_and_chart(features):
    p = MessagePreview(features, None, now=NOW, text="{{first_name}}, dein Code wartet! Antworte JA", sample_size=3)
    assert "wamkt-preview" in p._dom_classes
    assert p.bubbles.value.count("wamkt-bubble'") == 3
    assert "+49" in p.bubbles.value or "+43" in p.bubbles.value
    phones = set(features["phone"])
    assert not any(ph in p.bubbles.value for ph in phones)  # masked
    assert "length outside 20-30" in p.bubbles.value
    assert "length_outside_sweet_spot" in p.lint.value
    assert p.chart.value[:4] == b"\x89PNG"
    assert len(p.rendered[""]) == len(features)
    p.text_a.value = "{{first_name}}, Code? Antworte JA"
    assert "no advice" in p.lint.value


def test_segment_rule_mask_and_ids(features):
    rule = PRESETS["active_7d"].rule
    p = MessagePreview(features, rule, now=NOW)
    active = features["tags"].map(lambda t: "active_7d" in t)
    assert len(p.audience) == active.sum()
    assert p.status.text.startswith(f"{active.sum():,} recipients in the segment")  # plain text: prints cleanly
    p.set_segment(features["customer_id"].head(5).tolist())
    assert len(p.audience) == 5
    p.set_segment(np.zeros(len(features), dtype=bool))
    assert "no recipients" in p.bubbles.value
    p.set_segment(np.ones(3, dtype=bool))
    assert "mask has 3 entries" in p.error.value


def test_ab_variants_render_side_by_side(features):
    p = MessagePreview(
        features,
        None,
        now=NOW,
        text="{{first_name}}, Code wartet! Antworte JA",
        variant_b="Neu: dein Code, {{first_name}}! Antworte JA",
    )
    assert p.ab.value and isinstance(p.spec, dict) and set(p.spec) == {"A", "B"}
    assert "Variant A" in p.bubbles.value and "Variant B" in p.bubbles.value
    assert "name_not_at_start" in p.lint.value  # variant B puts the name late


def test_template_mode_fills_params_and_flags_promo_in_utility(features, templates):
    p = MessagePreview(features, None, now=NOW, templates=templates)
    p.kind.value = "template"
    p.template.value = "order_shipped"
    params = {c.description: c for c in p.params_box.children}
    assert set(params) == {"{{1}}", "{{2}}"}
    params["{{2}}"].value = "city"
    assert "deine Bestellung" in p.bubbles.value and p.error.value == ""
    assert p.spec.kind == "template"
    p.category.value = "utility"
    assert "promotional_in_utility" not in p.lint.value


def test_errors_are_shown_not_raised(features):
    p = MessagePreview(features, None, now=NOW, text="Hallo {{shoe_size}} ok")
    assert "no customer column 'shoe_size'" in p.error.text and p.spec is None
    assert "{{first_name}} (first name)" in p.error.text and "rfm_r" not in p.error.text  # readable columns only
    p.kind.value = "template"
    assert "no template to choose from" in p.error.value


def test_dry_run_view_runs_from_the_preview_and_reacts_to_settings(tmp_path, features, templates):
    p = MessagePreview(features, None, now=NOW, templates=templates)
    p.kind.value = "template"
    p.template.value = "rabatt_aktion"
    params = {c.description: c for c in p.params_box.children}
    params["{{discount}}"].value = "rfm_score"
    with open_store(tmp_path / "w.db") as store:
        view = DryRunView(message=p, now=NOW, store=store)
        view.run_button.click()
        report = view.report
        assert report is not None and view.error.level == "ok" and "Dry-run done" in view.error.text
        s = report.summary()
        assert f"<b>{s['send']:,}</b> would be sent" in view.summary.value
        assert "inactive_90d" in view.counts.value and "Twilio" in view.providers.value
        assert "replied" in view.funnel.value
        inactive = s["excluded"]
        view.include_inactive.value = True
        view.daily_limit.value = 50
        view.pace.value = "max"  # a changed setting runs the shown report again, without a click
        assert view.report.pace == "max"
        s2 = view.report.summary()
        assert s2["excluded"] < inactive
        assert s2["send"] == 50 and "tier_limit" in view.counts.value
        assert view.report.pace == "max"
        assert view.report.total_cost > 0 and "Meta rate card" in view.summary.value
        assert "2024 scenario" in view.providers.value
        view.prices.value = "guide"  # the 2024 guide's scenario: 1,000 free messages a month
        assert view.report.total_cost == 0 and "WhatsApp marketing guide, 2024" in view.summary.value


def test_dry_run_view_shows_bad_input(features):
    view = DryRunView(now=NOW)
    view.run_button.click()
    assert "nothing to dry-run" in view.error.value and view.report is None
    assert view.error.level == "error" and view.error.text.startswith("Run dry-run failed: ")


def test_dry_run_view_shows_a_closed_database_in_the_widget(tmp_path, features, templates):
    """Notebook 03 closed the store under the widget: the button says so, the old figures are marked."""
    store = open_store(tmp_path / "w.db")
    view = DryRunView(
        features.head(30), MessageSpec(category="service", text="{{first_name}}, danke!"), now=NOW, store=store
    )
    assert view.run() is not None
    assert "expected" in view.summary.value.lower() and "{" not in view.summary.value
    store.close()
    view.run_button.click()
    assert view.error.level == "error"
    assert "Cannot operate on a closed database" in view.error.text and "run the set-up cells again" in view.error.text
    assert "from the last successful run" in view.error.text
    files = view.exports.build()
    assert "dry-run-plan.csv" in files and "dry-run-counts.xlsx" in files


def test_notebook_03_executes_against_the_sandbox(workspace):
    _, outputs = execute_notebook(ROOT / "notebooks" / "03_compose_and_dry_run.ipynb")
    assert widget_views(outputs), "the preview was not displayed"
    text = "".join(o.get("text", "") for o in outputs)
    assert "synced" in text and "variable_at_start" in text  # the draft's findings were printed
    assert "error" not in text.split("synced")[1].split("\n")[0]
    assert len(widget_views(outputs)) == 2, "the preview and the dry-run view were not both displayed"
    with open_store(workspace / "wamkt.db") as store:  # the dry run saved the campaign 04 sends
        planned = store.query("SELECT COUNT(*) FROM sends WHERE campaign_id = 'spring-sale' AND state = 'planned'")
    assert planned[0][0] > 0


def test_segment_picker_and_language_variants_of_a_template(tmp_path, features, templates):
    with open_store(tmp_path / "w.db") as store:
        save_segment(store, "vip", PRESETS["high_order_value"].rule)
        p = MessagePreview(features, None, now=NOW, templates=templates, store=store)
    assert "saved: vip" in p.segment.options and "Everyone" in p.segment.options
    p.segment.value = PRESETS["active_7d"].label
    assert len(p.audience) == features["tags"].map(lambda t: "active_7d" in t).sum()
    p.kind.value = "template"
    p.template.value = "order_shipped"
    assert set(p.spec.template) == {"de", "en"} and p.category.value == "utility"
    english = p.audience["language"] == "en"
    body = p.rendered[""]
    assert body[english.to_numpy()].str.startswith("Hi ").all()
    assert body[(p.audience["language"] == "de").to_numpy()].str.startswith("Hallo ").all()


def test_dry_run_view_takes_now_from_a_clock(features):
    clock = ManualClock(NOW.timestamp())
    spec = MessageSpec(category="service", text="{{first_name}}, danke!")
    view = DryRunView(features.head(20), spec, now=None, clock=clock)
    view.schedule.value = "now"
    view.run()
    assert view.report.now == NOW.timestamp()
    clock.advance(3600)
    view.run()
    assert view.report.now == NOW.timestamp() + 3600


def test_the_default_copy_keeps_the_20_to_30_character_rule_and_exports_masked(features):
    p = MessagePreview(features, None, now=NOW)
    bubbles = p.bubbles.value.count("wamkt-bubble'")
    assert bubbles == 4 and p.bubbles.value.count("length outside 20-30") < bubbles
    assert "color:#" not in p.lint.value  # findings are marked by class and icon, not by coloured text
    files = p.exports.build()
    phone = str(p.audience["phone"].iloc[0]).encode()
    assert phone not in files["message-sample.csv"] and "message-lengths.svg" in files


def test_bubbles_show_buttons_coupon_offer_countdown_and_carousel_cards(features):
    offer = Template.from_api(
        {
            "name": "wochenend_angebot",
            "language": "de",
            "category": "MARKETING",
            "status": "APPROVED",
            "components": [
                {
                    "type": "LIMITED_TIME_OFFER",
                    "limited_time_offer": {"text": "Nur 48 Stunden!", "has_expiration": True},
                },
                {"type": "BODY", "text": "Hallo, 25 % auf alles mit deinem Code!"},
                {
                    "type": "BUTTONS",
                    "buttons": [
                        {"type": "COPY_CODE", "example": "WEEKEND25"},
                        {"type": "URL", "text": "Jetzt einkaufen", "url": "https://shop.example.com"},
                    ],
                },
            ],
        }
    )
    card = {
        "components": [
            {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["https://cdn.example.com/1.jpg"]}},
            {"type": "BODY", "text": "Nur {{1}} heute", "example": {"body_text": [["19 €"]]}},
            {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Mehr davon"}]},
        ]
    }
    carousel = Template.from_api(
        {
            "name": "neuheiten",
            "language": "de",
            "category": "MARKETING",
            "status": "APPROVED",
            "components": [{"type": "BODY", "text": "Unsere Neuheiten:"}, {"type": "CAROUSEL", "cards": [card, card]}],
        }
    )
    ends = NOW + pd.Timedelta(days=2, hours=3)
    p = MessagePreview(
        features,
        None,
        now=NOW,
        templates=[offer, carousel],
        sample_size=2,
        interactive={"coupon_code": "ANNA25", "offer_expires_at": ends},
    )
    p.kind.value = "template"
    p.template.value = "wochenend_angebot"
    bubbles = p.bubbles.value
    assert "Nur 48 Stunden!" in bubbles and "Ends in 2 d 3 h" in bubbles
    assert "<code>ANNA25</code>" in bubbles and "WEEKEND25" not in bubbles  # the send's code, not the example
    assert bubbles.count("btn-url") == 2 and "Jetzt einkaufen" in bubbles
    assert p.spec.offer_expires_at == ends and p.error.value == ""

    late = MessagePreview(features, None, now=ends + pd.Timedelta(hours=1), templates=[offer], sample_size=1)
    late.kind.value = "template"
    late.template.value = "wochenend_angebot"
    assert "Offer end not set" in late.bubbles.value and "<code>WEEKEND25</code>" in late.bubbles.value

    p.template.value = "neuheiten"
    assert p.bubbles.value.count("class='card'") == 2 * 2  # two cards in each of the two sampled bubbles
    assert "Nur 19 € heute" in p.bubbles.value and "btn-quick_reply" in p.bubbles.value


def test_countdown_says_when_the_offer_ended():
    assert countdown(NOW - pd.Timedelta(minutes=1), NOW).startswith("Offer ended")
    assert countdown(NOW + pd.Timedelta(minutes=90), NOW).startswith("Ends in 1 h 30 min")
