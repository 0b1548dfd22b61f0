"""The send widget over a real run against the embedded sandbox: traits follow the ledger."""

import asyncio
import time

import pytest
from conftest import sender_sandbox, wait_until_async
from test_ledger import make_plan

from wamkt_nb import ledger
from wamkt_nb.campaigns.sender import CampaignRunner, SendOptions
from wamkt_nb.cloudapi import AsyncCloudClient
from wamkt_nb.data.sample import generate
from wamkt_nb.store import open_store
from wamkt_nb.widgets.send import SendView

DATA = generate(30, seed=4)


@pytest.fixture
def sandbox():
    with sender_sandbox(DATA) as sb:
        yield sb


async def test_progress_counts_and_errors_show_in_the_widget(sandbox, tmp_path):
    store = open_store(tmp_path / "w.db")
    plan = make_plan(DATA.customers.head(20), template="order_shipped", planned_at=time.time(), excluded=2)
    plan.at[2, "payload"] = {**plan.at[2, "payload"], "template": {"name": "nope", "language": {"code": "de"}}}
    cid = ledger.create_campaign(store, plan, name="w", now=time.time())
    async with AsyncCloudClient(sandbox.settings()) as client:
        runner = CampaignRunner(store, client, cid, SendOptions(phone_number_ids=(sandbox.phone_number_id,),
                                                                pace=40, progress_interval=0.05))
        view = SendView(runner)
        assert view.bar.max == 20 and view.bar.value == 2 and "ready" in view.status.value
        assert "wamkt-send" in view._dom_classes
        view.start_button.click()
        assert view.start_button.disabled and not view.pause_button.disabled
        await asyncio.sleep(0.2)
        view.pause_button.click()
        assert runner.paused and view.pause_button.description == "Resume"
        await wait_until_async(lambda: "paused" in view.status.value)  # once the run loop sees the flag
        view.pause_button.click()
        assert not runner.paused and view.pause_button.description == "Pause"
        progress = await view.task
    assert progress.status == "complete"
    assert view.bar.value == view.bar.max == 20 and view.bar.bar_style == "success"
    assert "msg/s" in view.rate.value and "ETA" in view.rate.value
    assert ">17<" in view.counts.value.replace(",", "")  # accepted
    assert "132001" in view.errors.value and "Template does not exist" in view.errors.value
    assert view.pause_button.disabled and view.cancel_button.disabled
    store.close()


async def test_cancel_button_cancels_the_rest(sandbox, tmp_path):
    store = open_store(tmp_path / "w.db")
    cid = ledger.create_campaign(store, make_plan(DATA.customers, template="order_shipped", planned_at=time.time()),
                                 name="w", now=time.time())
    async with AsyncCloudClient(sandbox.settings()) as client:
        runner = CampaignRunner(store, client, cid, SendOptions(phone_number_ids=(sandbox.phone_number_id,), pace=10))
        view = SendView(runner)
        view.start()
        await asyncio.sleep(0.3)
        view.cancel_button.click()
        progress = await view.task
    assert progress.status == "cancelled" and progress.counts["cancelled"] > 0
    assert "cancelled" in view.status.value and view.bar.bar_style == "warning"
    store.close()


async def test_an_error_is_shown_as_a_message_not_a_traceback(sandbox, tmp_path):
    store = open_store(tmp_path / "w.db")
    cid = ledger.create_campaign(store, make_plan(DATA.customers.head(2), template="order_shipped",
                                                  planned_at=time.time()), name="w", now=time.time())
    async with AsyncCloudClient(sandbox.settings()) as client:
        runner = CampaignRunner(store, client, cid, SendOptions(phone_number_ids=(sandbox.phone_number_id,), pace=40))
        view = SendView(runner)
        store.execute("DROP TABLE attempts")  # the ledger is damaged before the run
        await view.start()
    assert "Sending stopped" in view.message.value and "Traceback" not in view.message.value
    assert view.status.value == "error"
    store.close()


async def test_unknown_outcomes_show_as_needs_review_with_what_to_do(sandbox, tmp_path):
    from wamkt_nb.campaigns.sender import UnknownPolicy

    store = open_store(tmp_path / "w.db")
    cid = ledger.create_campaign(store, make_plan(DATA.customers.head(2), template="order_shipped",
                                                  planned_at=time.time()), name="w", now=time.time())
    sandbox.set_faults(drop_after_accept=1.0)
    async with AsyncCloudClient(sandbox.settings(), timeout=2.0) as client:
        runner = CampaignRunner(store, client, cid, SendOptions(phone_number_ids=(sandbox.phone_number_id,), pace=40,
                                                                unknown_policy=UnknownPolicy.NEVER_RESEND))
        view = SendView(runner)
        progress = await view.start()
    assert progress.status == "needs_review"
    assert view.status.value.startswith("needs review (2 unknown)") and view.bar.bar_style == "warning"
    assert "resume later" in view.message.value
    store.close()
