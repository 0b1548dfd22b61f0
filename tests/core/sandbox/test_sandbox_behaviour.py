"""The simulated customers: pure probability functions and a played campaign's analytics."""

from __future__ import annotations

import math
import random

import orjson
import pandas as pd
import pytest

from wamkt_nb.clock import ManualClock
from wamkt_nb.cloudapi import template_message
from wamkt_nb.data.sample import generate
from wamkt_nb.sandbox import (
    BehaviourParams,
    Sandbox,
    SandboxConfig,
    conversion_probability,
    delivery_probability,
    read_probability,
    reply_probability,
    variant_key_uplift,
)
from wamkt_nb.sandbox.behaviour import customer_scores, sample_reply_delay
from wamkt_nb.sandbox.customers import SimCustomer
from wamkt_nb.store import open_store

P = BehaviourParams()
ACTIVE = {
    "first_name": "Anna",
    "days_since_last_interaction": 20.0,
    "orders_per_month": 0.5,
    "avg_order_value": 40.0,
    "order_value_band": "under_50",
    "interaction_recency": "recent_30d",
}
GENERIC = "Neue Angebote warten in unserem Shop auf dich"


def test_delivery_text_vs_media():
    assert delivery_probability("text", P) == P.delivery_text == delivery_probability("template", P)
    assert 0.98 <= P.delivery_text <= 1.0
    assert 0.90 <= delivery_probability("image", P) <= 0.95 + 0.01  # 90-95 % of attempted after the same losses
    assert delivery_probability("document", P) == delivery_probability("image", P) < P.delivery_text


def test_a_customers_kept_scores_follow_a_change_of_any_input():
    params = BehaviourParams()
    quiet = SimCustomer("c1", "4915100000001", "+4915100000001", "Anna", "UTC", {**ACTIVE})
    kept = quiet.scores(params)
    assert kept == customer_scores(quiet.features, params)
    quiet.features["days_since_last_interaction"] = None  # never interacted: never_interacted_days counts
    assert quiet.scores(params) == customer_scores(quiet.features, params) != kept
    long_silence = quiet.scores(params)
    params.never_interacted_days = 30.0
    assert quiet.scores(params) == customer_scores(quiet.features, params)
    assert quiet.scores(params)[0] < long_silence[0]
    for name, value in (("orders_per_month", 4.0), ("avg_order_value", 120.0), ("avg_order_value", None)):
        before = quiet.scores(params)
        quiet.features[name] = value
        assert quiet.scores(params) == customer_scores(quiet.features, params) != before
    reader = read_probability(quiet.features, GENERIC, 15, params, scores=quiet.scores(params))
    assert reader == read_probability(quiet.features, GENERIC, 15, params)


def test_name_first_short_copy_reads_more():
    """20-30 characters starting with the first name add ``personal_read_logit`` to the log-odds."""
    generic = read_probability(ACTIVE, GENERIC, 15, P)
    personal = read_probability(ACTIVE, "Anna, dein Paket ist da!", 15, P)  # 24 chars, name first
    logit = lambda p: math.log(p / (1 - p))  # noqa: E731
    assert logit(personal) - logit(generic) == pytest.approx(P.personal_read_logit)
    assert read_probability(ACTIVE, "Anna", 15, P) == generic  # too short to count as personal
    assert read_probability(ACTIVE, "Anna, dein Paket ist jetzt endlich da!", 15, P) == generic  # too long
    assert read_probability({**ACTIVE, "first_name": None}, "Anna, dein Paket ist da!", 15, P) == generic


def test_peak_and_night_hours():
    generic = read_probability(ACTIVE, GENERIC, 15, P)
    assert read_probability(ACTIVE, GENERIC, 21, P) == pytest.approx(generic * P.peak_read_factor)
    assert read_probability(ACTIVE, GENERIC, 10, P) == pytest.approx(generic * P.peak_read_factor)
    assert read_probability(ACTIVE, GENERIC, 12, P) == generic  # the peaks are 10-12 h and 20-22 h
    assert read_probability(ACTIVE, GENERIC, 3, P) == pytest.approx(generic * P.night_read_factor)


