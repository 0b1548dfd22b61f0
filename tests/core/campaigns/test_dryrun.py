"""The dry-run plan: contract columns, reasons, schedule, tier, cost, funnel, A/B arms, ledger hand-off."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers.dryrun_inputs import PROMO, SPEC, small

from wamkt_nb.campaigns.dryrun import PLAN_COLUMNS, dry_run
from wamkt_nb.cloudapi import CloudClient
from wamkt_nb.compliance import Policy
from wamkt_nb.currency import ExchangeRates
from wamkt_nb.data.features import build_features
from wamkt_nb.data.sample import generate
from wamkt_nb.identities import resolve_identity
from wamkt_nb.ledger import create_campaign
from wamkt_nb.messages import MessageSpec, Param, Template, template_from_text
from wamkt_nb.pricing import RateCard, guide_2024
from wamkt_nb.sandbox import Sandbox
from wamkt_nb.sandbox.templates import default_templates
from wamkt_nb.store import open_store

NOW = pd.Timestamp("2026-11-25 17:00", tz="UTC")


@pytest.fixture(scope="module")
def features():
    data = generate(1_500, seed=7, now=NOW.normalize())
    f = build_features(data, NOW)
    f["discount"] = np.where(f["total_spend"] > 500, "20 %", "10 %")
    return f


def test_plan_has_the_contract_columns_and_one_row_per_recipient(features):
    report = dry_run(features, SPEC, now=NOW)
    plan = report.plan
    assert set(PLAN_COLUMNS) <= set(plan.columns) and len(plan) == len(features)
    assert str(plan["planned_at"].dtype) == "datetime64[ns, UTC]"
    sent = plan[plan["outcome"] != "excluded"]
    assert sent["payload"].map(lambda p: p["type"] == "template" and p["to"] == p["to"]).all()
    assert plan.loc[plan["outcome"] == "excluded", "payload"].isna().all()
    assert (plan.loc[plan["outcome"] == "send", "reason"] == "").all()
    assert set(plan.loc[plan["outcome"] == "excluded", "reason"]) <= {"no_opt_in", "us_marketing", "inactive_90d"}
    assert (plan["planned_at"] >= NOW).all()
    counts = report.counts()
    assert counts["recipients"].sum() == len(plan)
    inactive = (
        features["interaction_recency"].astype(str).eq("inactive_90d")
        & features["opted_in"]
        & ~features["phone"].str.startswith("+1")
    )
    assert counts.loc[counts["reason"] == "inactive_90d", "recipients"].item() == inactive.sum()
    assert counts.loc[counts["reason"] != "", "meaning"].str.len().gt(0).all()


def test_payload_matches_the_rendered_body(features):
    plan = dry_run(features, SPEC, now=NOW).plan
    row = plan[plan["outcome"] == "send"].iloc[0]
    params = {p["parameter_name"]: p["text"] for p in row["payload"]["template"]["components"][0]["parameters"]}
    assert row["body"] == PROMO.render(params)
    assert row["payload"]["template"]["name"] == "rabatt_aktion"


def test_plan_is_accepted_by_the_ledger(tmp_path, features):
    report = dry_run(features.head(200), SPEC, now=NOW)
    with open_store(tmp_path / "w.db") as store:
        cid = create_campaign(store, report.plan, name="promo", now=NOW.timestamp())
        states = store.read_frame("SELECT state, reason FROM sends WHERE campaign_id = ?", (cid,))
    assert (states["state"] == "planned").sum() == (report.plan["outcome"] != "excluded").sum()


def test_best_hour_schedule_and_duration_at_pace():
    report = dry_run(small(), SPEC, now=NOW, pace="safe", policy=Policy(daily_limit=None))
    local = report.plan["planned_at"].dt.tz_convert("Europe/Berlin")
    assert (local.dt.hour == 20).all() and (local.dt.day == 25).all()
    assert report.duration_seconds == pytest.approx(6 / 0.5)
    assert dry_run(small(), SPEC, now=NOW, pace="max").duration_seconds == pytest.approx(6 / 1000)


def test_tier_limit_moves_the_rest_to_later_days():
    report = dry_run(small(), SPEC, now=NOW, policy=Policy(daily_limit=4))
    plan = report.plan
    assert (plan["outcome"] == "send").sum() == 4
    later = plan[plan["outcome"] == "later"]
    assert set(later["reason"]) == {"tier_limit"} and len(later) == 2
    assert (later["planned_at"] - plan.loc[plan["outcome"] == "send", "planned_at"].max() == pd.Timedelta(days=1)).all()


def test_quiet_hours_defer_an_immediate_send():
    aud = small(2, timezone=["Europe/Berlin", "Asia/Tokyo"])  # 18:00 and 02:00 local
    plan = dry_run(aud, SPEC, now=NOW, schedule="now").plan
    assert plan["outcome"].tolist() == ["send", "later"]
    assert plan["reason"].tolist() == ["", "quiet_hours"]
    assert plan["planned_at"].iloc[1].tz_convert("Asia/Tokyo").hour == 8


def test_cost_is_what_each_message_will_cost_if_delivered(tmp_path):
    card_file = tmp_path / "card.csv"
    card_file.write_text(
        "market,category,price,currency,effective_from,source\nDE,marketing,0.02,USD,2026-01-01,test\n",
        encoding="utf-8",
    )
    usd = ExchangeRates("USD", {"USD": 1.0, "EUR": 1.16})
    report = dry_run(
        small(),
        SPEC,
        now=NOW,
        card=RateCard.load(card_file, name="Test card"),
        rates=usd,
        policy=Policy(daily_limit=None),
    )
    assert report.total_cost == pytest.approx(6 * 0.02)
    summary = report.summary()
    assert summary["cost"] == pytest.approx(0.12) and summary["currency"] == "USD"
    assert summary["rate_card"] == "Test card 2026-01-01"
    guide = dry_run(small(), SPEC, now=NOW, card=guide_2024(), rates=usd, policy=Policy(daily_limit=None))
    assert guide.total_cost == 0  # the 2024 guide's 1,000 free messages a month
    default = dry_run(small(), SPEC, now=NOW, policy=Policy(daily_limit=None))
    assert default.summary()["rate_card"].startswith("Meta rate card")
    assert (default.plan["cost"] > 0.1).all()  # a German marketing template costs over 0.10 EUR


def test_recipients_in_a_market_without_a_price_are_planned_and_named_beside_the_cost():
    """A Turkish number on a card without Turkey: the recipient is still planned, its cost is
    unknown (not 0), the total counts the priced ones and the summary names what it leaves out."""
    audience = small(3)
    audience.loc[2, "phone"] = "+905012345678"
    report = dry_run(audience, SPEC, now=NOW, policy=Policy(daily_limit=None))
    assert (report.plan["outcome"] != "excluded").all()
    assert report.plan["cost"].isna().tolist() == [False, False, True]
    summary = report.summary()
    assert summary["cost"] == pytest.approx(report.plan["cost"].iloc[:2].sum(), abs=1e-4)
    assert "excludes 1 message(s)" in summary["cost_note"] and "(TR 1)" in summary["cost_note"]
    assert dry_run(small(3), SPEC, now=NOW, policy=Policy(daily_limit=None)).summary()["cost_note"] == ""


def test_funnel_from_history():
    report = dry_run(small(4, read_rate=[1.0, 0.5, np.nan, 0.0]), SPEC, now=NOW)
    funnel = report.funnel.set_index("stage")["expected"]
    assert funnel["messages"] == 4
    assert funnel["delivered"] == pytest.approx(4 * 0.98)
    assert funnel["read"] == pytest.approx((1.0 + 0.5 + 0.58 + 0.0) * 0.98)


def test_free_form_text_outside_the_window_is_excluded_and_inside_is_free(tmp_path):
    spec = MessageSpec(category="service", text="{{first_name}}, danke für deine Nachricht!")
    with open_store(tmp_path / "w.db") as store:
        store.execute("INSERT INTO service_windows VALUES ('+4915100000001', ?)", (NOW.timestamp() - 600,))
        plan = dry_run(small(3), spec, now=NOW, store=store).plan
    assert plan["reason"].tolist() == ["outside_service_window", "", "outside_service_window"]
    assert plan.loc[1, "payload"] == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "+4915100000001",
        "type": "text",
        "text": {"preview_url": False, "body": "Name1, danke für deine Nachricht!"},
    }
    assert plan["cost"].sum() == 0


def test_free_form_text_is_planned_while_the_window_is_still_open(tmp_path):
    """Best hour 20:00 local; a window that closes before then moves the message to now, or (in quiet
    hours until it closes) excludes it: sent later it would fail with 131047."""
    spec = MessageSpec(category="service", text="{{first_name}}, danke für deine Nachricht!")
    now = NOW.timestamp()  # 18:00 in Berlin, 02:00 in Tokyo
    aud = small(4, timezone=["Europe/Berlin", "Europe/Berlin", "Asia/Tokyo", "Asia/Tokyo"])
    wrote = [now - 3600, now - 23 * 3600, now - 23 * 3600, now - 3600]  # window left: 23 h, 1 h, 1 h, 23 h
    with open_store(tmp_path / "w.db") as store:
        store.executemany("INSERT INTO service_windows VALUES (?, ?)", zip(aud["phone"], wrote, strict=True))
        plan = dry_run(aud, spec, now=NOW, store=store, policy=Policy(daily_limit=None)).plan
    assert plan["outcome"].tolist() == ["send", "send", "excluded", "send"]
    assert plan["reason"].tolist() == ["", "", "outside_service_window", ""]
    planned = plan["planned_at"].map(lambda t: t.timestamp()).to_numpy()
    assert planned[0] == pytest.approx(now + 2 * 3600) and planned[1] == pytest.approx(now)  # best hour, now
    assert plan["planned_at"].iloc[3].tz_convert("Asia/Tokyo").hour == 20  # 18 h later, still inside
    assert (planned[[0, 1, 3]] < np.array(wrote)[[0, 1, 3]] + 86_400).all()


def test_ab_arms_render_their_own_variant_and_holdout_gets_nothing():
    b = MessageSpec(text="{{first_name}}, Code: JA antworten!")
    a = MessageSpec(text="{{first_name}}, dein Code wartet!")
    aud = small(4, arm=["a", "b", "holdout", "a"])
    with open_store(":memory:") as store:
        store.execute(
            "INSERT INTO service_windows SELECT phone, ? FROM (SELECT '+4915100000000' AS phone "
            "UNION SELECT '+4915100000001' UNION SELECT '+4915100000002' UNION SELECT '+4915100000003')",
            (NOW.timestamp() - 60,),
        )
        plan = dry_run(aud, {"a": a, "b": b}, now=NOW, store=store).plan
    assert plan["body"].tolist()[:2] == ["Hallo, dein Code wartet!", "Name1, Code: JA antworten!"]
    assert plan["outcome"].tolist() == ["send", "send", "excluded", "send"]
    assert plan.loc[2, "reason"] == "holdout"
    with pytest.raises(ValueError, match="arm\\(s\\) 'c'"):
        dry_run(small(2, arm=["a", "c"]), {"a": a, "b": b}, now=NOW)
    with pytest.raises(ValueError, match="'arm' column"):
        dry_run(small(2), {"a": a, "b": b}, now=NOW)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="lacks column\\(s\\) phone"):
        dry_run(pd.DataFrame({"customer_id": ["x"]}), SPEC, now=NOW)
    with pytest.raises(ValueError, match="pace must be one of"):
        dry_run(small(), SPEC, now=NOW, pace="ludicrous")


def test_too_long_messages_are_excluded():
    spec = MessageSpec(category="utility", text="Hallo {{first_name}}, " + "x" * 4100 + " ok")
    with open_store(":memory:") as store:
        store.execute("INSERT INTO service_windows VALUES ('+4915100000001', ?)", (NOW.timestamp() - 60,))
        plan = dry_run(small(2), spec, now=NOW, store=store).plan
    assert plan["reason"].tolist() == ["outside_service_window", "message_too_long"]


def test_positional_template_payload_keeps_parameter_order():
    t = template_from_text(
        "order_shipped",
        "de",
        "UTILITY",
        "Hallo {{1}}, deine Bestellung {{2}} ist unterwegs.",
        examples={"1": "Anna", "2": "#1"},
        header="Bestellung {{1}}",
    )
    spec = MessageSpec(category="utility", template=t, params={"1": Param("first_name"), "2": Param("customer_id")})
    plan = dry_run(small(2), spec, now=NOW).plan
    template = plan.loc[1, "payload"]["template"]
    assert template["components"] == [
        {"type": "header", "parameters": [{"type": "text", "text": "Name1"}]},
        {"type": "body", "parameters": [{"type": "text", "text": "Name1"}, {"type": "text", "text": "c1"}]},
    ]
    assert plan.loc[1, "body"] == "Bestellung Name1\nHallo Name1, deine Bestellung c1 ist unterwegs."


def test_template_variable_without_value_or_fallback_is_excluded():
    t = template_from_text(
        "order_shipped",
        "de",
        "UTILITY",
        "Hallo {{1}}, deine Bestellung {{2}} ist unterwegs.",
        examples={"1": "Anna", "2": "#1"},
    )
    spec = MessageSpec(category="utility", template=t, params={"1": Param("first_name"), "2": Param("order")})
    plan = dry_run(small(3, order=["#1", None, " "]), spec, now=NOW).plan
    assert plan["reason"].tolist() == ["", "missing_parameter", "missing_parameter"]
    spec = MessageSpec(
        category="utility",
        template=t,
        params={"1": Param("first_name"), "2": Param("order", fallback="deine Bestellung")},
    )
    assert (dry_run(small(3, order=["#1", None, " "]), spec, now=NOW).plan["reason"] == "").all()


def test_media_header_and_url_button_reach_the_payload_and_the_sandbox_accepts_it(tmp_path):
    data = generate(30, seed=2, now=NOW.normalize())
    willkommen = Template.from_api(next(t for t in default_templates() if t["name"] == "willkommen"))
    spec = MessageSpec(template=willkommen, params={"1": Param("first_name")})
    aud = data.customers.assign(most_active_hour=12.0)
    plan = dry_run(aud, spec, now=NOW, policy=Policy(include_inactive=True)).plan
    row = plan[plan["outcome"] != "excluded"].iloc[0]
    components = row["payload"]["template"]["components"]
    assert components[0] == {
        "type": "header",
        "parameters": [{"type": "image", "image": {"link": "https://example.com/willkommen.jpg"}}],
    }
    assert components[-1]["sub_type"] == "url" and components[-1]["parameters"][0]["text"] == "welcome"
    with Sandbox(customers=data) as box, CloudClient(box.settings()) as api:
        result = api.send_message(box.phone_number_id, row["payload"])
    assert result.wamid


def test_messy_input_gets_reasons_instead_of_errors():
    aud = pd.DataFrame(
        {
            "customer_id": [1, 2, 3],
            "phone": ["+4915112345678", None, 4915112345679],
            "first_name": ["anna", None, "Y"],
            "language": [None, "EN", "fr"],
            "opted_in": [True, None, 1],
            "timezone": [np.nan, "Mars/Base", None],
        },
        dtype=object,
    )
    spec = MessageSpec(category="utility", text={"de": "Hallo {{first_name}}, ok!", "en": "Hi {{first_name}}, ok!"})
    plan = dry_run(aud, spec, now=NOW).plan
    assert plan["customer_id"].tolist() == ["1", "2", "3"]
    assert plan["reason"].tolist() == ["outside_service_window", "no_phone", "no_phone"]
    assert plan["body"].tolist() == ["Hallo Anna, ok!", "Hi there, ok!", "Hallo Y, ok!"]
    assert plan["timezone"].tolist() == ["Europe/Berlin", "UTC", "UTC"]


def test_bsuid_only_customers_are_planned_by_bsuid_priced_and_timed_by_its_country(tmp_path):
    """A customer with a ``bsuid`` and no phone is addressed by Meta's ``recipient`` field; a ``US.``
    BSUID is excluded from marketing like a +1 number; the country gives price and zone; once a
    webhook linked the BSUID to a phone, the plan addresses the phone."""
    audience = (
        small(4)
        .drop(columns="timezone")
        .assign(
            phone=["+491510000000", None, None, None],
            bsuid=[None, "DE.13491208655302741918", "US.24817305912873645029", "NL.5550001112223334445"],
        )
    )
    with open_store(tmp_path / "s.db") as store:
        with store.transaction() as conn:
            resolve_identity(conn, phone="+31612345678", bsuid="NL.5550001112223334445", at=1)
        plan = dry_run(audience, SPEC, now=NOW, store=store, policy=Policy(daily_limit=None)).plan
    assert plan["phone"].tolist() == [
        "+491510000000",
        "DE.13491208655302741918",
        "US.24817305912873645029",
        "+31612345678",
    ]
    assert plan["reason"].astype(str).tolist()[2] == "us_marketing"
    assert plan.loc[1, "outcome"] == "send" and plan.loc[1, "payload"]["recipient"] == "DE.13491208655302741918"
    assert "to" not in plan.loc[1, "payload"] and plan.loc[3, "payload"]["to"] == "+31612345678"
    assert plan.loc[1, "cost"] == pytest.approx(plan.loc[0, "cost"]) and plan.loc[1, "cost"] > 0.1  # German price
    assert str(plan.loc[1, "timezone"]) == "Europe/Berlin"
