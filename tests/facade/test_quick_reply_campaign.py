"""End to end: a quick-reply template goes through Meta's review in the sandbox, a campaign sends it
with payloads per button, the sandbox's customers tap, the taps arrive as webhooks at our receiver
and are recorded with their payload, and per-button analytics count them per campaign. Real SQLite,
real HTTP on 127.0.0.1, the real sandbox."""

from __future__ import annotations

import json

import pandas as pd

from wamkt_nb import Workspace
from wamkt_nb.analytics import button_taps
from wamkt_nb.compliance import Policy
from wamkt_nb.data.sample import default_now
from wamkt_nb.messages import Button, MessageSpec, template_from_text
from wamkt_nb.sandbox import SandboxConfig
from wamkt_nb.settings import Settings
from wamkt_nb.widgets.analytics import button_taps_html

DAYTIME = default_now().normalize() + pd.Timedelta(hours=14)
PAYLOADS = {0: "MORE_SHOES", 1: "MORE_JACKETS", 2: "STOP"}
POLL = template_from_text(
    "was_interessiert_dich",
    "de",
    "marketing",
    "Hallo! Was dürfen wir dir als Nächstes zeigen?",
    buttons=[Button("QUICK_REPLY", "Schuhe"), Button("QUICK_REPLY", "Jacken"), Button("QUICK_REPLY", "Keine Werbung")],
)


def test_taps_of_a_quick_reply_campaign_are_recorded_and_counted_per_button(tmp_path):
    config = SandboxConfig(throughput_per_second=10_000)
    with Workspace(
        Settings(sandbox=True), directory=tmp_path, now=DAYTIME, sample_size=240, sandbox_config=config
    ) as ws:
        registry = ws.templates
        registry.save_draft(POLL)
        assert registry.submit(POLL.name, "de").status == "PENDING"
        ws.advance(hours=ws.sandbox.config.template_review_seconds / 3600 + 0.01)
        approved = registry.follow(POLL.name, "de", timeout=5, interval=0.05)
        assert approved.status == "APPROVED" and approved.buttons == POLL.buttons

        campaign = ws.campaign(ws.segment(), MessageSpec(template=approved, button_payloads=PAYLOADS), name="poll")
        plan = campaign.dry_run(schedule="now", policy=Policy(daily_limit=None)).plan
        sent_payload = plan.loc[plan["outcome"] != "excluded", "payload"].iloc[0]
        assert [c["parameters"][0]["payload"] for c in sent_payload["template"]["components"]] == list(
            PAYLOADS.values()
        )
        assert campaign.send(pace=200.0, display="text", wait_for_later=False).status == "complete"
        ws.advance(hours=30)
        ws.settle()

        wamids = {
            r[0] for r in ws.store.query("SELECT wamid FROM sends WHERE campaign_id = 'poll' AND wamid IS NOT NULL")
        }
        emitted = [
            m["button"]
            for b in ws.sandbox.emitted()
            for c in b["payload"]["entry"][0]["changes"]
            for m in c["value"].get("messages", [])
            if m.get("type") == "button" and m["context"]["id"] in wamids
        ]
        assert emitted, "the sandbox's customers tapped nothing"
        recorded = ws.store.query(
            "SELECT payload, text, payload_json FROM inbound_messages"
            " WHERE type = 'button' AND context_wamid IS NOT NULL"
        )
        assert sorted((r[0], r[1]) for r in recorded) == sorted((b["payload"], b["text"]) for b in emitted)
        assert all(r[0] == json.loads(r[2])["button"]["payload"] for r in recorded)

        taps = button_taps(ws.store, "poll")
        expected = pd.Series([b["payload"] for b in emitted]).value_counts()
        assert dict(zip(taps["payload"], taps["taps"], strict=True)) == expected.to_dict()
        labels = {p: b.text for p, b in zip(PAYLOADS.values(), POLL.buttons, strict=True)}
        assert all(labels[p] == label for p, label in zip(taps["payload"], taps["button"], strict=True))
        delivered = ws.store.query(
            "SELECT COUNT(*) FROM sends WHERE campaign_id = 'poll' AND state IN ('delivered', 'read')"
        )[0][0]
        assert (taps["tap_rate"] == taps["customers"] / delivered).all() and taps["tap_rate"].sum() <= 1
        assert taps["taps"].is_monotonic_decreasing

        table = button_taps_html(ws.store.target, "poll")
        assert "Button taps per campaign" in table and all(p in table for p in taps["payload"])
        assert "No button taps" in button_taps_html(ws.store.target, "another-campaign")