def test_read_probability_rises_with_recency_frequency_and_order_value():
    """Segment differences come from the features a segment selects on, not from its label."""
    by_days = [read_probability({**ACTIVE, "days_since_last_interaction": d}, GENERIC, 15, P) for d in (2, 20, 60, 200)]
    assert by_days == sorted(by_days, reverse=True) and by_days[0] > by_days[-1] * 2
    never = read_probability({**ACTIVE, "days_since_last_interaction": float("nan")}, GENERIC, 15, P)
    assert never < by_days[-1]  # never interacted reads like a year of silence
    by_orders = [read_probability({**ACTIVE, "orders_per_month": n}, GENERIC, 15, P) for n in (0, 0.5, 2, 5)]
    assert by_orders == sorted(by_orders) and by_orders[0] < by_orders[-1]
    by_value = [read_probability({**ACTIVE, "avg_order_value": v}, GENERIC, 15, P) for v in (20, 50, 120)]
    assert by_value == sorted(by_value) and by_value[0] < by_value[-1]
    labelled = {**ACTIVE, "order_value_band": "over_200", "interaction_recency": "active_7d"}
    assert read_probability(labelled, GENERIC, 15, P) == read_probability(ACTIVE, GENERIC, 15, P)
    assert read_probability(ACTIVE, GENERIC, 15, P, uplift=10.0) == P.max_read


def test_reply_and_conversion_probabilities():
    promo = reply_probability(ACTIVE, "Neue Herbstmode", "marketing", P)
    cta = reply_probability(ACTIVE, "Antworte JA für deinen Code", "marketing", P)
    order = reply_probability(ACTIVE, "Deine Bestellung ist unterwegs", "utility", P)
    assert promo == P.reply_given_read["marketing"] < cta == P.call_to_action_reply
    assert order == P.reply_given_read["utility"]
    base = conversion_probability(ACTIVE, "marketing", P)
    assert 0 < base < 1
    assert conversion_probability(ACTIVE, "marketing", P, uplift=0.5) == pytest.approx(base * 1.5)
    assert conversion_probability(ACTIVE, "utility", P) == P.utility_conversion
    quiet = conversion_probability({**ACTIVE, "days_since_last_interaction": 200.0}, "marketing", P)
    assert quiet == pytest.approx(base * math.exp(P.conversion_recency * (math.log1p(200 / 7) - math.log1p(20 / 7))))


def test_reply_delays_follow_the_guide():
    rng = random.Random(1)
    delays = [sample_reply_delay(rng, P) for _ in range(20_000)]
    within_3min = sum(d <= 180 for d in delays) / len(delays)
    after_30min = sum(d > 1800 for d in delays) / len(delays)
    assert within_3min == pytest.approx(0.65, abs=0.015) and after_30min == pytest.approx(0.12, abs=0.01)


def test_variant_key_uplift_matching():
    table = {"rabatt_b": 0.3, "B": 0.2}
    assert variant_key_uplift(table, "rabatt_b", None) == 0.3
    assert variant_key_uplift(table, "other", "cmp1:C0001:B") == 0.2
    assert variant_key_uplift(table, "other", "arm=B|cmp1") == 0.2
    assert variant_key_uplift(table, "other", "cmp1:C0001:A") == 0.0
    assert variant_key_uplift({}, "rabatt_b", "B") == 0.0


