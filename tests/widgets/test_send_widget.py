"""The send widget over a real run against the embedded sandbox: traits follow the ledger."""

import asyncio
import time

import pandas as pd
import pytest
from helpers.plans import make_plan
from helpers.processes import wait_until_async
from helpers.sandboxes import sender_sandbox

from wamkt_nb import ledger
from wamkt_nb.campaigns.sender import CampaignRunner, SendOptions, UnknownPolicy
from wamkt_nb.campaigns.watch import SubmittedRun
from wamkt_nb.cloudapi import AsyncCloudClient
from wamkt_nb.data.sample import generate
from wamkt_nb.ledger import control
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
        runner = CampaignRunner(
            store,
            client,
            cid,
            SendOptions(phone_number_ids=(sandbox.phone_number_id,), pace=40, progress_interval=0.05),
        )
        view = SendView(runner)
        # the bar counts sent messages out of the 18 meant to be sent (the 2 excluded aside)
        assert view.bar.max == 18 and view.bar.value == 0 and "ready" in view.status.value
        assert "Ready: 18 of 18" in view.next_step.text and "2 excluded" in view.next_step.text
        assert "opted_out" in view.excluded.value and bytes(view.excluded_chart.value).startswith(b"\x89PNG")
        assert view.pause_button.disabled and "press Send first" in view.pause_button.tooltip
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
    assert view.bar.value == view.bar.max == 18 and view.bar.bar_style == "success"
    assert view.next_step.text.startswith("Complete: 18 of 18 sent") and view.next_step.level == "ok"
    assert view.start_button.disabled and view.start_button.tooltip == "nothing left to send"
    assert "msg/s" in view.rate.value and "ETA" in view.rate.value
    assert ">17<" in view.counts.value.replace(",", "")  # accepted
    assert "132001" in view.errors.value and "Template does not exist" in view.errors.value
    assert view.pause_button.disabled and view.cancel_button.disabled
    store.close()


async def test_cancel_button_cancels_the_rest(sandbox, tmp_path):
    store = open_store(tmp_path / "w.db")
    cid = ledger.create_campaign(
        store, make_plan(DATA.customers, template="order_shipped", planned_at=time.time()), name="w", now=time.time()
    )
    async with AsyncCloudClient(sandbox.settings()) as client:
        runner = CampaignRunner(store, client, cid, SendOptions(phone_number_ids=(sandbox.phone_number_id,), pace=10))
        view = SendView(runner)
        view.start()
        await asyncio.sleep(0.3)
        view.cancel_button.click()  # cancelling cannot be undone: the widget asks first
        assert not runner._cancelled and view.confirm_box.layout.display == "flex"
        assert "will never get this campaign" in view.next_step.text
        view.confirm_cancel.click()
        progress = await view.task
    assert progress.status == "cancelled" and progress.counts["cancelled"] > 0
    assert "cancelled" in view.status.value and view.bar.bar_style == "warning"
    assert view.bar.value < view.bar.max or progress.counts["cancelled"] == 0  # never "100 % sent" after a cancel
    assert view.next_step.text.startswith("Cancelled:") and "plan a new campaign" in view.next_step.text
    store.close()


async def test_an_error_is_shown_as_a_message_not_a_traceback(sandbox, tmp_path):
    store = open_store(tmp_path / "w.db")
    cid = ledger.create_campaign(
        store,
        make_plan(DATA.customers.head(2), template="order_shipped", planned_at=time.time()),
        name="w",
        now=time.time(),
    )
    async with AsyncCloudClient(sandbox.settings()) as client:
        runner = CampaignRunner(store, client, cid, SendOptions(phone_number_ids=(sandbox.phone_number_id,), pace=40))
        view = SendView(runner)
        store.execute("DROP TABLE attempts")  # the ledger is damaged before the run
        await view.start()
    assert "Sending stopped" in view.message.value and "Traceback" not in view.message.value
    assert view.next_step.level == "error" and "press Send to resume" in view.next_step.text
    assert not view.start_button.disabled
    assert view.status.value == "error"
    store.close()


