"""A campaign with tracked links through the real sandbox: its customers' phones fetch the link
preview, readers click over HTTP, the receiver's server (as in ``wamkt serve``) records the clicks,
and the funnel shows the "clicked" step and the click-through rate per campaign and variant."""

from __future__ import annotations

import asyncio
import time

import pandas as pd
import pytest

from wamkt_nb.analytics import compute_metrics, funnel, load_ledger
from wamkt_nb.campaigns.dryrun import dry_run
from wamkt_nb.campaigns.sender import SendOptions, send_campaign
from wamkt_nb.clock import ManualClock
from wamkt_nb.cloudapi import AsyncCloudClient
from wamkt_nb.compliance import Policy
from wamkt_nb.data.sample import generate
from wamkt_nb.data.stored import read_customer_data, write_customer_data
from wamkt_nb.ledger import create_campaign
from wamkt_nb.links import click_summary, clicks_per_send
from wamkt_nb.messages import MessageSpec, Param, template_from_text
from wamkt_nb.sandbox import BehaviourParams, Sandbox
from wamkt_nb.sandbox.templates import default_templates
from wamkt_nb.serving.wiring import connect_sandbox
from wamkt_nb.store import open_store

START = 1_760_000_000.0  # 2025-10-09 08:53 UTC: daytime in Berlin
SHOP = "https://shop.example.com/herbst"
SALE = {
    "name": "herbst_sale",
    "language": "de",
    "category": "MARKETING",
    "status": "APPROVED",
    "parameter_format": "NAMED",
    "components": [
        {
            "type": "BODY",
            "text": "Hallo {{first_name}}, der Herbst-Sale ist da: {{link}}",
            "example": {
                "body_text_named_params": [
                    {"param_name": "first_name", "example": "Anna"},
                    {"param_name": "link", "example": "https://shop.example.com/sale"},
                ]
            },
        }
    ],
}
TEMPLATE = template_from_text(
    "herbst_sale",
    "de",
    "MARKETING",
    SALE["components"][0]["text"],
    examples={"first_name": "Anna", "link": "https://shop.example.com/sale"},
)


def wait_for(condition, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture
def world(tmp_path):
    data = generate(120, seed=5, now="2025-10-09")
    store = open_store(tmp_path / "w.db")
    write_customer_data(store, data)
    sb = Sandbox(
        customers=data,
        clock=ManualClock(START),
        templates=default_templates() + [SALE],
        params=BehaviourParams(click_given_read=0.6),
    )
    sb.start()
    sb.configure(pair_interval=0.0, messaging_tier="TIER_UNLIMITED")
    link = connect_sandbox(sb, store)
    yield data, store, sb, link
    link.close()
    sb.stop()
    store.close()


def send(store, sb, campaign_id):
    async def run():
        async with AsyncCloudClient(sb.settings()) as client:
            await send_campaign(
                store,
                client,
                campaign_id,
                SendOptions(
                    phone_number_ids=(sb.phone_number_id,), pace="max", confirm_high_rate=True, wait_for_later=False
                ),
                clock=sb.clock,
            )

    asyncio.run(run())


def test_sandbox_customers_click_and_the_funnel_counts_them(world):
    data, store, sb, link = world
    audience = data.customers.copy()
    audience["arm"] = ["A" if i % 2 else "B" for i in range(len(audience))]
    spec = {
        arm: MessageSpec(
            template={"*": TEMPLATE}, params={"first_name": Param("first_name")}, links={"link": f"{SHOP}?v={arm}"}
        )
        for arm in ("A", "B")
    }
    report = dry_run(
        audience,
        spec,
        now=START,
        store=store,
        schedule="now",
        policy=Policy(daily_limit=None, include_inactive=True),
        link_base_url=link.link_base_url,
    )
    cid = create_campaign(store, report.plan, name="Herbst Sale", now=START)
    send(store, sb, cid)
    sb.advance(2 * 86_400)  # reads at ~30 min, clicks up to 15 min after
    sb.wait_idle(30)
    wait_for(
        lambda: (
            store.query("SELECT COUNT(*) FROM sends WHERE campaign_id = ? AND state = 'read'", (cid,))[0][0]
            >= sb.counters().get("link_clicks", 0)
            > 0
        )
    )

    counters = sb.counters()
    clicks = store.query("SELECT agent, COUNT(*) FROM link_clicks GROUP BY agent")
    by_agent = {agent: n for agent, n in clicks}
    assert by_agent.get("mobile", 0) == counters["link_clicks"] == counters["link_person_redirected"] > 0
    assert by_agent["preview"] == counters["link_preview_redirected"] > 0  # WhatsApp's preview fetch
    assert by_agent["preview"] >= by_agent["mobile"] and set(by_agent) == {"mobile", "preview"}

    per_send = clicks_per_send(store, cid)
    read = {
        r[0] for r in store.query("SELECT customer_id FROM sends WHERE campaign_id = ? AND read_at IS NOT NULL", (cid,))
    }
    assert set(per_send["customer_id"]) <= read and len(per_send) == counters["link_clicks"]

    variants = {tuple(r) for r in store.query("SELECT DISTINCT destination, utm_content FROM links")}
    assert variants == {(f"{SHOP}?v=A", "A"), (f"{SHOP}?v=B", "B")}
    summary = click_summary(store, cid).set_index("variant")
    assert set(summary.index) == {"A", "B"} and summary["machine_requests"].sum() == by_agent["preview"]
    assert summary["clicking_sends"].sum() == len(per_send)

    ledger = load_ledger(store)
    metrics = compute_metrics(ledger, pd.Timestamp(sb.clock.now(), unit="s", tz="UTC"))
    row = metrics.by_campaign.set_index("campaign_id").loc[cid]
    assert row["clicked"] == len(per_send) and row["read"] >= row["clicked"]
    assert row["click_rate"] == pytest.approx(row["clicked"] / row["delivered"])
    assert row["click_to_read_rate"] == pytest.approx(row["clicked"] / row["read"])
    stages = metrics.stages.set_index("stage")["count"]
    assert list(stages.index).index("clicked") == list(stages.index).index("read") + 1
    per_variant = funnel(metrics.enriched, ("campaign_id", "arm")).set_index("arm")
    assert per_variant["clicked"].sum() == len(per_send)
    for arm in ("A", "B"):
        assert per_variant.loc[arm, "clicked"] == summary.loc[arm, "clicking_sends"]

    interactions = read_customer_data(store).interactions
    assert (interactions["kind"] == "click").sum() >= len(per_send)


def test_the_sandbox_never_follows_links_off_this_machine(world):
    data, store, sb, _ = world
    sb.params.click_given_read = 1.0
    spec = MessageSpec(template={"*": TEMPLATE}, params={"first_name": Param("first_name")}, links={"link": SHOP})
    report = dry_run(
        data.customers.head(30),
        spec,
        now=START,
        store=store,
        schedule="now",
        policy=Policy(daily_limit=None, include_inactive=True),
        link_base_url="https://go.shop.example",
    )
    cid = create_campaign(store, report.plan, name="extern", now=START)
    send(store, sb, cid)
    sb.advance(86_400)
    counters = sb.counters()
    assert counters["link_clicks"] > 0 and counters["link_person_not_followed"] == counters["link_clicks"]
    assert counters["link_preview_not_followed"] > 0
    assert not any(k.endswith(("_requests", "_redirected", "_failed")) for k in counters if k.startswith("link_"))
    assert store.query("SELECT COUNT(*) FROM link_clicks")[0][0] == 0
