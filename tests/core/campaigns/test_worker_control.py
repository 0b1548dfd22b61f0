"""The worker's requests in the ledger (``ledger.control``), what makes a campaign due, the checks at
submission, and the health server, on a real SQLite store and real HTTP on 127.0.0.1."""

import asyncio
import io
import time

import httpx
import orjson
import pytest
from helpers.held import post
from helpers.plans import make_plan
from helpers.processes import wait_until_async
from helpers.webhook_payloads import APP_SECRET, VERIFY_TOKEN, template_update

from wamkt_nb import ledger
from wamkt_nb.campaigns.watch import SubmittedRun
from wamkt_nb.campaigns.worker import SHARE_WAIT_POLLS, JsonLog, Worker, submitted_options
from wamkt_nb.campaigns.worker_http import HealthServer
from wamkt_nb.cloudapi import AsyncCloudClient
from wamkt_nb.data.sample import generate
from wamkt_nb.facade import Workspace
from wamkt_nb.facade.campaign import Campaign
from wamkt_nb.ledger import control
from wamkt_nb.sandbox import Sandbox
from wamkt_nb.settings import Settings
from wamkt_nb.store import open_store
from wamkt_nb.webhooks import WebhookReceiver

NOW = 1_780_000_000.0
CUSTOMERS = generate(12, seed=5)


@pytest.fixture
def store(store_target):
    """The control SQL on a SQLite file and on PostgreSQL."""
    s = open_store(store_target)
    yield s
    s.close()


def campaign(store, name, n=3, planned_at=NOW):
    return ledger.create_campaign(store, make_plan(n, planned_at=planned_at), name=name, now=NOW, campaign_id=name)


def test_requests_are_written_read_and_refused_when_they_cannot_apply(store):
    cid = campaign(store, "a")
    with pytest.raises(ledger.LedgerError, match="was not submitted"):
        control.request(store, cid, "pause", NOW)
    with pytest.raises(ledger.LedgerError, match="dry-run it first"):
        control.submit(store, "nope", {}, NOW)
    control.submit(store, cid, {"pace": 5}, NOW)
    assert [(r.campaign_id, r.request, r.options, r.status) for r in control.open_requests(store)] == [
        ("a", "run", {"pace": 5}, "planned")
    ]
    control.request(store, cid, "pause", NOW + 1)
    assert control.requested(store, cid) == "pause"
    control.submit(store, cid, {"pace": 7}, NOW + 2)  # submitting again resumes with the new options
    assert control.open_requests(store)[0].options == {"pace": 7} and control.requested(store, cid) == "run"
    with pytest.raises(ledger.LedgerError, match="unknown request"):
        control.request(store, cid, "stop", NOW)
    ledger.set_campaign_status(store, cid, "complete", NOW + 3)
    assert control.open_requests(store) == []
    with pytest.raises(ledger.LedgerError, match="complete"):
        control.submit(store, cid, {}, NOW + 4)


def test_due_is_the_earliest_planned_row_and_leftovers_of_a_dead_sender_are_due_at_once(store):
    later = campaign(store, "later", planned_at=NOW + 3600)
    assert control.next_due_at(store, later) == NOW + 3600
    crashed = campaign(store, "crashed")
    rows = ledger.planned_sends(store, crashed)
    ledger.claim(store, [(r.send_id, 1, "pn") for r in rows], NOW, [])
    assert control.next_due_at(store, crashed) == 0.0  # in flight, nobody sending: due now
    ledger.record_outcomes(store, [ledger.Outcome(r.send_id, 1, "unknown", NOW) for r in rows])
    ledger.set_campaign_status(store, crashed, "paused", NOW)  # needs review: not due by itself
    assert control.next_due_at(store, crashed) is None
    ledger.set_campaign_status(store, crashed, "running", NOW)  # a run died: due to settle them
    assert control.next_due_at(store, crashed) == 0.0
    ledger.set_campaign_status(store, crashed, "paused", NOW)
    store.execute("INSERT INTO send_leases VALUES (?, 'pn', 'elsewhere:1', 'elsewhere', 1, ?)", (crashed, NOW))
    assert control.next_due_at(store, crashed) == 0.0  # its sender died under the lease: due to settle them
    assert control.next_due_at(store, crashed, ["other"]) is None


