"""End to end with BSUID-only customers: a marketing campaign whose audience is one third customers
known by a business-scoped user ID alone goes from the dry run through the sender to the real
sandbox, whose username users (another third) write without a phone; its webhooks reach our
receiver over HTTP. Every reply, opt-out and auto-reply lands on the right customer, nothing is
rejected, and the 24 h marketing cap holds for BSUID-only customers too. Real SQLite, real HTTP
on 127.0.0.1."""

from __future__ import annotations

import pandas as pd
import pytest
from helpers.processes import wait_until

from wamkt_nb import ledger
from wamkt_nb.abtest.assignment import assign_arms
from wamkt_nb.abtest.outcomes import unit_outcomes
from wamkt_nb.campaigns.dryrun import dry_run
from wamkt_nb.campaigns.sender import CampaignRunner, SendOptions
from wamkt_nb.clock import ManualClock
from wamkt_nb.cloudapi import AsyncCloudClient
from wamkt_nb.compliance.reservation import reserve_marketing
from wamkt_nb.compliance.rules import Policy
from wamkt_nb.data.privacy import mask_frame
from wamkt_nb.data.sample import generate
from wamkt_nb.data.schema import CustomerData
from wamkt_nb.data.stored import read_customer_data, write_customer_data
from wamkt_nb.inbox import open_conversations
from wamkt_nb.messages.personalise import MessageSpec, Param
from wamkt_nb.messages.templates import Template
from wamkt_nb.sandbox import Sandbox, SandboxConfig
from wamkt_nb.sandbox.templates import default_templates
from wamkt_nb.serving.wiring import connect_sandbox
from wamkt_nb.store import open_store
from wamkt_nb.webhooks.consent import opted_out

START = pd.Timestamp("2026-11-20 13:00", tz="UTC").timestamp()
REPLIES = ("Rabatt", "STOP", "Danke!")
"""What each customer writes after the campaign, in turn: an auto-reply keyword, an opt-out, a plain reply."""


def bsuid_only(data: CustomerData) -> CustomerData:
    """Every third customer known by a BSUID alone (no phone), everyone opted in."""
    customers = data.customers.copy()
    customers["opted_in"] = True
    customers["bsuid"] = pd.Series(pd.NA, index=customers.index, dtype="string")
    third = customers.index % 3 == 0
    customers.loc[third, "bsuid"] = [
        f"{c}.{7_000_000_000_000 + i}"
        for i, c in zip(customers.index[third], customers.loc[third, "country"], strict=True)
    ]
    customers.loc[third, "phone"] = pd.NA
    return CustomerData(customers=customers, orders=data.orders, interactions=data.interactions)


@pytest.fixture
def world(tmp_path):
    data = bsuid_only(generate(30, seed=5, now="2026-11-20"))
    store = open_store(tmp_path / "w.db")
    write_customer_data(store, data)
    config = SandboxConfig(
        pair_interval=0, not_on_whatsapp_rate=0, marketing_stopped_rate=0, username_share=1 / 3, webhook_retry_base=0.05
    )
    with Sandbox(customers=data, clock=ManualClock(START), config=config) as sb:
        sb.configure(messaging_tier="TIER_UNLIMITED")
        with connect_sandbox(sb, store):
            yield data, store, sb
    store.close()


def spec() -> MessageSpec:
    library = {t["name"]: t for t in default_templates() if t["language"] == "de"}
    return MessageSpec(
        template={"*": Template.from_api(library["rabatt_aktion"])},
        params={"first_name": Param("first_name"), "discount": Param("discount", fallback="10 %")},
    )


def plan(store, sb, name: str) -> tuple[str, pd.DataFrame]:
    """An A/B test of one template against itself, arms assigned per customer_id."""
    customers = read_customer_data(store).customers.assign(discount="10 %")
    customers["arm"] = assign_arms(customers["customer_id"], name, ["A", "B"]).to_numpy()
    report = dry_run(
        customers,
        {"A": spec(), "B": spec()},
        now=sb.clock.now(),
        store=store,
        schedule="now",
        policy=Policy(daily_limit=None, include_inactive=True),
    )
    campaign_id = ledger.create_campaign(store, report.plan, name=name, now=sb.clock.now(), experiment_key=name)
    return campaign_id, report.plan


async def send(store, sb, campaign_id: str):
    async with AsyncCloudClient(sb.settings()) as client:
        options = SendOptions(phone_number_ids=(sb.phone_number_id,), pace=50, pair_interval=0.0)
        return await CampaignRunner(store, client, campaign_id, options, clock=sb.clock).run()


def sandbox_messages(sb) -> list[dict]:
    """Every message a simulated customer sent us (natural or injected), from the webhooks the
    sandbox emitted (a redelivery repeats one)."""
    return [
        message
        for record in sb.emitted()
        for entry in record["payload"]["entry"]
        for change in entry["changes"]
        for message in change["value"].get("messages", [])
    ]


def key_of(customers: pd.DataFrame) -> dict[str, str]:
    """customer_id -> the key our store files them under: the phone, else the BSUID."""
    return dict(zip(customers["customer_id"], customers["phone"].fillna(customers["bsuid"]), strict=True))


