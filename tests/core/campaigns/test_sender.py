"""The paced sender against the embedded sandbox over real HTTP on 127.0.0.1, with the webhook
receiver writing status events into the same SQLite file."""

import asyncio
import time

import pandas as pd
import pytest
from helpers.plans import make_plan
from helpers.processes import free_port, wait_until_async
from helpers.sandboxes import sender_sandbox

from wamkt_nb import ledger
from wamkt_nb.campaigns.sender import CampaignRunner, SendOptions, UnknownPolicy
from wamkt_nb.cloudapi import AsyncCloudClient
from wamkt_nb.data.sample import generate
from wamkt_nb.sandbox import Faults, Sandbox, SandboxConfig

pytestmark = pytest.mark.both_stores

DATA = generate(60, seed=5)


@pytest.fixture
def sandbox():
    with sender_sandbox(DATA, faults=Faults(timeout_seconds=2.0)) as sb:
        yield sb


def plan_for(customers, **kw):
    return make_plan(customers, template="order_shipped", planned_at=time.time(), **kw)


async def run(store, sandbox, cid, timeout=2.0, **options):
    options.setdefault("pace", 50)
    options.setdefault("backoff_scale", 0.05)
    options.setdefault("pair_interval", 0.2)
    async with AsyncCloudClient(sandbox.settings(), timeout=timeout) as client:
        runner = CampaignRunner(store, client, cid, SendOptions(phone_number_ids=(sandbox.phone_number_id,), **options))
        return runner, await runner.run()


def accepted_per_key(sandbox) -> dict[str, int]:
    counts: dict[str, int] = {}
    for m in sandbox.messages_frame().to_dict("records"):
        counts[m["callback_data"]] = counts.get(m["callback_data"], 0) + 1
    return counts


async def test_each_recipient_gets_one_message_with_its_ledger_key(sandbox, store):
    cid = ledger.create_campaign(store, plan_for(DATA.customers.head(30), excluded=3), name="t", now=time.time())
    seen = []
    async with AsyncCloudClient(sandbox.settings()) as client:
        runner = CampaignRunner(
            store,
            client,
            cid,
            SendOptions(phone_number_ids=(sandbox.phone_number_id,), pace=50, progress_interval=0.05),
            on_progress=seen.append,
        )
        progress = await runner.run()
    assert progress.status == "complete" and progress.done == 30
    assert progress.counts["accepted"] == 27 and progress.counts["excluded"] == 3
    keys = set(store.query("SELECT recipient_key FROM sends WHERE state = 'accepted'")[0:])
    assert accepted_per_key(sandbox) == {k[0]: 1 for k in keys}
    rows = store.query("SELECT wamid, attempts, phone_number_id FROM sends WHERE state = 'accepted'")
    assert all(r[0].startswith("wamid.") and r[1] == 1 and r[2] == sandbox.phone_number_id for r in rows)
    done = [p.done for p in seen]
    assert done == sorted(done) and len(seen) >= 3
    assert ledger.campaign_info(store, cid)["status"] == "complete"


async def test_pace_is_kept(sandbox, store):
    cid = ledger.create_campaign(store, plan_for(DATA.customers.head(21)), name="t", now=time.time())
    runner, progress = await run(store, sandbox, cid, pace=20)
    span = runner.meter.last_dispatch - runner.meter.first_dispatch
    assert progress.counts["accepted"] == 21
    assert 0.85 <= span <= 2.0  # 20 gaps at 20/s: never faster (a starved machine may be slower)


async def test_retryable_errors_are_retried_with_a_cap(sandbox, store):
    sandbox.set_faults(error_500=0.4)
    cid = ledger.create_campaign(store, plan_for(DATA.customers.head(30)), name="t", now=time.time())
    # which row meets which fault depends on how retries interleave; with 8 attempts about 2 % of runs
    # had a row fail 8 times in a row (30 x 0.4^8), with 20 it is 30 x 0.4^20 (about 3e-7)
    _, progress = await run(store, sandbox, cid, max_attempts=20)
    assert progress.counts["accepted"] == 30
    assert store.query("SELECT max(attempts) FROM sends")[0][0] > 1
    assert store.query("SELECT count(*) FROM attempts WHERE outcome = 'error' AND http_status = 500")[0][0] > 0
    assert progress.errors_frame().set_index("code").loc[131000, "count"] > 0
    assert accepted_per_key(sandbox) == {k: 1 for k in accepted_per_key(sandbox)}

    sandbox.set_faults(error_500=1.0)
    cid2 = ledger.create_campaign(store, plan_for(DATA.customers.head(5)), name="t2", now=time.time())
    _, progress = await run(store, sandbox, cid2, max_attempts=2)
    assert progress.counts["failed"] == 5
    rows = store.query("SELECT attempts, error_code, error_title FROM sends WHERE campaign_id = ?", (cid2,))
    assert all(r[0] == 2 and r[1] == 131000 and r[2].startswith("gave up after 2 attempts") for r in rows)


