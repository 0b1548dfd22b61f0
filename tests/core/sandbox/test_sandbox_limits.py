"""Meta's limits with the real codes, driven by a hand-stepped clock."""

from __future__ import annotations

import httpx
import pandas as pd
import pytest

from wamkt_nb.clock import ManualClock
from wamkt_nb.data.sample import generate
from wamkt_nb.graph_versions import CURRENT_VERSION
from wamkt_nb.pricing import chargeable, default_card
from wamkt_nb.sandbox import Sandbox, SandboxConfig

START = pd.Timestamp("2026-11-20 09:00", tz="UTC").timestamp()
HOUR = 3600.0


@pytest.fixture(scope="module")
def data():
    return generate(400, seed=9, now="2026-11-20")


def make(data, **config):
    cfg = SandboxConfig(not_on_whatsapp_rate=0, marketing_stopped_rate=0, **config)
    return Sandbox(customers=data, clock=ManualClock(START), config=cfg)


@pytest.fixture
def http_for():
    clients = []

    def open_client(sb):
        client = httpx.Client(
            base_url=f"{sb.base_url}/{CURRENT_VERSION}/{sb.phone_number_id}",
            headers={"Authorization": f"Bearer {sb.access_token.reveal()}"},
        )
        clients.append(client)
        return client

    yield open_client
    for c in clients:
        c.close()


def text(to, body="Hallo"):
    return {"messaging_product": "whatsapp", "to": to, "type": "text", "text": {"body": body}}


def utility(to):
    return {
        "messaging_product": "whatsapp",
        "to": to,
        "type": "template",
        "biz_opaque_callback_data": f"k:{to}",
        "template": {
            "name": "order_shipped",
            "language": {"code": "de"},
            "components": [
                {"type": "body", "parameters": [{"type": "text", "text": "A"}, {"type": "text", "text": "#1"}]}
            ],
        },
    }


def marketing(to):
    return {
        "messaging_product": "whatsapp",
        "to": to,
        "type": "template",
        "template": {
            "name": "rabatt_aktion",
            "language": {"code": "de"},
            "components": [
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "parameter_name": "first_name", "text": "A"},
                        {"type": "text", "parameter_name": "discount", "text": "5 %"},
                    ],
                }
            ],
        },
    }


def statuses(sb):
    """Every status item the sandbox emitted, flattened."""
    sb.wait_idle()
    return [
        s
        for batch in sb.emitted()
        for c in batch["payload"]["entry"][0]["changes"]
        for s in c["value"].get("statuses", [])
    ]


def final_status(sb, wamid):
    items = [s for s in statuses(sb) if s["id"] == wamid]
    assert items, f"no status for {wamid}"
    return items[-1] if items[-1]["status"] == "failed" else next(s for s in items if s["status"] == "sent")


def german(data, n):
    return data.customers.loc[data.customers.phone.str.startswith("+49"), "phone"].head(n).tolist()


def test_throughput_limit_130429_then_recovers(data, http_for):
    with make(data, throughput_per_second=5, pair_interval=0) as sb:
        http = http_for(sb)
        to = german(data, 1)[0]
        codes = [http.post("/messages", json=utility(to)).status_code for _ in range(7)]
        assert codes == [200] * 5 + [429] * 2
        err = http.post("/messages", json=utility(to)).json()["error"]
        assert err["code"] == 130429 and err["message"] == "(#130429) Rate limit hit"
        sb.clock.advance(1.0)
        assert http.post("/messages", json=utility(to)).status_code == 200
        assert sb.counters()["error_130429"] == 3


