"""A template Meta pauses pauses its campaign, and the campaign finishes after the pause: the
embedded sandbox on a simulated clock (its quality monitor pauses the template for 3 h), our webhook
receiver writing the status webhooks into the same SQLite file, the sender over real HTTP."""

from __future__ import annotations

import asyncio
import time

import pandas as pd
import pytest
from helpers.plans import make_plan
from helpers.processes import wait_until_async
from helpers.sandboxes import sender_sandbox

from wamkt_nb import ledger
from wamkt_nb.campaigns.sender import CampaignRunner, SendOptions
from wamkt_nb.clock import ManualClock
from wamkt_nb.cloudapi import AsyncCloudClient, template_message
from wamkt_nb.data.sample import generate
from wamkt_nb.sandbox.validate import validate_message
from wamkt_nb.serving.wiring import connect_sandbox

pytestmark = pytest.mark.both_stores

DATA = generate(60, seed=21, now="2026-11-20")
START = pd.Timestamp("2026-11-20 09:00", tz="UTC").timestamp()
HOUR = 3600.0


def pause_by_quality(sb, name: str = "order_shipped") -> None:
    """Let the sandbox's quality monitor pause ``name`` as it does after blocks (Meta: 3 h first)."""
    engine = sb.engine
    engine.quality.rules.min_sample, engine.quality.rules.pause_rate = 1, 0.0
    msg = validate_message(
        template_message(DATA.customers.phone.iloc[0], name, "de", ["A", "#1"]),
        sb.templates,
        sb.config.display_phone_number,
    )
    changes: list = []
    with engine.lock:
        engine._changes, engine._at = changes, sb.clock.now()
        engine.quality.delivered(name, sb.clock.now())
        engine._negative(msg)
    engine.sink(changes)


def template_events(store) -> list[str]:
    return [r[0] for r in store.query("SELECT event FROM template_status_events ORDER BY event_at, event_id")]


async def test_a_paused_template_pauses_its_campaign_which_finishes_after_the_pause(store):
    people = DATA.customers[~DATA.customers.phone.str.startswith("+1")].head(40)
    with sender_sandbox(DATA, clock=ManualClock(START)) as sb, connect_sandbox(sb, store):
        cid = ledger.create_campaign(
            store, make_plan(people, template="order_shipped", planned_at=time.time()), name="pause", now=time.time()
        )
        async with AsyncCloudClient(sb.settings()) as client:
            runner = CampaignRunner(
                store,
                client,
                cid,
                SendOptions(phone_number_ids=(sb.phone_number_id,), pace=20, pair_interval=0.0, progress_interval=0.05),
            )
            run = asyncio.get_running_loop().create_task(runner.run())
            await wait_until_async(lambda: runner.progress().requests >= 5, timeout=60)
            pause_by_quality(sb)
            await wait_until_async(lambda: runner.paused, timeout=30)
            await wait_until_async(lambda: ledger.campaign_info(store, cid)["status"] == "paused", timeout=30)
            message = runner.progress().message
            assert "Meta paused template order_shipped" in message and "re-approves" in message
            requests = runner.progress().requests
            await asyncio.sleep(1.0)  # nothing goes out while the template is paused
            assert runner.progress().requests <= requests + 1 and not run.done()
            sb.advance(3 * HOUR - 60)
            await asyncio.sleep(0.8)
            assert runner.paused  # still paused before Meta's 3 h are over
            sb.advance(61)  # Meta lifts the pause: APPROVED
            progress = await asyncio.wait_for(run, timeout=60)
    assert progress.status == "complete"
    counts = ledger.state_counts(store, cid)
    assert counts["failed"] == 0 and counts["planned"] == 0
    assert sum(counts[s] for s in ("accepted", "sent", "delivered", "read")) == len(people)
    assert template_events(store)[-2:] == ["PAUSED", "APPROVED"]


async def test_a_disabled_template_ends_the_run_paused_with_the_rest_still_planned(store):
    people = DATA.customers[~DATA.customers.phone.str.startswith("+1")].head(5)
    with sender_sandbox(DATA, clock=ManualClock(START)) as sb, connect_sandbox(sb, store):
        template = sb.templates.find("order_shipped", "de")
        sb.engine.set_template_status(template["id"], "DISABLED", "LOW_QUALITY")
        await wait_until_async(lambda: template_events(store) == ["DISABLED"], timeout=30)
        cid = ledger.create_campaign(
            store, make_plan(people, template="order_shipped", planned_at=time.time()), name="disabled", now=time.time()
        )
        async with AsyncCloudClient(sb.settings()) as client:
            progress = await CampaignRunner(
                store, client, cid, SendOptions(phone_number_ids=(sb.phone_number_id,), pace=20, pair_interval=0.0)
            ).run()
    assert progress.status == "paused" and "disabled template order_shipped" in progress.message
    assert progress.requests == 0 and ledger.state_counts(store, cid)["planned"] == len(people)