async def test_permanent_failure_keeps_metas_code_and_meaning(sandbox, store):
    plan = plan_for(DATA.customers.head(4))
    plan.at[0, "payload"] = {
        **plan.at[0, "payload"],
        "template": {"name": "no_such_template", "language": {"code": "de"}},
    }
    cid = ledger.create_campaign(store, plan, name="t", now=time.time())
    _, progress = await run(store, sandbox, cid)
    row = store.query(
        "SELECT state, error_code, attempts FROM sends WHERE customer_id = ?", (plan.at[0, "customer_id"],)
    )[0]
    assert tuple(row) == ("failed", 132001, 1)
    frame = ledger.error_breakdown(store, cid)
    assert "Template does not exist" in frame.set_index("code").loc[132001, "meaning"]
    assert progress.counts["accepted"] == 3


async def test_throughput_limit_slows_down_and_recovers(sandbox, store):
    sandbox.configure(throughput_per_second=10.0)
    cid = ledger.create_campaign(store, plan_for(DATA.customers.head(40)), name="t", now=time.time())
    runner, progress = await run(store, sandbox, cid, pace=50, max_attempts=10)
    assert progress.counts["accepted"] == 40
    assert progress.throttled > 0
    assert runner._pacers.pacers[0].aimd.cuts > 0
    assert accepted_per_key(sandbox) == {k: 1 for k in accepted_per_key(sandbox)}


async def test_start_time_and_planned_hours_are_honoured(sandbox, store):
    start = time.time()
    plan = plan_for(DATA.customers.head(6))
    plan.loc[3:, "planned_at"] = plan.loc[3:, "planned_at"] + pd.Timedelta(seconds=1.2)
    cid = ledger.create_campaign(store, plan, name="t", now=start)
    _, progress = await run(store, sandbox, cid, start_at=start + 0.5)
    times = dict(store.query("SELECT customer_id, accepted_at FROM sends"))
    early = [times[c] for c in plan["customer_id"][:3]]
    late = [times[c] for c in plan["customer_id"][3:]]
    assert min(early) >= start + 0.5 and min(late) >= start + 1.2
    assert progress.status == "complete"


async def test_pause_resume_and_cancel(sandbox, store):
    cid = ledger.create_campaign(store, plan_for(DATA.customers.head(40)), name="t", now=time.time())
    async with AsyncCloudClient(sandbox.settings()) as client:
        runner = CampaignRunner(store, client, cid, SendOptions(phone_number_ids=(sandbox.phone_number_id,), pace=40))
        task = asyncio.create_task(runner.run())
        await wait_until_async(lambda: sandbox.counters().get("requests", 0) >= 3)
        runner.pause()
        # paused, and the requests claimed before the pause have finished (none left in flight)
        await wait_until_async(
            lambda: (
                ledger.campaign_info(store, cid)["status"] == "paused"
                and ledger.state_counts(store, cid)["in_flight"] == 0
            )
        )
        before = sandbox.counters()["requests"]
        await asyncio.sleep(0.4)
        assert sandbox.counters()["requests"] == before
        runner.resume()
        await wait_until_async(lambda: sandbox.counters()["requests"] > before)
        runner.cancel()
        progress = await task
    assert progress.status == "cancelled"
    assert progress.counts["cancelled"] > 0
    assert progress.counts["cancelled"] + progress.counts["accepted"] == 40
    assert ledger.campaign_info(store, cid)["status"] == "cancelled"


async def test_lost_responses_are_reconciled_from_webhooks_not_resent(sandbox, store, receiver):
    sandbox.set_faults(drop_after_accept=0.5)
    cid = ledger.create_campaign(store, plan_for(DATA.customers.head(20)), name="t", now=time.time())
    _, progress = await run(store, sandbox, cid, unknown_wait=6.0)
    assert progress.status == "complete"
    assert sandbox.counters()["fault_drop"] > 0
    assert accepted_per_key(sandbox) == {k: 1 for k in accepted_per_key(sandbox)}
    assert len(accepted_per_key(sandbox)) == 20
    assert ledger.resend_report(store, cid)["resent_after_unknown"] == 0
    assert progress.counts["unknown"] == progress.counts["planned"] == 0


async def test_never_resend_policy_leaves_unknown_rows_visible(sandbox, store):
    sandbox.set_faults(timeout=1.0, timeout_seconds=2.0)
    cid = ledger.create_campaign(store, plan_for(DATA.customers.head(3)), name="t", now=time.time())
    _, progress = await run(store, sandbox, cid, timeout=0.3, unknown_policy=UnknownPolicy.NEVER_RESEND)
    assert progress.counts["unknown"] == 3 and progress.status == "needs_review" and progress.done == 3
    assert "3 recipient(s) with an unknown outcome" in progress.message and "resume later" in progress.message
    assert ledger.campaign_info(store, cid)["status"] == "paused"  # not complete: a resume may settle them
    assert sandbox.counters().get("accepted", 0) == 0
    assert store.query("SELECT count(*) FROM attempts WHERE outcome = 'timeout'")[0][0] == 3