def test_each_number_of_the_portfolio_has_its_own_throughput(data, http_for):
    with make(data, throughput_per_second=3, pair_interval=0, portfolio_phone_number_ids=("2222",)) as sb:
        http = http_for(sb)
        to = german(data, 1)[0]
        assert [http.post("/messages", json=utility(to)).status_code for _ in range(4)] == [200] * 3 + [429]
        second = f"{sb.base_url}/{CURRENT_VERSION}/2222/messages"
        assert [http.post(second, json=utility(to)).status_code for _ in range(4)] == [200] * 3 + [429]
        assert {m["phone_number_id"] for m in sb.received() if m["http_status"] == 200} == {sb.phone_number_id, "2222"}


def test_pair_rate_131056_per_recipient(data, http_for):
    with make(data, pair_interval=6.0, pair_burst=3) as sb:
        http = http_for(sb)
        a, b = german(data, 2)
        codes = [http.post("/messages", json=utility(a)).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 400]
        assert http.post("/messages", json=utility(a)).json()["error"]["code"] == 131056
        assert http.post("/messages", json=utility(b)).status_code == 200  # another pair is unaffected
        sb.clock.advance(6.0)
        assert http.post("/messages", json=utility(a)).status_code == 200
        assert http.post("/messages", json=utility(a)).status_code == 400


def test_service_window_131047_for_free_form(data, http_for):
    with make(data) as sb:
        http = http_for(sb)
        closed = [c for c in sb.engine.customers.values() if c.last_inbound_at is None and c.wa_id.startswith("49")]
        to = closed[0].phone
        first = http.post("/messages", json=text(to)).json()["messages"][0]["id"]  # accepted ...
        sb.advance(10)
        failed = final_status(sb, first)
        assert failed["status"] == "failed" and failed["errors"][0]["code"] == 131047  # ... then failed
        sb.inject_inbound(to, "Hallo, habt ihr das in Blau?")
        sb.clock.advance(20)
        inside = http.post("/messages", json=text(to, "Ja, in Blau!")).json()["messages"][0]["id"]
        sb.advance(10)
        sent = final_status(sb, inside)
        assert sent["status"] == "sent"
        assert sent["pricing"] == {
            "billable": False,
            "pricing_model": "PMP",
            "type": "free_customer_service",
            "category": "service",
        }
        sb.advance(25 * HOUR)
        late = http.post("/messages", json=text(to, "Noch da?")).json()["messages"][0]["id"]
        sb.advance(10)
        assert final_status(sb, late)["errors"][0]["code"] == 131047


def test_messaging_tier_unique_users_per_24h(data, http_for):
    with make(data, messaging_tier="TIER_250", throughput_per_second=1000, pair_interval=0) as sb:
        http = http_for(sb)
        closed = [
            c.phone
            for c in sb.engine.customers.values()
            if not c.window_open(START, 24) and not c.wa_id.startswith("1")
        ]
        assert len(closed) > 260
        ids = [http.post("/messages", json=utility(p)).json()["messages"][0]["id"] for p in closed[:260]]
        again = http.post("/messages", json=utility(closed[0])).json()["messages"][0]["id"]  # known user: counts once
        sb.advance(10)
        final = [final_status(sb, w) for w in ids]
        assert sum(s["status"] == "sent" for s in final) == 250
        assert {s["errors"][0]["code"] for s in final if s["status"] == "failed"} == {131048}
        assert final_status(sb, again)["status"] == "sent"
        sb.advance(24 * HOUR)
        late = http.post("/messages", json=utility(closed[259])).json()["messages"][0]["id"]
        sb.advance(10)
        assert final_status(sb, late)["status"] == "sent"