async def test_unknown_outcomes_show_as_needs_review_with_what_to_do(sandbox, tmp_path):
    store = open_store(tmp_path / "w.db")
    cid = ledger.create_campaign(
        store,
        make_plan(DATA.customers.head(2), template="order_shipped", planned_at=time.time()),
        name="w",
        now=time.time(),
    )
    sandbox.set_faults(drop_after_accept=1.0)
    async with AsyncCloudClient(sandbox.settings(), timeout=2.0) as client:
        runner = CampaignRunner(
            store,
            client,
            cid,
            SendOptions(
                phone_number_ids=(sandbox.phone_number_id,), pace=40, unknown_policy=UnknownPolicy.NEVER_RESEND
            ),
        )
        view = SendView(runner)
        progress = await view.start()
    assert progress.status == "needs_review"
    assert view.status.value.startswith("needs review (2 unknown)") and view.bar.bar_style == "warning"
    assert "resume later" in view.message.value
    store.close()


async def test_rows_waiting_for_quiet_hours_say_until_when_and_send_can_be_pressed_again(sandbox, tmp_path):
    """At night: some rows wait for the recipients' quiet hours to end; the widget says so and when."""
    store = open_store(tmp_path / "w.db")
    now = time.time()
    plan = make_plan(DATA.customers.head(10), template="order_shipped", planned_at=now, excluded=3)
    later = plan.index[-4:]
    plan.loc[later, "outcome"], plan.loc[later, "reason"] = "later", "quiet_hours"
    plan.loc[later, "planned_at"] = pd.Timestamp(now + 6 * 3600, unit="s", tz="UTC")
    cid = ledger.create_campaign(store, plan, name="w", now=now)
    async with AsyncCloudClient(sandbox.settings()) as client:
        runner = CampaignRunner(
            store, client, cid, SendOptions(phone_number_ids=(sandbox.phone_number_id,), pace=40, wait_for_later=False)
        )
        view = SendView(runner)
        assert "Ready: 3 of 7" in view.next_step.text
        assert "4 recipient(s) wait for quiet hours in their own time zone" in view.next_step.text
        assert "recipient's time" in view.next_step.text and "your time" in view.next_step.text
        progress = await view.start()
    assert progress.status == "paused" and progress.counts["planned"] == 4
    assert view.bar.max == 7 and view.bar.value == 3
    assert view.next_step.text.startswith("Waiting: 3 of 7 sent; nothing is due now.")
    assert "press 'Send due rows'" in view.next_step.text
    assert not view.start_button.disabled and view.start_button.description == "Send due rows"
    assert "3 excluded" in view.status.value and "opted_out" in view.excluded.value
    files = view.exports.build()
    assert f"{cid}-exclusions.csv" in files and b"opted_out" in files[f"{cid}-exclusions.csv"]
    assert f"{cid}-exclusions-chart.svg" in files
    store.close()


SUBMITTED_AT = 1_780_000_000.0


async def test_the_send_widget_over_a_submitted_campaign_submits_and_its_buttons_write_requests(tmp_path):
    """The widget over :class:`SubmittedRun` (a worker sends): Send submits and watches, Pause,
    Resume and Cancel become ledger requests, and the watch ends when the campaign is over."""
    store = open_store(tmp_path / "w.db")
    cid = ledger.create_campaign(store, make_plan(4), name="watched", now=SUBMITTED_AT, campaign_id="watched")
    view = SendView(SubmittedRun(store, cid, {"pace": 5}, interval=0.02))
    task = view.start()
    await asyncio.sleep(0.1)
    assert control.requested(store, cid) == "run" and view.status.value.startswith("submitted")
    view.toggle_pause()
    assert control.requested(store, cid) == "pause" and view.pause_button.description == "Resume"
    view.toggle_pause()
    assert control.requested(store, cid) == "run"
    view.cancel()
    assert control.requested(store, cid) == "cancel" and not task.done()
    ledger.cancel_open(store, cid, SUBMITTED_AT)  # what the worker does with the request
    ledger.set_campaign_status(store, cid, "cancelled", SUBMITTED_AT)
    progress = await asyncio.wait_for(task, 5)
    assert progress.status == "cancelled" and progress.counts["cancelled"] == 4
    store.close()