async def test_a_campaign_to_bsuid_only_customers_attributes_everything_to_the_right_customer(world):
    data, store, sb = world
    keys = key_of(data.customers)
    only_bsuid = set(data.customers.loc[data.customers["phone"].isna(), "customer_id"])
    usernames = {c.customer_id for c in sb.engine.customers.values() if c.username}
    assert len(only_bsuid) == 10 and usernames - only_bsuid  # phone customers among the username users too

    campaign_id, first = plan(store, sb, "Rabatt")
    assert set(first.loc[first["outcome"] == "send", "customer_id"]) == set(keys)
    assert first.set_index("customer_id")["phone"].to_dict() == keys  # BSUID-only rows addressed by BSUID
    progress = await send(store, sb, campaign_id)
    assert progress.status == "complete" and ledger.state_counts(store, campaign_id)["accepted"] + ledger.state_counts(
        store, campaign_id
    )["sent"] + ledger.state_counts(store, campaign_id)["delivered"] + ledger.state_counts(store, campaign_id)[
        "read"
    ] == len(keys)
    bodies = [r["body"] for r in sb.received()]
    assert sum("recipient" in b for b in bodies) == len(only_bsuid)  # Meta's recipient field for a BSUID
    sb.advance(600)  # sent, delivered and read webhooks; some customers answer on their own
    assert sb.wait_idle(30)

    said = {customer_id: REPLIES[(i + i // 3) % 3] for i, customer_id in enumerate(sorted(keys))}
    # (i + i // 3) % 3: BSUID-only customers (every third) say each of the three texts too
    wamids = {sb.inject_inbound(customer_id, text): customer_id for customer_id, text in said.items()}
    assert sb.wait_idle(30)
    texts = {m["id"]: m.get("text", {}).get("body") for m in sandbox_messages(sb)}
    inbound = {m["id"]: sb.engine.find_customer(m["from_user_id"]).customer_id for m in sandbox_messages(sb)}
    assert set(wamids) <= set(inbound)

    def recorded():
        return {r[0]: r[1] for r in store.query("SELECT wamid, phone FROM inbound_messages")}

    wait_until(lambda: set(inbound) <= set(recorded()), timeout=60)
    assert {w: recorded()[w] for w in inbound} == {w: keys[c] for w, c in inbound.items()}
    assert store.query("SELECT COUNT(*) FROM webhook_rejects")[0][0] == 0

    stopped = {c.customer_id for c in sb.engine.customers.values() if c.marketing_stopped}
    assert {c for c, text in said.items() if text == "STOP"} <= stopped
    assert {c for c in keys if opted_out(store, keys[c])} == stopped  # keyword and user preference alike

    def auto_replies():
        return store.query("SELECT in_reply_to, phone, state FROM replies WHERE kind = 'auto'")

    rabatt = {w for w in inbound if texts[w] == "Rabatt"}
    wait_until(lambda: {r[0] for r in auto_replies() if r[2] == "accepted"} >= rabatt, timeout=60)
    for in_reply_to, phone, _ in auto_replies():
        assert phone == keys[inbound[in_reply_to]]
    answered = [r["body"] for r in sb.received() if r["body"].get("type") == "text"]
    reached = {sb.engine.find_customer(b.get("to") or b["recipient"]).customer_id for b in answered}
    assert reached == {inbound[r[0]] for r in auto_replies() if r[2] == "accepted"}

    flowback = store.query(
        "SELECT customer_id, COUNT(*) FROM flowback_interactions WHERE kind != 'read' GROUP BY customer_id"
    )  # what features and segments see of the messages
    assert dict(flowback) == pd.Series(list(inbound.values())).value_counts().to_dict()

    # the inbox: open conversations (a plain "Danke!" has no auto-reply) show the right customer
    conversations = open_conversations(store, sb.clock.now(), customers=read_customer_data(store).customers)
    assert len(conversations) >= 8 and conversations["customer_id"].notna().all()
    by_key = {key: customer for customer, key in keys.items()}
    assert conversations["customer_id"].tolist() == conversations["phone"].map(by_key).tolist()
    assert set(conversations["customer_id"]) & only_bsuid

    # A/B outcomes: everyone wrote after our message, so every delivered recipient replied, BSUID-only or not
    outcomes = unit_outcomes(store, campaign_id, "reply").set_index("customer_id")
    assert set(outcomes["arm"]) == {"A", "B"} and set(outcomes.index) >= only_bsuid
    delivered = {
        r[0]
        for r in store.query(
            "SELECT customer_id FROM sends WHERE campaign_id = ? AND delivered_at IS NOT NULL", (campaign_id,)
        )
    }
    assert len(delivered & only_bsuid) >= 8 and (outcomes.loc[sorted(delivered), "y"] == 1).all()

    # the 24 h cap: an hour later a second marketing campaign reaches nobody, BSUID-only or not
    sb.advance(3600)
    _, second = plan(store, sb, "Rabatt 2")
    reasons = second.set_index("customer_id")["reason"].astype(str)
    assert set(reasons[list(only_bsuid)]) <= {"marketing_cap_24h", "opted_out"}
    assert (reasons[list(only_bsuid)] == "marketing_cap_24h").any()
    assert not reserve_marketing(store, keys[sorted(only_bsuid - stopped)[0]], "other", sb.clock.now())

    masked = mask_frame(read_customer_data(store).customers[["customer_id", "phone", "bsuid"]]).to_string()
    assert not any(key in masked for key in keys.values())