def test_per_user_marketing_limit_131049_and_opt_out_131050(data, http_for):
    with make(data, pair_interval=0) as sb:
        http = http_for(sb)
        a, b = german(data, 2)
        first = http.post("/messages", json=marketing(a)).json()["messages"][0]["id"]
        second = http.post("/messages", json=marketing(a)).json()["messages"][0]["id"]
        sb.advance(10)
        assert final_status(sb, first)["status"] == "sent"
        assert final_status(sb, first)["pricing"]["category"] == "marketing"
        assert final_status(sb, second)["errors"][0]["code"] == 131049
        sb.advance(24 * HOUR)
        third = http.post("/messages", json=marketing(a)).json()["messages"][0]["id"]
        sb.inject_inbound(b, "STOP")
        stopped = http.post("/messages", json=marketing(b)).json()["messages"][0]["id"]
        still_utility = http.post("/messages", json=utility(b)).json()["messages"][0]["id"]
        sb.advance(10)
        assert final_status(sb, third)["status"] == "sent"
        assert final_status(sb, stopped)["errors"][0]["code"] == 131050
        assert final_status(sb, still_utility)["status"] == "sent"
        prefs = [
            c["value"]
            for batch in sb.emitted()
            for c in batch["payload"]["entry"][0]["changes"]
            if c["field"] == "user_preferences"
        ]
        assert prefs[0]["user_preferences"][0]["value"] == "stop"


def test_us_marketing_and_unknown_numbers(data, http_for):
    with make(data, pair_interval=0) as sb:
        http = http_for(sb)
        us = data.customers.loc[data.customers.phone.str.startswith("+1"), "phone"].iloc[0]
        blocked = http.post("/messages", json=marketing(us)).json()["messages"][0]["id"]
        allowed = http.post("/messages", json=utility(us)).json()["messages"][0]["id"]
        stranger = http.post("/messages", json=utility("+4917099999999")).json()["messages"][0]["id"]
        sb.advance(10)
        assert final_status(sb, blocked)["errors"][0]["code"] == 131049
        assert final_status(sb, allowed)["status"] == "sent"
        assert final_status(sb, allowed)["biz_opaque_callback_data"] == f"k:{us}"
        assert final_status(sb, stranger)["errors"][0]["code"] == 131026


def test_limits_are_live_config(data, http_for):
    with make(data, throughput_per_second=2, pair_interval=0) as sb:
        http = http_for(sb)
        to = german(data, 1)[0]
        assert [http.post("/messages", json=utility(to)).status_code for _ in range(3)] == [200, 200, 429]
        sb.configure(throughput_per_second=100)
        assert http.post("/messages", json=utility(to)).status_code == 200
        with pytest.raises(ValueError, match="unknown sandbox setting"):
            sb.configure(speed_of_light=1)


@pytest.mark.parametrize("day, billable", [("2026-09-30 23:00", False), ("2026-10-01 09:00", True)])
def test_utility_inside_the_window_is_billed_by_metas_dated_rule(data, http_for, day, billable):
    """Meta: a utility template inside an open service window is free until 30 September 2026 and
    charged from 1 October 2026. The status webhook's ``billable`` follows that date, and the rate
    card (which the analytics and the dry run price with) charges exactly the same message."""
    at = pd.Timestamp(day, tz="UTC").timestamp()
    cfg = SandboxConfig(not_on_whatsapp_rate=0, marketing_stopped_rate=0)
    with Sandbox(customers=data, clock=ManualClock(at - 60), config=cfg) as sb:
        http = http_for(sb)
        to = german(data, 1)[0]
        sb.inject_inbound(to, "Wo ist mein Paket?")  # opens the service window
        sb.clock.advance(60)
        wamid = http.post("/messages", json=utility(to)).json()["messages"][0]["id"]
        sb.advance(10)
        sent = final_status(sb, wamid)
    assert sent["pricing"]["billable"] is billable
    assert sent["pricing"]["type"] == ("regular" if billable else "free_customer_service")
    message = pd.DataFrame(
        {
            "phone": [to],
            "category": ["utility"],
            "message_type": ["template"],
            "at": [pd.Timestamp(day, tz="UTC")],
            "delivered": [True],
            "window_open": [True],
        }
    )
    assert bool(chargeable(message, default_card())[0]) is billable
    assert bool(chargeable(message.assign(billable=[int(billable)]), default_card())[0]) is billable
