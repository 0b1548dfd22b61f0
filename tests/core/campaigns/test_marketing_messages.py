"""Meta's Marketing Messages API end to end: the client's ``send_marketing_message``, the sandbox's
``/marketing_messages`` (marketing templates only, 131055 otherwise, TTL on the template), a campaign
sent through it and the ledger and analytics telling the two APIs apart."""

from __future__ import annotations

import time

import httpx
import pytest
from helpers.plans import make_plan
from helpers.processes import wait_until_async
from helpers.sandboxes import sender_sandbox

from wamkt_nb import ledger
from wamkt_nb.analytics.funnel import enrich, failures, funnel
from wamkt_nb.analytics.load import load_ledger
from wamkt_nb.analytics.snapshot import fingerprint
from wamkt_nb.campaigns.send_api import campaign_api, set_campaign_api
from wamkt_nb.campaigns.sender import CampaignRunner, SendOptions
from wamkt_nb.cli import main
from wamkt_nb.cloudapi import AsyncCloudClient, CloudClient
from wamkt_nb.cloudapi.errors import CloudAPIError
from wamkt_nb.data.sample import generate
from wamkt_nb.graph_versions import CURRENT_VERSION
from wamkt_nb.sandbox import SandboxConfig
from wamkt_nb.store import open_store

DATA = generate(80, seed=5)
GERMAN = DATA.customers[~DATA.customers["phone"].str.startswith("+1")]


@pytest.fixture
def sandbox():
    with sender_sandbox(DATA, config=SandboxConfig(not_on_whatsapp_rate=0, marketing_stopped_rate=0)) as sb:
        yield sb


def promo(phone, first="Anna"):
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": phone,
        "type": "template",
        "template": {
            "name": "rabatt_aktion",
            "language": {"code": "de"},
            "components": [
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "parameter_name": "first_name", "text": first},
                        {"type": "text", "parameter_name": "discount", "text": "10 %"},
                    ],
                }
            ],
        },
    }


def marketing_plan(customers):
    plan = make_plan(customers, category="marketing", template="order_shipped", planned_at=time.time())
    plan["payload"] = [promo(p) for p in plan["phone"]]
    return plan


async def send(store, sandbox, cid):
    async with AsyncCloudClient(sandbox.settings()) as client:
        runner = CampaignRunner(
            store, client, cid, SendOptions(phone_number_ids=(sandbox.phone_number_id,), pace=50, pair_interval=0.1)
        )
        return runner, await runner.run()


async def test_a_campaign_goes_through_marketing_messages_end_to_end(sandbox, receiver, store):
    lite = ledger.create_campaign(store, marketing_plan(GERMAN.head(12)), name="lite", now=time.time())
    set_campaign_api(store, lite, "marketing_messages")
    assert campaign_api(ledger.campaign_info(store, lite)) == "marketing_messages"
    cloud = ledger.create_campaign(store, marketing_plan(GERMAN.iloc[12:20]), name="cloud", now=time.time())
    runner, progress = await send(store, sandbox, lite)
    assert runner.api == "marketing_messages" and progress.status == "complete"
    assert progress.counts["accepted"] == 12
    _, other = await send(store, sandbox, cloud)
    assert other.counts["accepted"] == 8

    sent_by = sandbox.messages_frame().groupby("endpoint").size().to_dict()
    assert sent_by == {"marketing_messages": 12, "messages": 8}  # the sandbox saw each on its endpoint
    rows = store.query("SELECT campaign_id, api, count(*) FROM sends GROUP BY campaign_id, api")
    assert sorted(tuple(r) for r in rows) == sorted([(lite, "marketing_messages", 12), (cloud, "messages", 8)])

    def settled():
        pending = store.query("SELECT count(*) FROM sends WHERE pricing_category IS NULL")[0][0]
        return pending == 0

    await wait_until_async(settled, timeout=30)
    joined = store.dialect.joined("DISTINCT pricing_category")
    categories = dict(store.query(f"SELECT api, {joined} FROM sends GROUP BY api"))
    assert categories == {"marketing_messages": "marketing_lite", "messages": "marketing"}  # as Meta reports them

    data = load_ledger(store)
    table = funnel(enrich(data.sends, data.inbound, data.conversions), by=["api"]).set_index("api")
    assert table.loc["marketing_messages", "accepted"] == 12 and table.loc["messages", "accepted"] == 8
    assert table.loc["marketing_messages", "sent"] == 12
    assert "api" in failures(enrich(data.sends, data.inbound, data.conversions), by=["api"]).columns


