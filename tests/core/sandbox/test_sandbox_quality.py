"""Quality: blocks and STOPs rate the number and pause templates (3 h, 6 h, then disabled)."""

from __future__ import annotations

import httpx
import orjson
import pandas as pd

from wamkt_nb.clock import ManualClock
from wamkt_nb.cloudapi import template_message
from wamkt_nb.data.sample import generate
from wamkt_nb.graph_versions import CURRENT_VERSION
from wamkt_nb.sandbox import BehaviourParams, Sandbox, SandboxConfig
from wamkt_nb.sandbox.quality import QualityMonitor, QualityRules
from wamkt_nb.sandbox.validate import validate_message

START = pd.Timestamp("2026-11-20 09:00", tz="UTC").timestamp()
HOUR = 3600.0


def test_monitor_pauses_twice_then_disables():
    q = QualityMonitor(QualityRules(min_sample=100, pause_rate=0.03))
    verdicts, pauses = [], []
    t = START
    for _cycle in range(3):
        for _ in range(100):
            t += 1
            q.delivered("promo", t)
        verdicts.append([q.negative("promo", t + i) for i in range(1, 5)])
        if verdicts[-1][-1] == "PAUSED":
            pauses.append(q.pause_seconds("promo"))
        t += 10
    assert verdicts == [[None, None, None, "PAUSED"], [None, None, None, "PAUSED"], [None, None, None, "DISABLED"]]
    assert pauses == [3 * HOUR, 6 * HOUR]
    assert q.negative("other", t) is None  # other templates keep their own count


def test_rating_follows_the_negative_share_of_the_last_week():
    q = QualityMonitor(QualityRules(min_sample=100, yellow_rate=0.01, red_rate=0.03, pause_rate=1.0))
    for i in range(200):
        q.delivered("a", START + i)
    assert q.rating(START + 300) == "GREEN"
    for i in range(3):
        q.negative("a", START + 300 + i)
    assert q.rating(START + 400) == "YELLOW"
    for i in range(4):
        q.negative("a", START + 400 + i)
    assert q.rating(START + 500) == "RED"
    assert q.rating(START + 8 * 86_400) == "GREEN"  # a week later it is forgotten


def test_blocks_pause_a_spammy_template_then_it_comes_back():
    data = generate(1_500, seed=17, now="2026-11-20")
    params = BehaviourParams(
        block_given_read={k: 0.2 for k in ("active_7d", "recent_30d", "dormant_30d", "inactive_90d")}
    )
    cfg = SandboxConfig(
        pair_interval=0,
        throughput_per_second=10_000,
        messaging_tier="TIER_10K",
        not_on_whatsapp_rate=0,
        marketing_stopped_rate=0,
    )
    with Sandbox(customers=data, clock=ManualClock(START), config=cfg, params=params) as sb:
        http = httpx.Client(
            base_url=f"{sb.base_url}/{CURRENT_VERSION}", headers={"Authorization": f"Bearer {sb.access_token.reveal()}"}
        )
        german = data.customers[data.customers.phone.str.startswith("+49")]
        for row in german.head(1_000).itertuples():
            body = template_message(row.phone, "rabatt_aktion", "de", {"first_name": "Hi", "discount": "5 %"})
            assert http.post(f"/{sb.phone_number_id}/messages", json=body).status_code == 200
        sb.advance(12 * HOUR)
        assert sb.counters()["blocked"] > 30
        assert http.get(f"/{sb.phone_number_id}", params={"fields": "quality_rating"}).json()["quality_rating"] == "RED"
        sb.wait_idle()
        entries = [e for b in sb.emitted() for e in b["payload"]["entry"]]
        events = [
            (e["time"], c["value"])
            for e in entries
            for c in e["changes"]
            if c["field"] == "message_template_status_update"
        ]
        assert events[0][1]["event"] == "PAUSED" and events[0][1]["reason"] == "LOW_QUALITY"
        assert events[1][1]["event"] == "APPROVED"  # back after the 3 h pause
        assert events[1][0] - events[0][0] == 3 * HOUR  # Meta's first pause: 3 h (entry[].time)
        scores = [c["value"] for e in entries for c in e["changes"] if c["field"] == "message_template_quality_update"]
        assert scores and scores[-1]["new_quality_score"] == "RED"  # quality fell from the blocks first
        assert [s["previous_quality_score"] for s in scores][0] == "GREEN"
        assert {s["message_template_name"] for s in scores} == {"rabatt_aktion"}
        blocked = sb.customers_frame().query("blocked").phone.iloc[0]
        wamid = http.post(
            f"/{sb.phone_number_id}/messages", json=template_message(blocked, "order_shipped", "de", ["A", "#1"])
        ).json()["messages"][0]["id"]
        sb.advance(10)
        assert sb.messages_frame().set_index("wamid").loc[wamid, "error_code"] == 131026
        http.close()


def test_paused_template_refuses_sends_until_it_is_back():
    data = generate(50, seed=3, now="2026-11-20")
    with Sandbox(customers=data, clock=ManualClock(START)) as sb:
        engine = sb.engine
        msg_body = template_message(
            data.customers.phone.iloc[0], "rabatt_aktion", "de", {"first_name": "A", "discount": "5 %"}
        )
        engine.quality.rules.min_sample = 1
        engine.quality.delivered("rabatt_aktion", START)
        msg = validate_message(msg_body, sb.templates, sb.config.display_phone_number)
        with engine.lock:
            engine._changes, engine._at = [], START
            engine._negative(msg)
        assert sb.templates.find("rabatt_aktion", "de")["status"] == "PAUSED"
        status, answer = engine.send(sb.phone_number_id, orjson.dumps(msg_body))
        assert status == 400 and b"132015" in answer
        sb.advance(3 * HOUR + 1)
        assert sb.templates.find("rabatt_aktion", "de")["status"] == "APPROVED"
        assert engine.send(sb.phone_number_id, orjson.dumps(msg_body))[0] == 200


def test_pauses_follow_metas_schedule_3h_then_6h_then_disabled():
    """Meta's template pausing: 1st instance 3 h, 2nd 6 h, 3rd disabled (docs/cloud-api.md)."""
    data = generate(20, seed=3, now="2026-11-20")
    with Sandbox(customers=data, clock=ManualClock(START)) as sb:
        engine = sb.engine
        engine.quality.rules.min_sample = 1
        msg = validate_message(
            template_message(
                data.customers.phone.iloc[0], "rabatt_aktion", "de", {"first_name": "A", "discount": "5 %"}
            ),
            sb.templates,
            sb.config.display_phone_number,
        )
        statuses = []
        for pause in (3 * HOUR, 6 * HOUR, None):
            with engine.lock:
                now = sb.clock.now()
                engine.quality.delivered("rabatt_aktion", now)
                engine._changes, engine._at = [], now
                engine._negative(msg)
            statuses.append(sb.templates.find("rabatt_aktion", "de")["status"])
            if pause is not None:
                sb.advance(pause - 1)
                assert sb.templates.find("rabatt_aktion", "de")["status"] == "PAUSED"
                sb.advance(2)
                assert sb.templates.find("rabatt_aktion", "de")["status"] == "APPROVED"
        assert statuses == ["PAUSED", "PAUSED", "DISABLED"]
