"""The sandbox as a server: standalone command, inspection routes, simulated clock, settings."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pandas as pd
import pytest
from helpers import ROOT
from helpers.processes import free_port, wait_for_port, wait_until

from wamkt_nb.clock import ManualClock, SimulatedClock, SystemClock
from wamkt_nb.cloudapi import CloudClient, template_message
from wamkt_nb.data.features import build_features
from wamkt_nb.data.sample import generate
from wamkt_nb.graph_versions import CURRENT_VERSION
from wamkt_nb.sandbox import Sandbox, SandboxConfig, open_cloud_api
from wamkt_nb.settings import load_settings

START = pd.Timestamp("2026-11-20 09:00", tz="UTC").timestamp()


@pytest.fixture(scope="module")
def data():
    return generate(40, seed=6, now="2026-11-20")


def test_standalone_command_serves_the_graph_routes():
    port = free_port()
    env = dict(os.environ, WAMKT_SANDBOX_TOKEN="cli-token")
    proc = subprocess.Popen(
        [sys.executable, "-m", "wamkt_nb", "sandbox", "--port", str(port), "--customers", "30"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, proc=proc)
        headers = {"Authorization": "Bearer cli-token"}
        base = f"http://127.0.0.1:{port}"
        phones = [c["phone"] for c in httpx.get(f"{base}/_sandbox/customers", headers=headers).json()]
        assert len(phones) == 30
        resp = httpx.post(
            f"{base}/v23.0/106540352242922/messages",
            headers=headers,
            json=template_message(phones[0], "order_shipped", "de", ["Anna", "#1"]),
        )
        assert resp.status_code == 200 and resp.json()["messages"][0]["message_status"] == "accepted"
        assert httpx.get(f"{base}/_sandbox/counters", headers=headers).json()["accepted"] == 1
        assert httpx.get(f"{base}/_sandbox/counters").status_code == 401
    finally:
        proc.terminate()
        out = proc.communicate(timeout=15)[0].decode()
    assert "cli-token" not in out and "sandbox:" in out


def test_inspection_routes(data):
    with Sandbox(customers=data, clock=ManualClock(START), config=SandboxConfig(not_on_whatsapp_rate=0)) as sb:
        http = httpx.Client(
            base_url=f"{sb.base_url}/_sandbox", headers={"Authorization": f"Bearer {sb.access_token.reveal()}"}
        )
        phone = data.customers.phone.iloc[0]
        with CloudClient(sb.settings()) as client:
            client.send_message(
                sb.phone_number_id, template_message(phone, "order_shipped", "de", ["A", "#1"], callback_data="c:1")
            )
        assert http.post("/advance", json={"seconds": 3600}).json()["ran"] >= 1
        received = http.get("/received").json()
        assert received[0]["body"]["biz_opaque_callback_data"] == "c:1" and received[0]["http_status"] == 200
        messages = http.get("/messages").json()
        assert messages[0]["status"] in ("sent", "delivered", "read")
        sb.wait_idle(60)
        assert http.get("/emitted").json()[0]["payload"]["object"] == "whatsapp_business_account"
        assert http.get("/customers", params={"limit": 5}).json()[0]["customer_id"]
        assert isinstance(http.get("/conversions").json(), list)
        assert http.post("/faults", json={"error_500": 0.25}).json()["error_500"] == 0.25
        assert http.post("/faults", json={"error_500": 3}).json()["error"]["code"] == 100
        assert http.post("/faults", json={"error_500": 0}).json()["error_500"] == 0
        assert http.post("/config", json={"throughput_per_second": 500}).json() == {"success": True}
        config = http.get("/config").json()
        assert config["throughput_per_second"] == 500 and "access_token" not in config and "app_secret" not in config
        assert http.post("/inbound", json={"from": phone, "text": "Rabatt"}).json()["id"].startswith("wamid.")
        assert http.post("/inbound", json={"from": "+499999", "text": "x"}).status_code == 400
        assert http.get("/nothing").status_code == 404
        assert http.post("/reset").json() == {"success": True}
        assert http.get("/received").json() == [] and http.get("/counters").json().get("accepted", 0) == 0
        http.close()


def test_simulated_clock_plays_a_day_in_seconds(data):
    clock = SimulatedClock(START, speed=40_000)  # about 2 real seconds per simulated day
    with Sandbox(customers=data, clock=clock, config=SandboxConfig(pair_interval=0)) as sb:
        with CloudClient(sb.settings()) as client:
            for phone in data.customers.phone:
                client.send_message(sb.phone_number_id, template_message(phone, "order_shipped", "de", ["A", "#1"]))

        def played() -> bool:  # about a simulated day: every message moved on, some were read
            frame = sb.messages_frame()
            return frame.status.isin(["sent", "delivered", "read", "failed"]).all() and frame.read_at.notna().sum() >= 5

        wait_until(played)  # a fixed 2.5 s sleep was too short when the clock thread was starved


def test_settings_point_at_the_sandbox(data):
    sb = Sandbox(customers=data, clock=ManualClock(START))
    with pytest.raises(RuntimeError, match="start the sandbox"):
        sb.settings()
    with sb:
        s = sb.settings()
        assert s.base_url == sb.base_url and s.phone_number_id == sb.phone_number_id and s.waba_id == sb.waba_id
        assert s.access_token == sb.access_token and s.sandbox
        assert sb.base_url.startswith("http://127.0.0.1:")
    assert sb.base_url is None


def test_open_cloud_api_embeds_the_sandbox_without_a_token(data, tmp_path):
    settings, sandbox = open_cloud_api(
        load_settings(environ={}, db_path=tmp_path / "x.db"), customers=data, clock=ManualClock(START)
    )
    try:
        assert sandbox is not None and settings.base_url == sandbox.base_url
        assert settings.db_path == tmp_path / "x.db"
        with CloudClient(settings) as client:
            assert client.get_phone_number(settings.phone_number_id).quality_rating == "GREEN"
    finally:
        sandbox.stop()
    real, none = open_cloud_api(load_settings(environ={"WAMKT_ACCESS_TOKEN": "t"}))
    assert none is None and real.base_url == "https://graph.facebook.com"


def test_template_status_changes_take_effect_and_notify(data):
    with Sandbox(customers=data, clock=ManualClock(START)) as sb:
        http = httpx.Client(base_url=sb.base_url, headers={"Authorization": f"Bearer {sb.access_token.reveal()}"})
        body = template_message(data.customers.phone.iloc[0], "order_shipped", "de", ["A", "#1"])
        url = f"/{CURRENT_VERSION}/{sb.phone_number_id}/messages"
        assert http.post(url, json=body).status_code == 200
        assert (
            http.post("/_sandbox/templates/order_shipped", json={"status": "PAUSED", "reason": "LOW_QUALITY"}).json()[
                "status"
            ]
            == "PAUSED"
        )
        assert http.post(url, json=body).json()["error"]["code"] == 132015
        sb.set_template_status("order_shipped", "DISABLED")
        assert http.post(url, json=body).json()["error"]["code"] == 132016
        sb.set_template_status("order_shipped", "APPROVED")
        assert http.post(url, json=body).status_code == 200
        assert http.post("/_sandbox/templates/nope", json={"status": "PAUSED"}).status_code == 400
        sb.wait_idle(60)
        events = [
            c["value"]["event"]
            for b in sb.emitted()
            for c in b["payload"]["entry"][0]["changes"]
            if c["field"] == "message_template_status_update"
        ]
        assert events == ["PAUSED", "DISABLED", "APPROVED"]
        http.close()


def test_bad_inspection_requests_get_4xx_and_the_server_stays_up(data):
    with Sandbox(customers=data, clock=SystemClock()) as sb:
        http = httpx.Client(
            base_url=f"{sb.base_url}/_sandbox", headers={"Authorization": f"Bearer {sb.access_token.reveal()}"}
        )
        assert http.post("/advance", json={"seconds": 10}).status_code == 400  # the system clock cannot jump
        assert http.post("/inbound", content=b"{broken").status_code == 400
        assert http.post("/inbound", json={"text": "no sender"}).status_code == 400
        assert http.get("/received", params={"limit": "many"}).status_code == 400
        assert http.post("/config", json={"messaging_tier": "TIER_X"}).status_code == 400
        assert http.post("/config", json={"throughput_per_second": 0}).status_code == 400
        assert sb.config.messaging_tier == "TIER_2K" and sb.config.throughput_per_second == 80
        assert http.get("/counters").status_code == 200
        http.close()


def test_customers_from_a_features_frame(data):
    features = build_features(data, START)
    sb = Sandbox(customers=features, clock=ManualClock(START))
    try:
        state = sb.customers_frame()
        assert len(state) == len(data.customers) and set(state.customer_id) == set(data.customers.customer_id)
        assert state.last_inbound_at.isna().all()  # a features frame carries no inbound history
        sample = next(iter(sb.engine.customers.values()))
        assert {"days_since_last_interaction", "order_value_band", "first_name"} <= set(sample.features)
    finally:
        sb.stop()
    with pytest.raises(TypeError, match="CustomerData or a features DataFrame"):
        Sandbox(customers=pd.DataFrame({"x": [1]}))
