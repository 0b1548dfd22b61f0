"""What the sender reports while it runs: errors by code from the ledger, including failures that
arrive later in status webhooks. Real SQLite file, the embedded sandbox over real HTTP on 127.0.0.1
and our webhook receiver writing into the same database."""

import time

import pandas as pd
import pytest
from helpers.plans import make_plan
from helpers.processes import wait_until
from helpers.sandboxes import sender_sandbox

from wamkt_nb import ledger
from wamkt_nb.campaigns.sender import ERRORS_REFRESH, CampaignRunner, SendOptions, UnknownPolicy
from wamkt_nb.cloudapi import AsyncCloudClient
from wamkt_nb.data.sample import generate
from wamkt_nb.serving.wiring import connect_sandbox
from wamkt_nb.widgets.send import errors_html

pytestmark = pytest.mark.both_stores

DATA = generate(30, seed=3)


@pytest.fixture
def sandbox(store):
    with sender_sandbox(DATA) as sb, connect_sandbox(sb, store):
        yield sb


def strangers(n: int) -> pd.DataFrame:
    """People the sandbox does not know: accepted, then a ``failed`` webhook with 131026."""
    return pd.DataFrame(
        {
            "customer_id": [f"x{i}" for i in range(n)],
            "phone": [f"+4915299{i:06d}" for i in range(n)],
            "first_name": "Kim",
        }
    )


async def test_failures_from_status_webhooks_show_in_the_error_breakdown_while_sending(sandbox, store):
    people = pd.concat(
        [strangers(3), DATA.customers.head(17)[["customer_id", "phone", "first_name"]]], ignore_index=True
    )
    cid = ledger.create_campaign(
        store, make_plan(people, template="order_shipped", planned_at=time.time()), name="e", now=time.time()
    )
    seen = []

    def on_progress(p) -> None:
        seen.append(p)
        if p.requests >= 3 and not any(q.requests >= 3 for q in seen[:-1]):
            # the three strangers are out: let their failed webhooks land while 17 sends remain (a
            # slow machine must not let the run end first)
            wait_until(lambda: ledger.state_counts(store, cid)["failed"] == 3, timeout=60)

    async with AsyncCloudClient(sandbox.settings()) as client:
        runner = CampaignRunner(
            store,
            client,
            cid,
            SendOptions(phone_number_ids=(sandbox.phone_number_id,), pace=8, pair_interval=0.0, progress_interval=0.05),
            on_progress=on_progress,
        )
        progress = await runner.run()
    assert progress.requests == 20  # every request was answered 200: no synchronous error at all
    running = [p.errors for p in seen if p.status == "running"]
    assert any(e.get(131026) for e in running), running[-3:]  # shown while the run was still going
    # the breakdown is read from the ledger at most every 0.5 s, not once per report
    changes = [i for i in range(1, len(running)) if running[i] != running[i - 1]]
    assert len(seen) > 20 and len(changes) <= 4
    wait_until(lambda: ledger.state_counts(store, cid)["failed"] == 3, timeout=30)
    time.sleep(ERRORS_REFRESH)  # the next report reads the ledger again
    final = runner.progress()
    assert final.errors == {131026: 3}
    frame = final.errors_frame()
    assert frame.iloc[0]["meaning"].startswith("Message undeliverable")


async def test_unknown_outcomes_end_the_run_as_needs_review_and_a_resume_settles_them(sandbox, store):
    sandbox.set_faults(drop_after_accept=1.0)  # accepted, but every answer is lost on the way back
    cid = ledger.create_campaign(
        store,
        make_plan(DATA.customers.head(3), template="order_shipped", planned_at=time.time()),
        name="r",
        now=time.time(),
    )
    options = SendOptions(
        phone_number_ids=(sandbox.phone_number_id,),
        pace=50,
        pair_interval=0.0,
        unknown_policy=UnknownPolicy.NEVER_RESEND,
    )
    async with AsyncCloudClient(sandbox.settings(), timeout=2.0) as client:
        first = await CampaignRunner(store, client, cid, options).run()
        assert first.status == "needs_review" and first.counts["unknown"] == 3
        assert "3 recipient(s) with an unknown outcome" in first.message
        assert ledger.campaign_info(store, cid)["status"] == "paused"  # never "complete" with unknown rows
        sandbox.set_faults(drop_after_accept=0.0)
        wait_until(lambda: store.query("SELECT count(DISTINCT wamid) FROM status_events")[0][0] == 3, timeout=30)
        second = await CampaignRunner(store, client, cid, options).run()
    assert second.status == "complete" and second.counts["unknown"] == 0 and second.message == ""
    assert ledger.campaign_info(store, cid)["status"] == "complete"
    assert sandbox.counters()["accepted"] == 3  # settled from the webhooks, nothing was sent twice


async def test_metas_fbtrace_id_is_kept_with_the_attempt_and_shown_in_the_breakdown(sandbox, store):
    plan = make_plan(DATA.customers.head(3), template="order_shipped", planned_at=time.time())
    plan.at[0, "payload"] = {
        **plan.at[0, "payload"],
        "template": {"name": "no_such_template", "language": {"code": "de"}},
    }
    cid = ledger.create_campaign(store, plan, name="f", now=time.time())
    async with AsyncCloudClient(sandbox.settings()) as client:
        progress = await CampaignRunner(
            store, client, cid, SendOptions(phone_number_ids=(sandbox.phone_number_id,), pace=50, pair_interval=0.0)
        ).run()
    ((code, trace),) = store.query("SELECT error_code, fbtrace_id FROM attempts WHERE outcome = 'error'")
    assert code == 132001 and len(trace) > 8  # the sandbox's trace id, as Meta sends one
    assert ledger.error_breakdown(store, cid).set_index("code").at[132001, "fbtrace_id"] == trace
    assert progress.errors_frame().set_index("code").at[132001, "fbtrace_id"] == trace
    assert trace in errors_html(progress)
