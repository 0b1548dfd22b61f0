"""Journey steps through the campaign worker, on SQLite and PostgreSQL and the real sandbox: the
worker starts a step when it comes due and sends it like a submitted campaign, each recipient's
message once however often it ticks, at the pace its campaign was submitted with unless the step has
its own; two processes starting the same step at once make one campaign."""

from __future__ import annotations

import threading
from collections import Counter

import pandas as pd
import pytest

from wamkt_nb import Workspace, ledger
from wamkt_nb.aio import run_sync
from wamkt_nb.campaigns.journeys import next_step_due, start_due_steps
from wamkt_nb.campaigns.sender import CampaignRunner, Progress
from wamkt_nb.campaigns.worker import Worker
from wamkt_nb.compliance import Policy
from wamkt_nb.data.sample import default_now
from wamkt_nb.ledger import control
from wamkt_nb.messages import MessageSpec, Param
from wamkt_nb.settings import Settings
from wamkt_nb.store import open_store

pytestmark = [pytest.mark.both_stores, pytest.mark.slow]
DAYTIME = default_now().normalize() + pd.Timedelta(hours=13)


def planned_journey(ws, name: str):
    """A marketing campaign planned now with one step two hours later for everyone still in the
    journey: a utility notice (the 24 h marketing cap does not hold it back)."""
    campaign = ws.campaign(ws.segment(), ws.template("rabatt_aktion"), name=name, params={"discount": "10 %"})
    campaign.dry_run(schedule="now", policy=Policy(daily_limit=None))
    campaign.follow_up("2h", notice(ws), params={"order_ref": "#10001"})
    return campaign


def notice(ws) -> MessageSpec:
    return MessageSpec(
        category="utility",
        template={"*": ws.template("order_shipped")},
        params={"1": Param("first_name"), "2": Param("order_ref")},
    )


def sent_journey(ws, name: str) -> None:
    """:func:`planned_journey`, its campaign sent in this process."""
    campaign = planned_journey(ws, name)
    assert campaign.send(pace=80.0, display="text", wait_for_later=False).status == "complete"


def run_worker(ws) -> list[dict]:
    """Run a worker until nothing is due; its log lines (each a dict with its ``event``)."""
    lines: list[dict] = []

    async def serve() -> None:
        async with ws.async_client() as client:
            log = lambda event, level="info", **fields: lines.append({"event": event, **fields})  # noqa: E731
            worker = Worker(ws.store, client, ws.phone_number_ids, poll=0.05, clock=ws.clock, log=log)
            await worker.serve(once=True)

    run_sync(serve())
    ws.settle()
    return lines


def test_the_worker_starts_a_due_step_and_sends_it_once(store, tmp_path):
    with Workspace(Settings(sandbox=True), directory=tmp_path, store=store, now=DAYTIME, sample_size=40) as ws:
        sent_journey(ws, "spring")
        due = next_step_due(store)
        assert due is not None
        ws.advance_to(due - 1)
        run_worker(ws)
        assert store.query("SELECT COUNT(*) FROM campaigns WHERE campaign_id = 'spring-step1'")[0][0] == 0
        ws.advance_to(due + 1)
        for _ in range(3):  # ticks after the step went out find nothing left to send
            run_worker(ws)
        rows = store.read_frame("SELECT customer_id, phone, state FROM sends WHERE campaign_id = 'spring-step1'")
        got = rows[rows["state"].isin(["accepted", "sent", "delivered", "read"])]
        assert len(got) > 0.8 * len(rows) > 0 and (rows["state"] != "planned").all()
        notices = Counter(
            r["body"]["to"]
            for r in ws.sandbox.engine.received_log()
            if r["body"].get("template", {}).get("name") == "order_shipped"
        )
        assert set(notices.values()) == {1} and set(notices) == set(rows.loc[rows["state"] != "excluded", "phone"])


