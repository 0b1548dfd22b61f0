"""The sender re-checks compliance right before each request: consent, the service window of
free-form messages and quiet hours can change between the dry run and the send. Real SQLite file,
the embedded sandbox over real HTTP on 127.0.0.1."""

import time

import pytest
from helpers.plans import make_plan, zone_where_it_is
from helpers.sandboxes import sender_sandbox

from wamkt_nb import ledger
from wamkt_nb.campaigns.planned_policy import campaign_policy
from wamkt_nb.campaigns.sender import CampaignRunner, SendOptions
from wamkt_nb.cloudapi import AsyncCloudClient
from wamkt_nb.compliance import Policy, explain
from wamkt_nb.compliance.timezones import local_hours
from wamkt_nb.data.sample import generate
from wamkt_nb.webhooks.consent import record_consent

pytestmark = pytest.mark.both_stores

DATA = generate(40, seed=11)


@pytest.fixture
def sandbox():
    with sender_sandbox(DATA) as sb:
        yield sb


async def send(store, sandbox, cid, **options):
    options = {"pace": 50, "pair_interval": 0.0, "backoff_scale": 0.05, **options}
    async with AsyncCloudClient(sandbox.settings()) as client:
        return await CampaignRunner(
            store, client, cid, SendOptions(phone_number_ids=(sandbox.phone_number_id,), **options)
        ).run()


def sent_phones(sandbox) -> set[str]:
    return {"+" + wa_id for wa_id in sandbox.messages_frame().get("wa_id", [])}


def row(store, phone):
    return store.query("SELECT state, reason, planned_at, attempts FROM sends WHERE phone = ?", (phone,))[0]


async def test_an_opt_out_after_the_dry_run_is_honoured_at_send_time(sandbox, store):
    people = DATA.customers.head(6)
    cid = ledger.create_campaign(
        store,
        make_plan(people, category="marketing", template="order_shipped", planned_at=time.time()),
        name="m",
        now=time.time(),
    )
    stopped = people["phone"].iloc[2]
    with store.transaction() as conn:  # the keyword STOP arrives after the plan was written
        record_consent(conn, stopped, False, time.time(), "keyword")
    progress = await send(store, sandbox, cid)
    assert progress.status == "complete"
    assert sent_phones(sandbox) == set(people["phone"]) - {stopped}
    state, reason, _, attempts = row(store, stopped)
    assert (state, reason, attempts) == ("excluded", "opted_out", 0)
    assert "opted out" in explain(reason)


async def test_free_form_text_goes_out_only_while_the_service_window_is_open(sandbox, store):
    people = DATA.customers.head(3)
    now = time.time()
    phones = list(people["phone"])
    store.executemany(
        "INSERT INTO service_windows VALUES (?, ?)", [(phones[0], now - 3600), (phones[1], now - 25 * 3600)]
    )  # open, closed; 3rd never wrote
    cid = ledger.create_campaign(store, make_plan(people, category="service", planned_at=now), name="s", now=now)
    progress = await send(store, sandbox, cid)
    assert progress.status == "complete"
    assert sent_phones(sandbox) == {phones[0]}
    assert [row(store, p)[:2] for p in phones[1:]] == [("excluded", "outside_service_window")] * 2


async def test_rows_due_in_quiet_hours_wait_for_the_morning(sandbox, store):
    people = DATA.customers.head(4)
    now = time.time()
    plan = make_plan(people, template="order_shipped", planned_at=now)
    night = zone_where_it_is(23)
    plan.loc[2:, "timezone"] = night  # two recipients live where it is 23:00 now
    cid = ledger.create_campaign(store, plan, name="q", now=now)
    progress = await send(store, sandbox, cid, wait_for_later=False)
    assert progress.status == "paused" and progress.counts["planned"] == 2
    assert sent_phones(sandbox) == set(people["phone"].iloc[:2])
    for phone in people["phone"].iloc[2:]:
        state, reason, planned_at, attempts = row(store, phone)
        assert state == "planned" and attempts == 0
        assert local_hours([night], planned_at)[0] == pytest.approx(8.0)  # quiet hours end at 8 local
        assert 8 * 3600 <= planned_at - now <= 10 * 3600


async def test_a_session_message_whose_window_closes_during_the_night_is_excluded(sandbox, store):
    people = DATA.customers.head(2)
    now = time.time()
    phones = list(people["phone"])
    store.executemany(
        "INSERT INTO service_windows VALUES (?, ?)", [(phones[0], now - 23 * 3600), (phones[1], now - 23 * 3600)]
    )  # 1 h left
    plan = make_plan(people, category="service", planned_at=now)
    plan.loc[1, "timezone"] = zone_where_it_is(23)
    cid = ledger.create_campaign(store, plan, name="s", now=now)
    progress = await send(store, sandbox, cid)
    assert progress.status == "complete"
    assert sent_phones(sandbox) == {phones[0]}
    assert row(store, phones[1])[:2] == ("excluded", "outside_service_window")


async def test_a_dry_run_policy_is_the_one_the_sender_checks(sandbox, store):
    """Quiet hours switched off in the dry run's policy stay off at send time."""
    people = DATA.customers.head(2)
    now = time.time()
    plan = make_plan(people, template="order_shipped", planned_at=now).assign(timezone=zone_where_it_is(23))
    plan.attrs["policy"] = Policy(quiet_start=0, quiet_end=0)
    cid = ledger.create_campaign(store, plan, name="p", now=now)
    assert campaign_policy(ledger.campaign_info(store, cid)) == Policy(quiet_start=0, quiet_end=0)
    progress = await send(store, sandbox, cid)
    assert progress.status == "complete" and sent_phones(sandbox) == set(people["phone"])