def play(data, params: BehaviourParams, start: float) -> Sandbox:
    """Send ``rabatt_aktion`` to every customer (arms A/B alternating) and play three simulated days."""
    cfg = SandboxConfig(pair_interval=0, throughput_per_second=10_000, messaging_tier="TIER_10K")
    sb = Sandbox(customers=data, clock=ManualClock(start), config=cfg, params=params)
    for i, row in enumerate(data.customers.itertuples()):
        name = row.first_name if isinstance(row.first_name, str) else "Hallo"
        body = template_message(
            row.phone,
            "rabatt_aktion",
            "de",
            {"first_name": name, "discount": "10 %"},
            callback_data=f"cmp1:{row.customer_id}:{'AB'[i % 2]}",
        )
        status, _ = sb.engine.send(sb.phone_number_id, orjson.dumps(body))
        assert status == 200
    sb.advance(3 * 86_400)
    return sb


START = pd.Timestamp("2026-11-20 09:00", tz="UTC").timestamp()


@pytest.fixture(scope="module")
def played():
    """A campaign to 3,000 customers, arm B with a planted +100 % conversion uplift."""
    data = generate(3_000, seed=21, now="2026-11-20")
    sb = play(data, BehaviourParams(variant_uplift={"B": 1.0}), START)
    try:
        yield sb, data
    finally:
        sb.stop()


def test_campaign_rates_look_like_the_guide(played):
    sb, _ = played
    msgs = sb.messages_frame()
    sent = msgs[msgs.sent_at.notna()]
    reached = sent.delivered_at.notna()
    assert reached.mean() == pytest.approx(P.delivery_text, abs=0.01)
    read_rate = sent.read_at.notna().sum() / reached.sum()
    sb.wait_idle()
    webhooks = {}
    for batch in sb.emitted():
        for change in batch["payload"]["entry"][0]["changes"]:
            for s in change["value"].get("statuses", []):
                webhooks.setdefault(s["id"], set()).add(s["status"])
    read_only = sum("read" in v and "delivered" not in v for v in webhooks.values())
    assert 0 < read_only < 0.05 * len(sent)  # Meta may send "read" without "delivered"
    assert 0.30 < read_rate < 0.85  # these customers (a third inactive) read about 34.5 % (sandbox seeds 7-10)
    failed = msgs[msgs.status == "failed"].error_code.value_counts()
    assert set(failed.index) <= {131026, 131049, 131050}  # not on WhatsApp, US marketing, stopped marketing
    assert 0.03 < failed.sum() / len(msgs) < 0.12
    counters = sb.counters()
    assert 0.02 * len(sent) < counters["inbound"] < 0.2 * len(sent)  # promotions with a call to action


def test_conversions_for_the_store_and_planted_uplift(played):
    sb, data = played
    conv = sb.conversions_frame()
    assert list(conv.columns[:7]) == ["order_id", "customer_id", "phone", "at", "amount", "currency", "source"]
    assert conv.order_id.is_unique and (conv.source == "sandbox").all() and (conv.amount > 0).all()
    assert set(conv.customer_id) <= set(data.customers.customer_id)
    arm = conv.callback_data.str[-1]
    assert (arm == "A").sum() > 30
    assert (arm == "B").sum() > 1.5 * (arm == "A").sum()  # planted +100 % on conversion


def test_same_seed_same_story():
    data = generate(300, seed=8, now="2026-11-20")
    runs = [play(data, BehaviourParams(), START) for _ in range(2)]
    try:
        cols = ["wamid", "status", "error_code", "sent_at", "delivered_at", "read_at"]
        frames = [sb.messages_frame().reindex(columns=cols) for sb in runs]
        pd.testing.assert_frame_equal(frames[0], frames[1])
        pd.testing.assert_frame_equal(runs[0].conversions_frame(), runs[1].conversions_frame())
        assert frames[0].read_at.notna().sum() > 50
    finally:
        for sb in runs:
            sb.stop()


