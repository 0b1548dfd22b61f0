"""The demo: its history-playing step leaves campaigns, statuses and replies in the store, and
``wamkt demo`` serves dashboards that show them in a browser."""

from __future__ import annotations

import contextlib
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time

import pandas as pd
import pytest
from helpers import ROOT
from helpers.processes import free_port, wait_for_port

from wamkt_nb import Workspace
from wamkt_nb.analytics import compute_metrics, load_ledger
from wamkt_nb.autoreply.repository import save_rule
from wamkt_nb.clock import SimulatedClock
from wamkt_nb.data.sample import generate
from wamkt_nb.facade.workspace import STEP_SECONDS
from wamkt_nb.inbox.queries import open_conversations
from wamkt_nb.sandbox import SandboxConfig
from wamkt_nb.scenarios.demo import AB_EXPERIMENT, LEFT_OPEN_HOURS, RULES, DemoCampaign, _Team, play_history
from wamkt_nb.settings import Settings
from wamkt_nb.store import open_store

SMALL = (
    DemoCampaign(0.42, "Newsletter", None),
    DemoCampaign(1.42, "A/B test", None, ab_test=True),
    DemoCampaign(2.42, "Stammkunden", "frequent_buyers", discount="15 %"),
    DemoCampaign(2.6, "Versand-Info", None, template="order_shipped"),
)