def test_submitted_options_are_checked_at_submission():
    assert submitted_options({"pace": 20, "unknown_policy": "never_resend"}) == {
        "pace": 20,
        "unknown_policy": "never_resend",
    }
    with pytest.raises(ValueError, match="not a send option: phone_number_ids"):
        submitted_options({"phone_number_ids": ("x",)})
    with pytest.raises(ValueError, match="50"):
        submitted_options({"pace": 500})


def test_the_watch_shows_submitted_paused_and_writes_requests(store):
    cid = campaign(store, "w")
    watch = SubmittedRun(store, cid, {"pace": 5})
    assert watch.progress().status == "planned"
    watch.submit()
    assert watch.progress().status == "submitted" and watch.progress().total == 3
    watch.pause()
    assert watch.paused and watch.progress().status == "paused"
    watch.resume()
    assert not watch.paused
    watch.cancel()
    assert control.requested(store, cid) == "cancel"


async def test_the_health_server_answers_get_health_and_counts_only():
    server = HealthServer(lambda: {"status": "ok"}, lambda: {"a": {"counts": {"planned": 1}}})
    port = await server.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            assert (await http.get("/health")).json() == {"status": "ok"}
            assert (await http.get("/counts")).json() == (await http.get("/metrics")).json()
            assert (await http.get("/other")).status_code == 404
            assert (await http.post("/health")).status_code == 405
    finally:
        await server.close()


async def test_an_unreadable_ledger_makes_health_503():
    def broken():
        raise ConnectionError("database gone")

    server = HealthServer(broken, broken)
    port = await server.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            answer = await http.get("/health")
            assert answer.status_code == 503 and answer.json()["error"] == "ConnectionError"
    finally:
        await server.close()


@pytest.fixture(scope="module")
def sandbox():
    sb = Sandbox(customers=CUSTOMERS)
    sb.start()
    yield sb
    sb.stop()


async def test_the_worker_in_process_sends_what_is_due_once_and_survives_a_lost_ledger(sandbox, tmp_path):
    store = open_store(tmp_path / "w.db")
    customers = CUSTOMERS.customers.head(6)
    cid = ledger.create_campaign(
        store,
        make_plan(customers, template="order_shipped", planned_at=time.time()),
        name="inproc",
        now=time.time(),
        campaign_id="inproc",
    )
    ledger.create_campaign(
        store,
        make_plan(customers, template="order_shipped", planned_at=time.time()),
        name="not-submitted",
        now=time.time(),
        campaign_id="not-submitted",
    )
    control.submit(store, cid, {"pace": 50, "confirm_high_rate": True}, time.time())
    lines = io.StringIO()
    async with AsyncCloudClient(sandbox.settings()) as client:
        worker = Worker(store, client, (sandbox.phone_number_id,), poll=0.05, log=JsonLog(lines))
        await asyncio.wait_for(worker.serve(once=True), 60)
        assert ledger.campaign_info(store, cid)["status"] == "complete"
        assert ledger.campaign_info(store, "not-submitted")["status"] == "planned"  # a dry run is not a submission
        assert worker.health_report()["runs_finished"] == 1
        store.close()  # the ledger goes away: the worker logs each failed tick and keeps going
        last = worker.health.last_tick
        asyncio.get_running_loop().call_later(0.3, worker.stop)
        await asyncio.wait_for(worker.serve(), 10)
        assert worker.health.last_tick == last
    events = [orjson.loads(line)["event"] for line in lines.getvalue().splitlines()]
    assert events.count("campaign_run_ended") == 1 and "tick_failed" in events and events[-1] == "worker_stopped"


def test_a_worker_completes_a_campaign_whose_last_sender_died_after_its_last_row(store):
    """Every row final, status still running, the dead sender's lease left behind: the next tick
    marks it complete; a number another live process holds keeps the status to that process."""
    cid = campaign(store, "orphan")
    control.submit(store, cid, {}, NOW)
    ledger.pin_numbers(store, cid, ["pn-a", "pn-b"])
    ledger.set_campaign_status(store, cid, "running", NOW)
    store.execute("UPDATE sends SET state = 'delivered' WHERE campaign_id = ?", (cid,))
    worker = Worker(store, client=None, phone_number_ids=("pn-a", "pn-b"), log=JsonLog(io.StringIO()))  # type: ignore[arg-type]
    store.execute(
        "INSERT INTO send_leases VALUES (?, 'pn-b', 'elsewhere:1', 'elsewhere', 1, ?)", (cid, time.time())
    )  # another host, renewed just now: that process says when it is done
    worker.tick()
    assert ledger.campaign_info(store, cid)["status"] == "running"
    store.execute("UPDATE send_leases SET heartbeat_at = ?", (time.time() - ledger.LEASE_SECONDS - 1,))
    worker.tick()  # not renewed for LEASE_SECONDS: gone
    assert ledger.campaign_info(store, cid)["status"] == "complete"