def test_two_processes_starting_one_step_make_one_campaign(store, tmp_path):
    with Workspace(Settings(sandbox=True), directory=tmp_path, store=store, now=DAYTIME, sample_size=80) as ws:
        sent_journey(ws, "race")
        due = next_step_due(store)
        assert due is not None
        barrier, started = threading.Barrier(2), []

        def start() -> None:
            own = open_store(store.target)
            try:
                barrier.wait()
                started.append(start_due_steps(own, due + 1))
            finally:
                own.close()

        threads = [threading.Thread(target=start) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(map(len, started)) == [0, 1] and started[0] + started[1] == ["race-step1"]
        step = store.query("SELECT campaign_id, recipients FROM journey_steps WHERE journey_id = 'race'")[0]
        n = store.query("SELECT COUNT(*) FROM sends WHERE campaign_id = 'race-step1'")[0][0]
        assert step[0] == "race-step1" and step[1] == n > 0


def test_a_step_goes_at_the_pace_its_campaign_was_submitted_with_unless_it_has_its_own(store, tmp_path):
    """The campaign is submitted to the worker at 40 msg/s. Step 1 has no pace of its own: its run
    request carries the campaign's, and ``send_due`` (no pace given) sends it at that pace. Step 2
    says 7 msg/s: its request carries that, and the worker sends it at that pace."""
    with Workspace(Settings(sandbox=True), directory=tmp_path, store=store, now=DAYTIME, sample_size=20) as ws:
        campaign = planned_journey(ws, "paced")
        campaign.follow_up("2h", notice(ws), params={"order_ref": "#10002"}, stop_on=(), pace=7)
        campaign.submit(pace=40.0, display="text")
        started = [e for e in run_worker(ws) if e["event"] == "campaign_started"]
        assert ledger.campaign_info(store, "paced")["status"] == "complete"
        assert {(e["campaign"], e["pace"]) for e in started} == {("paced", 40.0)}
        ws.advance_to(next_step_due(store) + 1)
        done = ws.send_due()
        assert control.options_of(store, "paced-step1") == {"pace": 40.0}
        assert list(done) == ["paced-step1"] and done["paced-step1"].status == "complete"
        assert done["paced-step1"].pace == 40.0 * len(ws.phone_number_ids)
        ws.advance_to(next_step_due(store) + 1)
        started = [e for e in run_worker(ws) if e["event"] == "campaign_started"]
        assert control.options_of(store, "paced-step2") == {"pace": 7}
        assert {(e["campaign"], e["pace"]) for e in started} == {("paced-step2", 7.0)}
        assert ledger.campaign_info(store, "paced-step2")["status"] == "complete"


def test_a_step_goes_at_the_pace_its_campaign_was_sent_with_in_process(store, tmp_path):
    """The campaign is sent in this process (no worker, no submission) at 80 msg/s, confirmed: its
    step's run request carries that pace and confirmation, and the worker sends the step at it."""
    with Workspace(Settings(sandbox=True), directory=tmp_path, store=store, now=DAYTIME, sample_size=20) as ws:
        campaign = planned_journey(ws, "local")
        progress = campaign.send(pace=80.0, confirm_high_rate=True, display="text", wait_for_later=False)
        assert progress.status == "complete" and control.requested(store, "local") is None
        ws.advance_to(next_step_due(store) + 1)
        started = [e for e in run_worker(ws) if e["event"] == "campaign_started"]
        assert control.options_of(store, "local-step1") == {"pace": 80.0, "confirm_high_rate": True}
        assert {(e["campaign"], e["pace"]) for e in started} == {("local-step1", 80.0)}
        assert ledger.campaign_info(store, "local-step1")["status"] == "complete"


def test_a_campaign_stopped_in_process_is_left_to_its_notebook(store, tmp_path):
    """A campaign sent in process keeps its pace in the ledger, but asks nothing of a worker: stopped
    with rows left, a worker does not send them (a person resumes it where it was sent, or submits it)."""
    with Workspace(Settings(sandbox=True), directory=tmp_path, store=store, now=DAYTIME, sample_size=20) as ws:
        planned_journey(ws, "stopped")
        runner = CampaignRunner(store, ws.async_client(), "stopped", ws.send_options(3), clock=ws.clock)
        runner.on_progress = lambda p: runner.stop()

        async def run() -> Progress:
            async with runner.client:
                return await runner.run()

        assert run_sync(run()).status == "paused"
        left = ledger.state_counts(store, "stopped")["planned"]
        assert left > 0 and control.options_of(store, "stopped") == {"pace": 3}
        assert not [e for e in run_worker(ws) if e["event"] == "campaign_started"]
        assert ledger.state_counts(store, "stopped")["planned"] == left