def test_play_history_fills_the_store(tmp_path):
    start = pd.Timestamp.now(tz="UTC").normalize() - pd.Timedelta(days=4)
    data = generate(250, seed=3, now=start)
    store = open_store(tmp_path / "wamkt.db")
    result = play_history(
        store, data, start=start.timestamp(), days=4, campaigns=SMALL, inbound_per_day=4, log=lambda _line: None
    )
    assert result.played == [c.name for c in SMALL] and result.skipped == []
    count = lambda sql: store.query(sql)[0][0]  # noqa: E731
    assert count("SELECT COUNT(*) FROM campaigns") == 4
    assert count("SELECT COUNT(*) FROM campaigns WHERE segment_name = 'frequent_buyers'") == 1
    assert (
        count(
            f"SELECT COUNT(DISTINCT arm) FROM sends s JOIN campaigns c USING (campaign_id)"
            f" WHERE c.experiment_key = '{AB_EXPERIMENT}' AND arm IN ('A', 'B')"
        )
        == 2
    )
    assert count("SELECT COUNT(*) FROM sends WHERE state IN ('delivered', 'read')") > 50
    assert count("SELECT COUNT(*) FROM sends WHERE state = 'read'") > 20
    # rows planned for later (the recipient's quiet hours) went out once they were due
    assert (
        count(f"SELECT COUNT(*) FROM sends WHERE state = 'planned' AND planned_at < {start.timestamp() + 4 * 86_400}")
        == 0
    )
    assert count("SELECT COUNT(*) FROM status_events") > 100
    assert count("SELECT COUNT(*) FROM inbound_messages") >= result.injected == 16 + len(LEFT_OPEN_HOURS)
    assert len(open_conversations(store, start.timestamp() + 4 * 86_400)) >= len(LEFT_OPEN_HOURS) - 1
    assert count("SELECT COUNT(*) FROM replies WHERE kind = 'auto' AND state = 'accepted'") > 0
    assert count("SELECT COUNT(*) FROM replies WHERE kind = 'agent' AND state = 'accepted'") > 0
    lags = [
        r[0]
        for r in store.query(
            "SELECT (r.accepted_at - i.timestamp) / 60 FROM replies r"
            " JOIN inbound_messages i ON i.wamid = r.in_reply_to WHERE r.kind = 'auto' AND r.state = 'accepted'"
        )
    ]
    assert sorted(lags)[len(lags) // 2] < 5  # auto-replies answer at the simulated moment, not hours later
    assert max(lags) <= STEP_SECONDS / 60 + 0.5  # also to messages customers wrote on their own
    times = store.query("SELECT MIN(created_at), MAX(created_at) FROM campaigns")[0]
    assert start.timestamp() < times[0] < times[1] < start.timestamp() + 4 * 86_400  # simulated time
    metrics = compute_metrics(load_ledger(store), pd.Timestamp.now(tz="UTC"))
    store.close()
    head = metrics.headline.iloc[0]
    assert 0.3 < head["read_rate"] <= 1.0 and head["reply_rate"] > 0
    assert head["cost"] / head["delivered"] > 0.03  # Meta's card: a German marketing template is 0.1131 EUR
    assert metrics.service.iloc[0]["answered"] > 0


@pytest.fixture
def linked_workspace(tmp_path):
    """A sandbox workspace on simulated time, its receiver with the demo's rules, over an open store."""
    start = pd.Timestamp.now(tz="UTC").normalize() - pd.Timedelta(days=1)
    store = open_store(tmp_path / "wamkt.db")
    for rule in RULES:
        save_rule(store, rule)
    # a 30 s batching wait: settling must post at once instead of waiting for a fuller batch
    workspace = Workspace(
        Settings(sandbox=True),
        store=store,
        clock=SimulatedClock(start.timestamp() + 12 * 3600),
        customers=generate(40, seed=5, now=start),
        sandbox_config=SandboxConfig(webhook_batch_wait=30.0),
    )
    try:
        with workspace as ws:
            assert ws.sandbox.phone_number_id and ws.receiver is not None  # started on first use
            yield ws
        assert store.query("SELECT 1")[0][0] == 1  # a store given to the workspace stays open
    finally:
        store.close()


def test_settle_returns_once_the_auto_reply_went_out(linked_workspace):
    ws = linked_workspace
    customer = next(iter(ws.sandbox.engine.customers.values()))
    ws.sandbox.inject_inbound(customer.customer_id, "Rabatt")
    ws.settle(timeout=20.0)
    # no polling: when settle returns, the message is recorded and the auto-reply was accepted
    assert ws.store.query("SELECT COUNT(*) FROM inbound_messages")[0][0] == 1
    assert [tuple(r) for r in ws.store.query("SELECT kind, state FROM replies")] == [("auto", "accepted")]


def test_team_round_skips_only_when_nothing_can_be_answered(linked_workspace):
    ws = linked_workspace
    store, sandbox = ws.store, ws.sandbox
    who = [c.customer_id for c in sandbox.engine.customers.values()][:2]

    def agent_replies():
        return store.query("SELECT COUNT(*) FROM replies WHERE kind = 'agent' AND state = 'accepted'")[0][0]

    team = _Team(ws, random.Random(1), share=1.0)
    sandbox.inject_inbound(who[0], "Wo ist meine Bestellung?")  # no rule: the team answers
    ws.settle()
    team.round()
    assert agent_replies() == 1
    team.round()  # nothing new came in and nothing is open: skipped, nothing answered twice
    assert agent_replies() == 1
    sandbox.inject_inbound(who[1], "Kann ich umtauschen?")  # a new message: the next round answers it
    ws.settle()
    team.round()
    assert agent_replies() == 2
    assert open_conversations(store, ws.clock.now()).empty


@pytest.mark.browser
def test_wamkt_demo_serves_the_dashboards(tmp_path, page):
    port = free_port()
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.pop("WAMKT_DB_PATH", None)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wamkt_nb",
            "demo",
            "--customers",
            "300",
            "--days",
            "4",
            "--port",
            str(port),
            "--workspace",
            str(tmp_path),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "voila/render/campaign_overview.ipynb" in line:
                break
        url = next(
            (m.group(0) for m in map(re.compile(r"http://\S+campaign_overview\.ipynb").search, lines) if m), None
        )
        assert url, "".join(lines)
        assert any(re.search(r"history played .*campaigns", line) for line in lines), "".join(lines)
        wait_for_port(port, proc=proc)
        page.goto(url, timeout=120_000)
        page.wait_for_selector(".wamkt-kpis", state="visible", timeout=120_000)
        assert int(page.locator(".wamkt-kpi-campaigns").inner_text()) == 2  # days 0.58 and 3.58 of the default plan
        assert "Meta rate card 2026-07-01" in page.locator(".wamkt-kpis").inner_text()  # the cost names its card
        assert page.locator(".wamkt-error").count() == 0
        page.goto("about:blank")
        proc.terminate()  # SIGTERM to the demo alone: it stops the Voila server it started
        assert proc.wait(30) == 130
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
    finally:
        with contextlib.suppress(ProcessLookupError):  # whatever of the demo's group is left
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