async def test_a_worker_takes_a_second_number_only_after_leaving_it_free_a_few_ticks(sandbox, tmp_path):
    """One worker, two numbers of the sandbox's portfolio: the first tick starts one number, the other
    is left for an idle worker for SHARE_WAIT_POLLS ticks, then taken; each row goes out once, from
    the number it is pinned to."""
    sandbox.configure(portfolio_phone_number_ids=("2222",), pair_interval=0.0, messaging_tier="TIER_UNLIMITED")
    numbers = (sandbox.phone_number_id, "2222")
    store = open_store(tmp_path / "w.db")
    customers = CUSTOMERS.customers
    cid = ledger.create_campaign(
        store,
        make_plan(customers, template="order_shipped", planned_at=time.time()),
        name="shared",
        now=time.time(),
        campaign_id="shared",
    )
    control.submit(store, cid, {"pace": 4}, time.time())
    before = len(sandbox.received())
    async with AsyncCloudClient(sandbox.settings()) as client:
        worker = Worker(store, client, numbers, poll=0.05, log=JsonLog(io.StringIO()))
        worker.tick()
        assert len(worker.runs) == 1
        await asyncio.sleep(0.05)
        worker.tick()
        assert len(worker.runs) == 1  # one tick later the second number is still left to others
        await asyncio.sleep(SHARE_WAIT_POLLS * worker.poll)
        worker.tick()
        assert set(worker.runs) == {(cid, n) for n in numbers}
        await asyncio.wait_for(asyncio.gather(*(r.task for r in list(worker.runs.values()))), 60)
    assert ledger.campaign_info(store, cid)["status"] == "complete"
    sent = [r for r in sandbox.received()[before:] if r["http_status"] == 200]
    assert sorted(r["body"]["to"] for r in sent) == sorted(customers["phone"])
    pinned = dict(store.query("SELECT phone, phone_number_id FROM sends WHERE campaign_id = ?", (cid,)))
    assert all(pinned[r["body"]["to"]] == r["phone_number_id"] for r in sent)
    assert set(pinned.values()) == set(numbers)
    sandbox.configure(portfolio_phone_number_ids=())
    store.close()


def test_campaign_send_submits_when_a_worker_sends_this_workspaces_campaigns(tmp_path):
    db = tmp_path / "w.db"
    with open_store(db) as s:
        campaign(s, "by-worker")
        campaign(s, "explicit")
    with Workspace(Settings().replace(worker=True), directory=tmp_path, database=db) as ws:
        watch = Campaign.saved(ws, "by-worker").send(20, display="text", unknown_wait=5.0)
        assert isinstance(watch, SubmittedRun)
        assert control.open_requests(ws.store)[0].options == {"pace": 20, "unknown_wait": 5.0}
        with pytest.raises(ValueError, match="not a send option"):
            Campaign.saved(ws, "explicit").submit(display="text", phone_number_ids=("x",))
        assert control.requested(ws.store, "explicit") is None
        Campaign.saved(ws, "explicit").submit(display="text")
        assert control.requested(ws.store, "explicit") == "run"