async def test_unknown_without_webhook_is_resent_after_the_wait(sandbox, store):
    """A timeout that was never accepted: no webhook comes, so after the wait it is resent once."""
    sandbox.set_faults(timeout=1.0, timeout_seconds=1.0)
    cid = ledger.create_campaign(store, plan_for(DATA.customers.head(3)), name="t", now=time.time())
    async with AsyncCloudClient(sandbox.settings(), timeout=0.3) as client:
        runner = CampaignRunner(
            store,
            client,
            cid,
            SendOptions(phone_number_ids=(sandbox.phone_number_id,), pace=50, unknown_wait=2.0, pair_interval=0.2),
        )
        task = asyncio.create_task(runner.run())
        await wait_until_async(lambda: sandbox.counters().get("fault_timeout", 0) >= 3)  # each first attempt timed out
        sandbox.set_faults(timeout=0.0)
        progress = await task
    assert progress.counts["accepted"] == 3
    assert progress.resent_after_unknown == 3
    assert ledger.resend_report(store, cid) == {"resent_after_unknown": 3, "confirmed_duplicates": 0}
    assert len(accepted_per_key(sandbox)) == 3


async def test_account_errors_pause_the_run_instead_of_failing_rows(sandbox, store):
    cid = ledger.create_campaign(store, plan_for(DATA.customers.head(4)), name="t", now=time.time())
    async with AsyncCloudClient(sandbox.settings(access_token="wrong")) as client:
        runner = CampaignRunner(store, client, cid, SendOptions(phone_number_ids=(sandbox.phone_number_id,), pace=50))
        task = asyncio.create_task(runner.run())
        await wait_until_async(lambda: runner.paused)
        progress = runner.progress()
        assert runner.paused and "Access token" in progress.message
        runner.stop()
        await task
    assert ledger.state_counts(store, cid)["planned"] == 4
    assert ledger.campaign_info(store, cid)["status"] == "paused"


async def test_several_numbers_share_the_load_each_at_its_own_pace(store):
    """Two business numbers (one sandbox each, real HTTP); the sender routes by phone number id."""
    first = Sandbox(customers=DATA, config=SandboxConfig(phone_number_id="1111"))
    second = Sandbox(customers=DATA, config=SandboxConfig(phone_number_id="2222"))
    with first, second:
        clients = {"1111": AsyncCloudClient(first.settings()), "2222": AsyncCloudClient(second.settings())}

        class ByNumber:
            async def send_message(self, phone_number_id, payload):
                return await clients[phone_number_id].send_message(phone_number_id, payload)

        cid = ledger.create_campaign(store, plan_for(DATA.customers.head(40)), name="t", now=time.time())
        runner = CampaignRunner(store, ByNumber(), cid, SendOptions(phone_number_ids=("1111", "2222"), pace=20))
        progress = await runner.run()
        for c in clients.values():
            await c.aclose()
        span = runner.meter.last_dispatch - runner.meter.first_dispatch
        a, b = len(first.messages_frame()), len(second.messages_frame())
    assert progress.counts["accepted"] == 40 and a + b == 40
    assert abs(a - b) <= 2
    assert 0.8 <= span <= 2.0  # 20/s each, 40/s together: never faster
    used = dict(store.query("SELECT phone_number_id, count(*) FROM sends GROUP BY 1"))
    assert used == {"1111": a, "2222": b}


async def test_unreachable_api_pauses_the_run_and_fails_nobody(store):
    cid = ledger.create_campaign(store, plan_for(DATA.customers.head(3)), name="t", now=time.time())
    async with AsyncCloudClient(base_url=f"http://127.0.0.1:{free_port()}", access_token="x") as client:
        runner = CampaignRunner(
            store,
            client,
            cid,
            SendOptions(phone_number_ids=("1",), pace=50, max_attempts=2, backoff_scale=0.01, pair_interval=0.0),
        )
        task = asyncio.create_task(runner.run())
        await wait_until_async(lambda: runner.paused)
        assert "cannot reach the API" in runner.progress().message
        runner.stop()
        progress = await task
    assert progress.status == "paused" and progress.counts["planned"] == 3 and progress.counts["failed"] == 0


async def test_a_campaign_runs_once_at_a_time(sandbox, store):
    cid = ledger.create_campaign(store, plan_for(DATA.customers.head(10)), name="t", now=time.time())
    async with AsyncCloudClient(sandbox.settings()) as client:
        options = SendOptions(phone_number_ids=(sandbox.phone_number_id,), pace=20)
        first = asyncio.create_task(CampaignRunner(store, client, cid, options).run())
        await wait_until_async(
            lambda: store.query("SELECT count(*) FROM send_leases")[0][0] == 1
        )  # the first one holds it
        with pytest.raises(ledger.LedgerError, match="already being sent"):
            await CampaignRunner(store, client, cid, options).run()
        assert (await first).counts["accepted"] == 10
    assert accepted_per_key(sandbox) == {k: 1 for k in accepted_per_key(sandbox)}
    assert store.query("SELECT count(*) FROM send_leases")[0][0] == 0
