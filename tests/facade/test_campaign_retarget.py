"""Retargeting through the facade on the real sandbox: a campaign is sent, the sandbox's customers
read, reply and buy, and ``campaign.retarget(state)`` gives exactly the recipients the ledger
rows put in that state; the segment feeds the next campaign's dry run."""

from __future__ import annotations

import pandas as pd
import pytest

from wamkt_nb import Workspace
from wamkt_nb.compliance import Policy
from wamkt_nb.data.sample import default_now
from wamkt_nb.segments import describe, load_segment
from wamkt_nb.settings import Settings

DAYTIME = default_now().normalize() + pd.Timedelta(hours=14)


def expected(store, state: str, within_days: float | None, now: float) -> list[str]:
    """Straight from the ledger rows, one send at a time (the sample sends each customer one message)."""
    sends = store.read_frame(
        "SELECT customer_id, phone, state, error_code, sent_at, accepted_at, delivered_at,"
        " read_at, planned_at FROM sends WHERE campaign_id = 'spring-sale'"
    )
    inbound = store.read_frame("SELECT phone, timestamp FROM inbound_messages")
    out = []
    for row in sends.itertuples():
        if row.state not in ("accepted", "sent", "delivered", "read", "failed", "unknown"):
            continue
        at = next(t for t in (row.sent_at, row.accepted_at, row.delivered_at, row.planned_at) if pd.notna(t))
        if within_days is not None and at < now - within_days * 86_400:
            continue
        read = pd.notna(row.read_at) or row.state == "read"  # a read receipt may come without a delivered one
        delivered = pd.notna(row.delivered_at) or row.state in ("delivered", "read")
        since = row.delivered_at if pd.notna(row.delivered_at) else row.read_at
        replied = (
            pd.notna(since)
            and (
                (inbound["phone"] == row.phone)
                & (inbound["timestamp"] >= since)
                & (inbound["timestamp"] <= since + 86_400)
            ).any()
        )
        held = row.state == "failed" and row.error_code == 131049
        facts = {
            "got": row.state in ("accepted", "sent", "delivered", "read"),
            "not_delivered": not delivered,
            "delivered_not_read": delivered and not read,
            "read_no_reply": read and not replied,
            "replied": replied,
            "held_by_meta": held,
            "failed": row.state == "failed" and not held,
        }
        if facts[state]:
            out.append(row.customer_id)
    return sorted(out)


@pytest.mark.slow
def test_retarget_gives_the_recipients_in_each_state_and_feeds_the_next_campaign(tmp_path):
    with Workspace(Settings(sandbox=True), directory=tmp_path, now=DAYTIME, sample_size=200) as ws:
        campaign = ws.campaign(
            ws.segment(), ws.template("rabatt_aktion"), name="spring-sale", params={"discount": "10 %"}
        )
        campaign.dry_run(schedule="now", policy=Policy(daily_limit=None))
        assert campaign.send(pace=200.0, display="text", wait_for_later=False).status == "complete"
        ws.advance(hours=30)
        now = ws.clock.now()
        sizes = {}
        for state in (
            "got",
            "not_delivered",
            "delivered_not_read",
            "read_no_reply",
            "replied",
            "held_by_meta",
            "failed",
        ):
            for days in (None, 1):
                segment = campaign.retarget(state, days, include_inactive=True)
                assert sorted(segment.customers["customer_id"]) == expected(ws.store, state, days, now), (state, days)
                assert not any(c.startswith("engagement:") for c in segment.customers.columns)
            sizes[state] = len(campaign.retarget(state, include_inactive=True))
        assert sizes["got"] > 0 and sizes["read_no_reply"] > 0 and sizes["replied"] > 0  # the sandbox did things
        assert sizes["read_no_reply"] + sizes["replied"] <= sizes["got"]

        segment = campaign.retarget("read_no_reply", save_as="spring no reply")
        assert segment.name == "spring no reply"
        saved = load_segment(ws.store, "spring no reply")
        assert describe(saved.rule) == "read, no reply (spring-sale)"
        assert len(ws.segment("spring no reply")) == len(segment)
        follow_up = ws.campaign(
            segment, ws.template("rabatt_aktion"), name="spring-reminder", params={"discount": "15 %"}
        )
        plan = follow_up.dry_run(schedule="now", policy=Policy(daily_limit=None)).plan
        assert set(plan["customer_id"]) == set(segment.customers["customer_id"])