async def test_an_unknown_row_a_dead_sender_left_is_taken_over_after_the_campaign_was_marked_paused(sandbox, store):
    """Worker A (another host) had sent the rows of its number and was waiting to settle one unknown
    outcome when it died: its lease is no longer renewed. Worker B sends the other number and leaves
    A's for a few ticks; B's run ends first and, with no live sender left, marks the campaign paused.
    The unknown row under the dead lease is still due: B takes A's number over, resends it once (no
    status webhook came for it) and the campaign completes."""
    sandbox.configure(portfolio_phone_number_ids=("2222",), pair_interval=0.0, messaging_tier="TIER_UNLIMITED")
    dead, live = sandbox.phone_number_id, "2222"
    now = time.time()
    cid = ledger.create_campaign(
        store,
        make_plan(CUSTOMERS.customers.head(4), template="order_shipped", planned_at=now),
        name="taken-over",
        now=now,
        campaign_id="taken-over",
    )
    control.submit(store, cid, {"pace": 20}, now)
    ledger.pin_numbers(store, cid, (dead, live))
    ledger.set_campaign_status(store, cid, "running", now)
    accepted, lost = ledger.planned_sends(store, cid, numbers=(dead,))
    left_at = now - 120  # past the default unknown_wait: no webhook came, the policy resends it
    ledger.claim(store, [(r.send_id, 1, dead) for r in (accepted, lost)], left_at)
    ledger.record_outcomes(
        store,
        [
            ledger.Outcome(accepted.send_id, 1, "accepted", left_at, wamid="wamid.sent-by-a"),
            ledger.Outcome(lost.send_id, 1, "unknown", left_at),
        ],
    )
    store.execute(
        "INSERT INTO send_leases VALUES (?, ?, 'elsewhere:1', 'elsewhere', 1, ?)",
        (cid, dead, now - ledger.LEASE_SECONDS - 1),
    )
    before = len(sandbox.received())
    async with AsyncCloudClient(sandbox.settings()) as client:
        worker = Worker(store, client, (live, dead), poll=0.05, log=JsonLog(io.StringIO()))
        worker.tick()
        assert set(worker.runs) == {(cid, live)}  # A's number is left to an idle worker for a few ticks
        await asyncio.wait_for(worker.runs[(cid, live)].task, 60)
        assert ledger.campaign_info(store, cid)["status"] == "paused"  # A's unknown row is still open
        worker.tick()
        assert set(worker.runs) == {(cid, dead)}
        await asyncio.wait_for(worker.runs[(cid, dead)].task, 60)
    assert ledger.campaign_info(store, cid)["status"] == "complete"
    sent = [(r["body"]["to"], r["phone_number_id"]) for r in sandbox.received()[before:] if r["http_status"] == 200]
    by_number = dict(store.query("SELECT phone, phone_number_id FROM sends WHERE campaign_id = ?", (cid,)))
    assert sorted(sent) == sorted((p, n) for p, n in by_number.items() if p != accepted.phone)
    assert ledger.state_counts(store, cid)["unknown"] == 0
    assert store.query("SELECT count(*) FROM send_leases WHERE campaign_id = ?", (cid,))[0][0] == 0
    sandbox.configure(portfolio_phone_number_ids=())


async def test_an_unknown_row_waiting_for_its_resend_when_the_worker_stops_is_resent_after_a_restart(sandbox, store):
    """A worker stops (SIGTERM) while its run waits to resend a row whose outcome is unknown (no
    status webhook came): the run leaves the campaign paused. A worker started after the row's
    ``unknown_wait`` finds it due, resends it once and completes the campaign."""
    now = time.time()
    cid = ledger.create_campaign(
        store,
        make_plan(CUSTOMERS.customers.head(2), template="order_shipped", planned_at=now),
        name="stopped",
        now=now,
        campaign_id="stopped",
    )
    control.submit(store, cid, {"pace": 20}, now)
    number = sandbox.phone_number_id
    ledger.pin_numbers(store, cid, (number,))
    ledger.set_campaign_status(store, cid, "running", now)
    accepted, lost = ledger.planned_sends(store, cid)
    left_at = now - 120  # past the default unknown_wait when the second worker starts
    ledger.claim(store, [(r.send_id, 1, number) for r in (accepted, lost)], left_at)
    ledger.record_outcomes(
        store,
        [
            ledger.Outcome(accepted.send_id, 1, "accepted", left_at, wamid="wamid.sent-before"),
            ledger.Outcome(lost.send_id, 1, "unknown", left_at),
        ],
    )
    before = len(sandbox.received())
    async with AsyncCloudClient(sandbox.settings()) as client:
        first = Worker(store, client, (number,), poll=0.05, log=JsonLog(io.StringIO()))
        first.tick()
        (run,) = first.runs.values()
        run.runner.stop()  # what SIGTERM does to each run; this one stops before its first resend
        await asyncio.wait_for(run.task, 60)
        assert ledger.campaign_info(store, cid)["status"] == "paused"
        assert ledger.state_counts(store, cid)["unknown"] == 1
        again = Worker(store, client, (number,), poll=0.05, log=JsonLog(io.StringIO()))
        await asyncio.wait_for(again.serve(once=True), 60)
    assert ledger.campaign_info(store, cid)["status"] == "complete"
    sent = [r["body"]["to"] for r in sandbox.received()[before:] if r["http_status"] == 200]
    assert sent == [lost.phone]


