"""A limited-time offer with a copy-code coupon and a tracked URL button through the real sandbox:
the template passes the sandbox's review over HTTP, the dry run gives every recipient their own
token as the button's suffix, the sandbox's readers follow the button over HTTP (Meta reports no
URL taps: our redirect counts them) and copy the code (counted by the sandbox only)."""

from __future__ import annotations

import asyncio
import time

import pandas as pd

from wamkt_nb.campaigns.dryrun import dry_run
from wamkt_nb.campaigns.sender import SendOptions, send_campaign
from wamkt_nb.clock import ManualClock
from wamkt_nb.cloudapi import AsyncCloudClient, CloudClient
from wamkt_nb.compliance import Policy
from wamkt_nb.data.sample import generate
from wamkt_nb.data.stored import write_customer_data
from wamkt_nb.ledger import create_campaign
from wamkt_nb.links import clicks_per_send
from wamkt_nb.links.urls import TOKEN
from wamkt_nb.messages import Button, MessageSpec, Param, template_from_text
from wamkt_nb.messages.templates import Card, LimitedTimeOffer
from wamkt_nb.sandbox import BehaviourParams, Sandbox
from wamkt_nb.serving.wiring import connect_sandbox
from wamkt_nb.store import open_store

START = 1_760_000_000.0  # 2025-10-09 08:53 UTC: daytime in Berlin
SHOP = "https://shop.example.com/herbst"


def wait_for(condition, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_readers_follow_the_tracked_url_button_and_copy_the_code(tmp_path):
    data = generate(120, seed=7, now="2025-10-09")
    store = open_store(tmp_path / "w.db")
    write_customer_data(store, data)
    sb = Sandbox(
        customers=data, clock=ManualClock(START), params=BehaviourParams(click_given_read=0.6, copy_code_given_read=0.5)
    )
    sb.start()
    sb.configure(pair_interval=0.0, messaging_tier="TIER_UNLIMITED")
    link = connect_sandbox(sb, store)
    try:
        base = link.link_base_url
        offer = template_from_text(
            "herbst_angebot",
            "de",
            "marketing",
            "Hallo {{1}}, 25 % auf die Herbstkollektion mit deinem Code.",
            examples={"1": "Anna"},
            offer=LimitedTimeOffer("Nur 48 Stunden!", has_expiration=True),
            buttons=[
                Button("COPY_CODE", example="HERBST25"),
                Button("URL", "Zum Angebot", url=base + "/l/{{1}}", example=base + "/l/abcdefgh1234"),
            ],
        )
        with CloudClient(sb.settings()) as client:
            client.create_template(sb.waba_id, offer.name, "de", "MARKETING", offer.to_api())
        sb.advance(sb.config.template_review_seconds + 1)

        spec = MessageSpec(
            template=offer,
            params={"1": Param("first_name", fallback="du")},
            button_suffixes={1: SHOP},
            coupon_code="HERBST25",
            offer_expires_at=pd.Timestamp(START + 2 * 86_400, unit="s", tz="UTC"),
        )
        report = dry_run(
            data.customers,
            spec,
            now=sb.clock.now(),
            store=store,
            schedule="now",
            policy=Policy(daily_limit=None, include_inactive=True),
            tracked_links=True,
            link_base_url=base,
        )
        planned = report.plan[report.plan["outcome"] != "excluded"]
        suffixes = [
            c["parameters"][0]["text"]
            for p in planned["payload"]
            for c in p["template"]["components"]
            if c.get("sub_type") == "url"
        ]
        assert len(suffixes) == len(set(suffixes)) == len(planned) and all(TOKEN.match(s) for s in suffixes)
        cid = create_campaign(store, report.plan, name="Herbst Angebot", now=sb.clock.now())

        async def run():
            async with AsyncCloudClient(sb.settings()) as client:
                options = SendOptions(
                    phone_number_ids=(sb.phone_number_id,), pace="max", confirm_high_rate=True, wait_for_later=False
                )
                await send_campaign(store, client, cid, options, clock=sb.clock)

        asyncio.run(run())
        sb.advance(2 * 86_400)
        sb.wait_idle(30)
        wait_for(lambda: sb.counters().get("link_person_redirected", 0) == sb.counters().get("link_clicks", 0) > 0)

        counters = sb.counters()
        by_agent = dict(store.query("SELECT agent, COUNT(*) FROM link_clicks GROUP BY agent"))
        assert by_agent == {"mobile": counters["link_clicks"]}  # no preview fetch for a button's address
        assert {r[0] for r in store.query("SELECT DISTINCT destination FROM links")} == {SHOP}
        read = {
            r[0]
            for r in store.query("SELECT customer_id FROM sends WHERE campaign_id = ? AND read_at IS NOT NULL", (cid,))
        }
        assert set(clicks_per_send(store, cid)["customer_id"]) <= read
        copied = [m for m in sb.engine.messages.values() if "coupon_copied_at" in m]
        assert counters["coupon_copies"] == len(copied) > 0
        assert all(m.get("read_at") is not None for m in copied)  # only readers copy the code
    finally:
        link.close()
        sb.stop()
        store.close()


def test_carousel_card_buttons_get_their_own_tracked_links(tmp_path):
    base = "https://go.shop.example"
    cards = [
        Card(
            "IMAGE",
            f"https://cdn.example.com/{i}.jpg",
            buttons=(Button("URL", "Ansehen", url=base + "/l/{{1}}", example=base + "/l/abcdefgh1234"),),
        )
        for i in range(2)
    ]
    carousel = template_from_text("neuheiten", "de", "marketing", "Unsere Neuheiten:", cards=cards)
    spec = MessageSpec(template=carousel, card_suffixes=[{0: f"{SHOP}/schuhe"}, {0: f"{SHOP}/jacken"}])
    customers = generate(6, seed=3, now="2025-10-09").customers.assign(opted_in=True)
    with open_store(tmp_path / "w.db") as store:
        report = dry_run(
            customers,
            spec,
            now=START,
            store=store,
            schedule="now",
            policy=Policy(daily_limit=None, include_inactive=True),
            tracked_links=True,
            link_base_url=base,
        )
    planned = report.plan[report.plan["outcome"] != "excluded"]
    assert len(planned)
    for payload, links in zip(planned["payload"], planned["links"], strict=True):
        by_url = {url: token for token, url in links}
        assert set(by_url) == {f"{SHOP}/schuhe", f"{SHOP}/jacken"}
        carousel_cards = payload["template"]["components"][0]["cards"]
        suffixes = [c["components"][1]["parameters"][0]["text"] for c in carousel_cards]
        assert suffixes == [by_url[f"{SHOP}/schuhe"], by_url[f"{SHOP}/jacken"]]