def test_replies_use_the_buttons_offered():
    data = generate(300, seed=13, now="2026-11-20")
    cfg = SandboxConfig(pair_interval=0, throughput_per_second=10_000)
    sb = Sandbox(customers=data, clock=ManualClock(START), config=cfg)
    try:
        for i, phone in enumerate(data.customers.phone):
            body = (
                template_message(phone, "feedback_request", "de")
                if i % 2
                else {
                    "messaging_product": "whatsapp",
                    "to": phone,
                    "type": "interactive",
                    "interactive": {
                        "type": "button",
                        "body": {"text": "Rabattcode gefällig?"},
                        "action": {"buttons": [{"type": "reply", "reply": {"id": "yes", "title": "JA"}}]},
                    },
                }
            )
            sb.engine.send(sb.phone_number_id, orjson.dumps(body))
        for phone in data.customers.phone[::2]:  # open their windows so the free-form buttons are delivered
            sb.inject_inbound(phone, "Hallo")
        sb.advance(2 * 86_400)
        sb.wait_idle()
        inbound = [
            m
            for b in sb.emitted()
            for c in b["payload"]["entry"][0]["changes"]
            for m in c["value"].get("messages", [])
            if "context" in m
        ]
        kinds = {m["type"] for m in inbound}
        assert kinds == {"button", "interactive"}
        assert {m["button"]["payload"] for m in inbound if m["type"] == "button"} <= {"Sehr gut", "Geht so"}
        assert {m["interactive"]["button_reply"]["id"] for m in inbound if m["type"] == "interactive"} == {"yes"}
        wamids = set(sb.messages_frame().wamid)
        assert all(m["context"]["id"] in wamids for m in inbound)
    finally:
        sb.stop()


def test_a_tap_answers_with_the_payload_the_business_set_not_the_label():
    """Regression (issue 14): the sandbox answered a quick-reply tap with the button's label as
    payload and dropped the payload the business set in the send."""
    data = generate(200, seed=14, now="2026-11-20")
    cfg = SandboxConfig(pair_interval=0, throughput_per_second=10_000)
    sb = Sandbox(customers=data, clock=ManualClock(START), config=cfg)
    try:
        sent = {}
        for i, phone in enumerate(data.customers.phone):
            payloads = {0: "FEEDBACK_GOOD", 1: "STOP"} if i % 2 else None
            result = sb.engine.send(
                sb.phone_number_id,
                orjson.dumps(template_message(phone, "feedback_request", "de", quick_reply_payloads=payloads)),
            )
            sent[orjson.loads(result[1])["messages"][0]["id"]] = payloads
        sb.advance(2 * 86_400)
        sb.wait_idle()
        taps = [
            m
            for b in sb.emitted()
            for c in b["payload"]["entry"][0]["changes"]
            for m in c["value"].get("messages", [])
            if m.get("type") == "button"
        ]
        with_payload = [m["button"] for m in taps if sent[m["context"]["id"]]]
        without = [m["button"] for m in taps if not sent[m["context"]["id"]]]
        assert with_payload and without
        assert {(b["payload"], b["text"]) for b in with_payload} <= {("FEEDBACK_GOOD", "Sehr gut"), ("STOP", "Geht so")}
        assert all(b["payload"] == b["text"] for b in without)  # none set: Meta returns the label
    finally:
        sb.stop()


def test_conversions_go_into_the_store(played, tmp_path):
    sb, _ = played
    store = open_store(tmp_path / "wamkt.db")
    offered = sb.save_conversions(store)
    assert offered == len(sb.conversions_frame()) > 0
    assert sb.save_conversions(store) == offered  # idempotent: order ids are the key
    rows = store.query("SELECT COUNT(*) AS n, SUM(amount) AS total FROM conversions WHERE source = 'sandbox'")
    assert rows[0]["n"] == offered
    assert rows[0]["total"] == pytest.approx(sb.conversions_frame().amount.sum())