def test_a_campaign_whose_only_open_rows_are_unknown_is_refused_visibly_when_its_pace_is_above_the_cap(store):
    """A paused campaign submitted at 40 msg/s whose only open row is ``unknown`` reaches a worker
    capped at 10 msg/s per number: the worker cannot tell when that row is resent under options it
    refuses, so it refuses the campaign (``campaign_refused`` in its log) and holds it for a person
    (the request becomes ``pause``), as it does a campaign with planned rows."""
    cid = campaign(store, "too-fast", n=2)
    control.submit(store, cid, {"pace": 40}, NOW)
    ledger.pin_numbers(store, cid, ("pn-a",))
    ledger.set_campaign_status(store, cid, "paused", NOW)
    accepted, lost = ledger.planned_sends(store, cid)
    ledger.claim(store, [(r.send_id, 1, "pn-a") for r in (accepted, lost)], NOW)
    ledger.record_outcomes(
        store,
        [
            ledger.Outcome(accepted.send_id, 1, "accepted", NOW, wamid="wamid.sent"),
            ledger.Outcome(lost.send_id, 1, "unknown", NOW),
        ],
    )
    assert control.next_due_at(store, cid) is None  # no planned row, the campaign is not running
    lines = io.StringIO()
    worker = Worker(store, client=None, phone_number_ids=("pn-a",), max_rate=10.0, log=JsonLog(lines))  # type: ignore[arg-type]
    worker.tick()
    refused = [e for e in map(orjson.loads, lines.getvalue().splitlines()) if e["event"] == "campaign_refused"]
    assert [(e["campaign"], e["level"]) for e in refused] == [(cid, "error")] and "cap of 10" in refused[0]["error"]
    assert control.requested(store, cid) == "pause" and not worker.runs
    worker.tick()  # held for a person: not refused again every tick
    assert lines.getvalue().count("campaign_refused") == 1


async def test_an_unknown_row_waiting_when_the_worker_pauses_the_campaign_itself_is_resent_after_a_resume(
    sandbox, store
):
    """The run has sent its planned row and waits to resend a row whose outcome is unknown (no status
    webhook came) when Meta pauses the campaign's template: the runner pauses itself, and the worker
    ends the run and holds the campaign for a person (request ``pause``); the unknown row is then
    its only open row. Meta re-approves the template and a person resumes the campaign through the
    ledger (as the send widget and ``wamkt resume`` do): the worker resends the row once, when its
    ``unknown_wait`` is over, and completes the campaign."""
    now = time.time()
    cid = ledger.create_campaign(
        store,
        make_plan(CUSTOMERS.customers.head(2), template="order_shipped", planned_at=now),
        name="self-paused",
        now=now,
        campaign_id="self-paused",
    )
    control.submit(store, cid, {"pace": 20, "unknown_wait": 8.0}, now)
    number = sandbox.phone_number_id
    ledger.pin_numbers(store, cid, (number,))
    planned, lost = ledger.planned_sends(store, cid)
    ledger.claim(store, [(lost.send_id, 1, number)], now)
    ledger.record_outcomes(store, [ledger.Outcome(lost.send_id, 1, "unknown", now)])
    receiver = WebhookReceiver(store, APP_SECRET, VERIFY_TOKEN)
    lines = io.StringIO()
    before = len(sandbox.received())
    async with AsyncCloudClient(sandbox.settings()) as client:
        worker = Worker(store, client, (number,), poll=0.05, log=JsonLog(lines))
        serving = asyncio.get_running_loop().create_task(worker.serve())
        await wait_until_async(lambda: ledger.state_counts(store, cid)["accepted"] == 1, interval=0.05)
        post(receiver, template_update("PAUSED", time=int(now) + 1))
        await wait_until_async(lambda: control.requested(store, cid) == "pause" and not worker.runs, interval=0.05)
        events = [orjson.loads(line)["event"] for line in lines.getvalue().splitlines()]
        assert "campaign_needs_attention" in events and ledger.campaign_info(store, cid)["status"] == "paused"
        assert {k: v for k, v in ledger.state_counts(store, cid).items() if v} == {"accepted": 1, "unknown": 1}
        post(receiver, template_update("APPROVED", time=int(now) + 2))
        control.request(store, cid, "run", time.time())
        await wait_until_async(lambda: ledger.campaign_info(store, cid)["status"] == "complete", interval=0.05)
        worker.stop()
        await asyncio.wait_for(serving, 30)
    sent = [r["body"]["to"] for r in sandbox.received()[before:] if r["http_status"] == 200]
    assert sent == [planned.phone, lost.phone]
    assert ledger.state_counts(store, cid)["unknown"] == 0
