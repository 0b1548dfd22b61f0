"""The Workspace facade end to end on the real sandbox and a real SQLite store: segment -> preview ->
dry run (saved by name) -> send in the sandbox -> status webhooks in the ledger -> results; the
context manager closes what it started; live mode talks only to the address its settings name."""

from __future__ import annotations

import asyncio
import sqlite3
import threading

import httpx
import pandas as pd
import pytest

from wamkt_nb import Workspace
from wamkt_nb.aio import run_sync
from wamkt_nb.compliance import Policy
from wamkt_nb.data.sample import default_now, generate
from wamkt_nb.ledger import LedgerError
from wamkt_nb.messages import template_from_text
from wamkt_nb.sandbox import Sandbox
from wamkt_nb.segments import PRESETS
from wamkt_nb.segments.saved import save_segment
from wamkt_nb.settings import Settings

DAYTIME = default_now().normalize() + pd.Timedelta(hours=14)  # 14 h UTC: daytime for the sample's customers


def _workspace(tmp_path, **options) -> Workspace:
    return Workspace(Settings(sandbox=True), directory=tmp_path, now=DAYTIME, sample_size=200, **options)


def test_campaign_end_to_end_in_the_sandbox(tmp_path):
    with _workspace(tmp_path) as ws:
        assert len(ws.customers.customers) == 200
        save_segment(ws.store, "my-actives", PRESETS["active_7d"].rule)
        assert ws.segments()[0] == "my-actives"
        segment = ws.segment("my-actives")
        assert 0 < len(segment) < 200

        campaign = ws.campaign(segment, ws.template("rabatt_aktion"), name="spring-sale", params={"discount": "10 %"})
        preview = campaign.preview(3)
        assert len(preview) == 3 and preview["body"].str.contains("10 %").all()
        assert campaign.status == "composed"
        report = campaign.dry_run(schedule="now", policy=Policy(daily_limit=None))
        planned = int((report.plan["outcome"] != "excluded").sum())
        assert planned > 0 and campaign.status == "planned"
        again = campaign.dry_run(schedule="now", policy=Policy(daily_limit=None))  # replaces the unsent plan
        assert len(again.plan) == len(report.plan)
        assert ws.store.query("SELECT COUNT(*) FROM campaigns")[0][0] == 1

        picked = ws.campaign("spring-sale")  # what a later notebook does
        assert picked.segment_name == "my-actives"
        progress = picked.send(pace=200.0, display="text", wait_for_later=False)
        assert progress.status == "complete"
        ws.advance(hours=2)
        states = picked.progress
        assert states["planned"] == 0 and states["in_flight"] == 0
        assert states[["accepted", "sent", "delivered", "read", "failed"]].sum() == planned
        assert states[["delivered", "read"]].sum() > 0  # the sandbox's status webhooks reached the ledger
        assert ws.last_campaign().name == "spring-sale"
        results = picked.results()
        assert len(results) == 1 and results.at[0, "attempted"] == planned
        assert results.at[0, "delivered"] == states[["delivered", "read"]].sum()
        assert list(picked.errors().columns)[:2] == ["code", "count"]
        with pytest.raises(LedgerError, match="started"):
            campaign.dry_run(schedule="now")  # a sent campaign keeps its record
        sandbox, link = ws.sandbox, ws._link
    assert sandbox.base_url is None
    with pytest.raises(httpx.ConnectError):  # the receiver stopped listening
        httpx.get(link.url, timeout=2)
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        ws.store.query("SELECT 1")


def test_ab_campaign_plans_and_evaluates(tmp_path):
    example = {"first_name": "Anna", "discount": "10 %"}
    text = "Hallo {{first_name}}, {{discount}} Rabatt{} für dich! Antworte JA."
    a = template_from_text("wording_a", "de", "MARKETING", text.format(""), examples=example)
    b = template_from_text("wording_b", "de", "MARKETING", text.format(" nur"), examples=example)
    with _workspace(tmp_path, templates=[a, b]) as ws:
        campaign = ws.campaign(
            None, {"A": a, "B": ws.template("wording_b")}, name="wording", params={"discount": "10 %"}
        )
        assert set(campaign.audience["arm"]) == {"A", "B"}
        modelled = campaign.plan_test(0.2)  # no history yet: the simulated customers' expected read rate
        assert 0 < modelled.sample.baseline < 1
        plan = campaign.plan_test(0.2, baseline=0.5)
        assert plan.sample.baseline == 0.5 and 0 < plan.sample.total < modelled.sample.total
        campaign.dry_run(schedule="now", policy=Policy(daily_limit=None))
        campaign.send(pace=200.0, display="text", wait_for_later=False)
        ws.advance(hours=24)
        evaluation = campaign.evaluate("read")
        assert set(evaluation.table["arm"]) == {"A", "B"}


def test_live_mode_uses_the_settings_address(tmp_path):
    with Sandbox(customers=generate(20, seed=3)) as sandbox:  # our own 127.0.0.1 sandbox stands in for Meta
        settings = sandbox.settings().replace(
            sandbox=False, waba_id=sandbox.waba_id, phone_number_ids=(sandbox.phone_number_id,)
        )
        with Workspace(settings, directory=tmp_path) as ws:
            assert ws.mode == "live" and ws.phone_number_ids == (sandbox.phone_number_id,)
            with pytest.raises(ValueError, match="no sandbox"):
                ws.sandbox  # noqa: B018
            assert ws.template("rabatt_aktion").name == "rabatt_aktion"
            assert ws.client.aclient.base_url == sandbox.base_url
        with pytest.raises(ValueError, match="wall clock"):
            Workspace(settings, directory=tmp_path, now=DAYTIME)


def test_run_sync_works_inside_a_running_loop():
    async def inner() -> str:
        return threading.current_thread().name

    async def outer() -> str:  # a running loop in this thread, as in Jupyter
        return run_sync(inner())

    assert asyncio.run(outer()) == "wamkt-aio"

    async def nested() -> None:
        run_sync(inner())

    with pytest.raises(RuntimeError, match="background loop itself"):
        run_sync(nested())