def test_shared_draws_repeat_a_customers_luck_within_a_period_only():
    """``shared_draws_days``: the same message to the same customer twice in one period is read (or
    not) both times; a period later the draws are new. The read rate itself stays the model's."""
    period = 8 * 86_400.0
    start = (START // period + 1) * period + 9 * 3600.0  # 09:00 UTC on a period's first day
    data = generate(600, seed=5, now=pd.Timestamp(start, unit="s", tz="UTC"))
    cfg = SandboxConfig(pair_interval=0, throughput_per_second=10_000, messaging_tier="TIER_10K")
    sb = Sandbox(customers=data, clock=ManualClock(start), config=cfg, params=BehaviourParams(shared_draws_days=8))
    try:
        for send, day in enumerate((0, 2, 8)):  # two sends in the first period, one in the next
            sb.advance(start + day * 86_400.0 - sb.clock.now())
            for row in data.customers.itertuples():
                body = template_message(
                    row.phone,
                    "rabatt_aktion",
                    "de",
                    {"first_name": "Anna", "discount": "10 %"},
                    callback_data=f"s{send}:{row.customer_id}",
                )
                assert sb.engine.send(sb.phone_number_id, orjson.dumps(body))[0] == 200
            sb.advance(86_400)
        msgs = sb.messages_frame()
    finally:
        sb.stop()
    msgs = msgs[msgs.delivered_at.notna()].assign(send=msgs.callback_data.str[1], read=msgs.read_at.notna())
    reads = msgs.pivot_table(index="customer_id", columns="send", values="read", aggfunc="first").dropna()
    assert len(reads) > 300
    assert (reads["0"] == reads["1"]).all()  # same period, same read chance: the same outcome
    assert 0.1 < (reads["0"] != reads["2"]).mean() < 0.6  # next period: fresh draws
    first, later = float(reads["0"].mean()), float(reads["2"].mean())  # same chances, independent draws
    assert abs(first - later) < 4 * math.sqrt(2 * first * (1 - first) / len(reads))


def test_stratified_shared_draws_read_as_often_as_the_chance_says():
    """``shared_draws_strata``: over a block of 4 periods each customer's draws fall one in each
    quarter of [0, 1), so the same message sent once per period is read floor(4p) or ceil(4p) times
    by a customer whose read chance is p — never 0 or 4 times by luck."""
    period, strata = 2 * 86_400.0, 4
    start = (START // (period * strata) + 1) * period * strata + 9 * 3600.0  # a block's first period, 09:00 UTC
    data = generate(400, seed=6, now=pd.Timestamp(start, unit="s", tz="UTC"))
    cfg = SandboxConfig(pair_interval=0, throughput_per_second=10_000, messaging_tier="TIER_10K")
    params = BehaviourParams(shared_draws_days=2, shared_draws_strata=strata)
    sb = Sandbox(customers=data, clock=ManualClock(start), config=cfg, params=params)
    try:
        for send in range(strata):
            sb.advance(start + send * period - sb.clock.now())
            for row in data.customers.itertuples():
                body = template_message(row.phone, "rabatt_aktion", "de", {"first_name": "Anna", "discount": "10 %"})
                assert sb.engine.send(sb.phone_number_id, orjson.dumps(body))[0] == 200
            sb.advance(86_400)
        msgs = sb.messages_frame()
        customers = sb.engine.customers
    finally:
        sb.stop()
    msgs = msgs[msgs.delivered_at.notna()]
    chance = [
        read_probability(customers[m.wa_id].features, m.text, customers[m.wa_id].local_hour(m.delivered_at), params)
        for m in msgs.itertuples()
    ]
    per = (
        msgs.assign(read=msgs.read_at.notna(), p=chance)
        .groupby("wa_id")
        .agg(sends=("read", "size"), reads=("read", "sum"), p=("p", "mean"), spread=("p", "std"))
    )
    per = per[(per.sends == strata) & (per.spread < 1e-12)]  # reached every period at the same chance
    assert len(per) > 250
    expected = per.p * strata
    assert ((per.reads >= expected.apply(math.floor)) & (per.reads <= expected.apply(math.ceil))).all()
    assert 0.1 < per.p.mean() < 0.9 and per.reads.nunique() > 1
