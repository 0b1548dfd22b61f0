"""Meta's limits against the sender: sustained throttling (130429) and the pair rate (131056), with
the embedded sandbox's limits on, over real HTTP on 127.0.0.1, and a real SQLite ledger."""

import time

import pytest
from helpers.plans import make_plan
from helpers.sandboxes import sender_sandbox

from wamkt_nb import ledger
from wamkt_nb.campaigns.sender import CampaignRunner, SendOptions
from wamkt_nb.cloudapi import AsyncCloudClient
from wamkt_nb.data.sample import generate

pytestmark = pytest.mark.both_stores

DATA = generate(30, seed=3)


@pytest.fixture
def sandbox():
    with sender_sandbox(DATA) as sb:
        yield sb


async def test_a_pair_rate_answer_delays_only_that_recipient(sandbox, store):
    """The sandbox allows one message per 2 s to the same person; one recipient just got a message,
    so the campaign's first send to them answers 131056. Only their row waits: the others go out
    at the pace, nobody is slowed down and nothing is throttled."""
    sandbox.configure(pair_interval=2.0, pair_burst=1)
    people = DATA.customers.head(10)
    busy = people["phone"].iloc[0]
    plan = make_plan(people, template="order_shipped", planned_at=time.time())
    cid = ledger.create_campaign(store, plan, name="p", now=time.time())
    async with AsyncCloudClient(sandbox.settings()) as client:
        await client.send_message(sandbox.phone_number_id, {**plan["payload"].iloc[0], "biz_opaque_callback_data": "x"})
        progress = await CampaignRunner(
            store,
            client,
            cid,
            SendOptions(phone_number_ids=(sandbox.phone_number_id,), pace=20, pair_interval=0.0, backoff_scale=0.25),
        ).run()
    assert progress.status == "complete" and progress.throttled == 0
    rows = {r["phone"]: r for r in store.query("SELECT phone, state, attempts, accepted_at FROM sends")}
    first = store.query(
        "SELECT a.error_code FROM attempts a JOIN sends s ON s.send_id = a.send_id"
        " WHERE s.phone = ? ORDER BY a.attempt_no",
        (busy,),
    )
    assert first[0][0] == 131056 and first[-1][0] is None and rows[busy]["attempts"] >= 2
    others = [r for p, r in rows.items() if p != busy]
    assert all(r["state"] == "accepted" and r["attempts"] == 1 for r in others)
    times = sorted(r["accepted_at"] for r in others)
    assert times[-1] - times[0] < 1.5  # 9 messages at 20/s: the 131056 held nobody else back
    assert rows[busy]["accepted_at"] > times[-1]  # that recipient waited for their pair slot


async def test_sustained_throttling_waits_instead_of_using_up_attempts(sandbox, store):
    """The sandbox takes 4 msg/s, the sender tries 40/s with 2 attempts: every row is throttled
    (130429) again and again, AIMD slows down, and nobody fails for it."""
    sandbox.configure(throughput_per_second=4.0)
    cid = ledger.create_campaign(
        store,
        make_plan(DATA.customers.head(12), template="order_shipped", planned_at=time.time()),
        name="t",
        now=time.time(),
    )
    async with AsyncCloudClient(sandbox.settings()) as client:
        runner = CampaignRunner(
            store,
            client,
            cid,
            SendOptions(
                phone_number_ids=(sandbox.phone_number_id,),
                pace=40,
                max_attempts=2,
                pair_interval=0.0,
                backoff_scale=0.05,
            ),
        )
        progress = await runner.run()
    reached = sum(progress.counts[s] for s in ("accepted", "sent", "delivered", "read"))
    assert progress.status == "complete" and reached == 12 and progress.counts["failed"] == 0
    assert progress.throttled > 12  # throttled a lot ...
    assert store.query("SELECT max(attempts) FROM sends")[0][0] > 2  # ... beyond the cap of 2 attempts
    assert progress.pace < 40  # and slowed down (AIMD)


async def test_a_row_throttled_beyond_the_safety_limit_fails_with_the_reason(sandbox, store):
    sandbox.configure(throughput_per_second=0.01)  # one message, then throttled for a long time
    cid = ledger.create_campaign(
        store,
        make_plan(DATA.customers.head(3), template="order_shipped", planned_at=time.time()),
        name="t",
        now=time.time(),
    )
    async with AsyncCloudClient(sandbox.settings()) as client:
        progress = await CampaignRunner(
            store,
            client,
            cid,
            SendOptions(
                phone_number_ids=(sandbox.phone_number_id,),
                pace=40,
                max_throttled=3,
                pair_interval=0.0,
                backoff_scale=0.01,
            ),
        ).run()
    assert progress.counts["failed"] >= 2
    titles = {r[0] for r in store.query("SELECT error_title FROM sends WHERE state = 'failed'")}
    assert all(t.startswith("gave up after 3 throttled attempts") for t in titles), titles