def test_a_utility_template_is_refused_with_metas_131055(sandbox):
    order = {
        "messaging_product": "whatsapp",
        "to": GERMAN["phone"].iloc[0],
        "type": "template",
        "template": {
            "name": "order_shipped",
            "language": {"code": "de"},
            "components": [
                {"type": "body", "parameters": [{"type": "text", "text": "A"}, {"type": "text", "text": "#1"}]}
            ],
        },
    }
    with httpx.Client(
        base_url=f"{sandbox.base_url}/{CURRENT_VERSION}/{sandbox.phone_number_id}",
        headers={"Authorization": f"Bearer {sandbox.access_token.reveal()}"},
    ) as http:
        answer = http.post("/marketing_messages", json=order)
        assert answer.status_code == 400
        error = answer.json()["error"]
        assert (error["code"], error["message"]) == (131055, "(#131055) Method not allowed")
        assert error["error_data"]["details"] == "Only marketing template messages are supported"
        text = {"messaging_product": "whatsapp", "to": GERMAN["phone"].iloc[0], "type": "text", "text": {"body": "x"}}
        error = http.post("/marketing_messages", json=text).json()["error"]
        assert error["code"] == 100 and error["error_data"]["details"] == "Message must be a template message."
        bad = http.post("/marketing_messages", json={**promo(GERMAN["phone"].iloc[0]), "product_policy": "SOMETIMES"})
        assert bad.status_code == 400 and bad.json()["error"]["code"] == 100
        ok = http.post(
            "/marketing_messages",
            json={**promo(GERMAN["phone"].iloc[1]), "product_policy": "STRICT", "message_activity_sharing": False},
        )
        assert ok.status_code == 200 and set(ok.json()) == {"messaging_product", "contacts", "messages"}
        assert http.post("/messages", json=order).status_code == 200  # the same template is fine on /messages
    with CloudClient(sandbox.settings()) as client:
        with pytest.raises(CloudAPIError) as caught:
            client.send_marketing_message(sandbox.phone_number_id, order)
        assert caught.value.code == 131055
        result = client.send_marketing_message(
            sandbox.phone_number_id,
            promo(GERMAN["phone"].iloc[2]),
            product_policy="CLOUD_API_FALLBACK",
            message_activity_sharing=True,
        )
        assert result.wamid.startswith("wamid.")
        with pytest.raises(ValueError, match="product_policy"):
            client.send_marketing_message(sandbox.phone_number_id, promo(GERMAN["phone"].iloc[3]), product_policy="x")


def test_only_marketing_campaigns_may_choose_the_marketing_messages_api(store):
    cid = ledger.create_campaign(store, make_plan(3, template="order_shipped"), name="u", now=time.time())
    with pytest.raises(ValueError, match="marketing templates only"):
        set_campaign_api(store, cid, "marketing_messages")
    with pytest.raises(ValueError, match="api must be one of"):
        set_campaign_api(store, cid, "graph")
    assert campaign_api(ledger.campaign_info(store, cid)) == "messages"


def test_template_ttl_is_accepted_and_validated(sandbox):
    with httpx.Client(
        base_url=f"{sandbox.base_url}/{CURRENT_VERSION}/{sandbox.waba_id}",
        headers={"Authorization": f"Bearer {sandbox.access_token.reveal()}"},
    ) as http:
        body = {
            "name": "flash_sale",
            "language": "de",
            "category": "MARKETING",
            "components": [{"type": "BODY", "text": "Nur heute: 20 % auf alles."}],
        }
        short = http.post("/message_templates", json={**body, "message_send_ttl_seconds": 3_600})
        assert short.status_code == 400 and "43200 to 2592000" in short.json()["error"]["message"]
        made = http.post("/message_templates", json={**body, "message_send_ttl_seconds": 86_400})
        assert made.status_code == 200
        utility = {**body, "name": "paket_da", "category": "UTILITY", "message_send_ttl_seconds": 50_000}
        assert http.post("/message_templates", json=utility).status_code == 400
        template_id = made.json()["id"]
    with httpx.Client(
        base_url=f"{sandbox.base_url}/{CURRENT_VERSION}",
        headers={"Authorization": f"Bearer {sandbox.access_token.reveal()}"},
    ) as http:
        fields = http.get(f"/{template_id}", params={"fields": "name,message_send_ttl_seconds"}).json()
    assert fields["message_send_ttl_seconds"] == 86_400


def test_wamkt_send_api_option(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("WAMKT_WORKSPACE", str(tmp_path))
    for name in ("WAMKT_ACCESS_TOKEN", "WAMKT_DB_PATH", "WAMKT_CONFIG", "WAMKT_PHONE_NUMBER_IDS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    people = generate(2_000, seed=42).customers  # the workspace's fallback sample: the sandbox knows them
    people = people[~people["phone"].str.startswith("+1")].head(10)
    (tmp_path / "promo.json").write_text(marketing_plan(people).to_json(orient="records", date_format="iso"))
    db = tmp_path / "w.db"
    code = main(
        [
            "send",
            "promo",
            "--sandbox",
            "--plan",
            str(tmp_path / "promo.json"),
            "--db",
            str(db),
            "--pace",
            "40",
            "--api",
            "marketing_messages",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "through /marketing_messages" in out and "[complete] 10/10 final" in out
    with open_store(db) as store:
        assert store.query("SELECT DISTINCT api FROM sends")[0][0] == "marketing_messages"
        assert campaign_api(ledger.campaign_info(store, "promo")) == "marketing_messages"
    (tmp_path / "order.json").write_text(
        make_plan(people.head(2), template="order_shipped", planned_at=time.time()).to_json(
            orient="records", date_format="iso"
        )
    )
    assert (
        main(
            [
                "send",
                "order",
                "--sandbox",
                "--plan",
                str(tmp_path / "order.json"),
                "--db",
                str(db),
                "--api",
                "marketing_messages",
            ]
        )
        == 2
    )
    assert "marketing templates only" in capsys.readouterr().err


def test_a_ledger_snapshot_from_before_a_new_sends_column_is_rebuilt(tmp_path):
    with open_store(tmp_path / "s.db") as store:
        ledger.create_campaign(store, marketing_plan(GERMAN.head(3)), name="s", now=time.time())
        data = load_ledger(store, snapshot=True)  # writes the snapshot
        assert "api" in data.sends.columns
        before = fingerprint(store)
        store.execute("ALTER TABLE sends ADD COLUMN probe TEXT")  # what a later migration does
        assert fingerprint(store) != before
