"""Messaging limits of the business portfolio: shared by its numbers, upgraded by Meta's automatic
scaling, read from ``whatsapp_business_manager_messaging_limit``, and used by the dry run."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pandas as pd
import pytest
from helpers import ROOT
from helpers.dryrun_inputs import SPEC, small
from helpers.processes import free_port, wait_for_port

from wamkt_nb.campaigns.dryrun import dry_run
from wamkt_nb.campaigns.portfolio import portfolio_policy, shared_limit
from wamkt_nb.clock import ManualClock
from wamkt_nb.cloudapi import CloudClient
from wamkt_nb.cloudapi.models import PhoneNumberInfo
from wamkt_nb.data.sample import generate
from wamkt_nb.graph_versions import CURRENT_VERSION
from wamkt_nb.sandbox import Sandbox, SandboxConfig

START = pd.Timestamp("2026-11-20 09:00", tz="UTC").timestamp()
HOUR = 3600.0
SECOND = "106540352242999"


@pytest.fixture(scope="module")
def data():
    return generate(1_300, seed=11, now="2026-11-20")


def make(data, **config):
    cfg = SandboxConfig(
        not_on_whatsapp_rate=0,
        marketing_stopped_rate=0,
        pair_interval=0,
        throughput_per_second=10_000,
        portfolio_phone_number_ids=(SECOND,),
        **config,
    )
    return Sandbox(customers=data, clock=ManualClock(START), config=cfg)


def utility(to):
    return {
        "messaging_product": "whatsapp",
        "to": to,
        "type": "template",
        "template": {
            "name": "order_shipped",
            "language": {"code": "de"},
            "components": [
                {"type": "body", "parameters": [{"type": "text", "text": "A"}, {"type": "text", "text": "#1"}]}
            ],
        },
    }


def closed_users(sb):
    return [
        c.phone
        for c in sb.engine.customers.values()
        if not c.window_open(START, 24) and c.on_whatsapp and not c.blocked
    ]


def send_from(sb, phone_number_id, phones):
    with httpx.Client(
        base_url=f"{sb.base_url}/{CURRENT_VERSION}/{phone_number_id}",
        headers={"Authorization": f"Bearer {sb.access_token.reveal()}"},
    ) as http:
        return [http.post("/messages", json=utility(p)).json()["messages"][0]["id"] for p in phones]


def test_numbers_of_a_portfolio_share_one_limit(data):
    with make(data, messaging_tier="TIER_250") as sb:
        users = closed_users(sb)
        first = send_from(sb, sb.phone_number_id, users[:150])
        second = send_from(sb, SECOND, users[150:260])  # the second number does not get 250 of its own
        sb.advance(10)
        by_wamid = {m["wamid"]: m for m in sb.engine.messages.values()}
        sent = [by_wamid[w]["status"] != "failed" for w in first + second]
        assert sum(sent) == 250
        assert {by_wamid[w]["error_code"] for w in second if by_wamid[w]["status"] == "failed"} == {131048}
        with CloudClient(sb.settings()) as client:
            limits = {client.get_phone_number(pid).messaging_limit for pid in (sb.phone_number_id, SECOND)}
        assert limits == {"TIER_250"}
        assert sb.wait_idle()
        meta = {
            c["value"]["metadata"]["phone_number_id"]
            for b in sb.emitted()
            for e in b["payload"]["entry"]
            for c in e["changes"]
            if c["value"].get("statuses")
        }
        assert meta == {sb.phone_number_id, SECOND}  # status webhooks name the number that sent


def test_automatic_scaling_upgrades_the_portfolio_within_hours(data):
    with make(data, messaging_tier="TIER_2K", limit_upgrade_hours=6) as sb:
        users = closed_users(sb)
        assert len(users) >= 1_000
        send_from(sb, sb.phone_number_id, users[:600])
        send_from(sb, SECOND, users[600:1_000])  # half of 2,000 used, across both numbers
        sb.advance(HOUR)
        with CloudClient(sb.settings()) as client:
            assert client.get_phone_number(SECOND).messaging_limit == "TIER_2K"
            sb.advance(6 * HOUR)
            upgraded = client.get_phone_number(SECOND)
        assert upgraded.messaging_limit == "TIER_10K" and upgraded.unique_users_per_day == 10_000
        assert sb.config.messaging_tier == "TIER_10K" and sb.counters()["limit_upgrades"] == 1


def test_no_upgrade_below_half_or_with_low_quality(data):
    with make(data, messaging_tier="TIER_2K") as sb:
        send_from(sb, sb.phone_number_id, closed_users(sb)[:900])  # 900 < 1,000
        sb.advance(8 * HOUR)
        assert sb.config.messaging_tier == "TIER_2K"
    with make(data, messaging_tier="TIER_2K", quality_rating="RED") as sb:
        send_from(sb, sb.phone_number_id, closed_users(sb)[:1_000])
        sb.advance(8 * HOUR)
        assert sb.config.messaging_tier == "TIER_2K"
    with make(data, messaging_tier="TIER_250") as sb:  # 250 -> 2,000 needs a scaling path, not usage alone
        send_from(sb, sb.phone_number_id, closed_users(sb)[:250])
        sb.advance(8 * HOUR)
        assert sb.config.messaging_tier == "TIER_250"


def test_dry_run_spreads_by_the_portfolio_limit_across_two_numbers(data):
    with make(data, messaging_tier="TIER_250") as sb:
        numbers = sb.settings().phone_number_ids
        with CloudClient(sb.settings()) as client:
            policy = portfolio_policy(client, numbers)
    assert numbers == (sb.phone_number_id, SECOND) and policy.daily_limit == 250
    now = pd.Timestamp("2026-11-25 17:00", tz="UTC")
    plan = dry_run(small(600), SPEC, now=now, policy=policy).plan
    day = (plan["planned_at"] - plan["planned_at"].min()).dt.days
    assert day.value_counts().sort_index().tolist() == [250, 250, 100]  # not 500 a day for two numbers
    assert set(plan.loc[plan["outcome"] == "later", "reason"]) == {"tier_limit"}


def test_shared_limit_refuses_numbers_of_different_portfolios():
    a = PhoneNumberInfo.from_json({"id": "1", "whatsapp_business_manager_messaging_limit": "TIER_2K"})
    b = PhoneNumberInfo.from_json({"id": "2", "whatsapp_business_manager_messaging_limit": "TIER_10K"})
    old = PhoneNumberInfo.from_json({"id": "3", "messaging_limit_tier": "TIER_UNLIMITED"})
    assert shared_limit([a, a]) == 2_000 and shared_limit([old]) is None
    with pytest.raises(ValueError, match="different business portfolios"):
        shared_limit([a, b])
    with pytest.raises(ValueError, match="report no messaging limit"):
        shared_limit([PhoneNumberInfo.from_json({"id": "4"})])


def test_standalone_sandbox_serves_a_portfolio_of_numbers():
    port = free_port()
    env = dict(os.environ, WAMKT_SANDBOX_TOKEN="cli-token")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wamkt_nb",
            "sandbox",
            "--port",
            str(port),
            "--customers",
            "20",
            "--tier",
            "TIER_250",
            "--portfolio-number",
            SECOND,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, proc=proc)
        headers = {"Authorization": "Bearer cli-token"}
        for number in ("106540352242922", SECOND):
            answer = httpx.get(
                f"http://127.0.0.1:{port}/{CURRENT_VERSION}/{number}",
                headers=headers,
                params={"fields": "whatsapp_business_manager_messaging_limit"},
            ).json()
            assert answer == {"id": number, "whatsapp_business_manager_messaging_limit": "TIER_250"}
    finally:
        proc.terminate()
        proc.communicate(timeout=15)
