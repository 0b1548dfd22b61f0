"""The opt-in retry of messages Meta held back (131049), end to end on the real sandbox: the
sandbox's customers who got another business's marketing message are held, the retry goes out
once no sooner than 24 h later through the 24 h cap, a late duplicate webhook of the held attempt
does not fail it, and a campaign that did not opt in is never retried."""

from __future__ import annotations

import orjson
import pandas as pd
import pytest
from helpers.webhook_payloads import APP_SECRET, VERIFY_TOKEN, signed, status

from wamkt_nb import Workspace, ledger
from wamkt_nb.cloudapi import template_message
from wamkt_nb.compliance import Policy
from wamkt_nb.compliance.reservation import reserve_marketing
from wamkt_nb.data.sample import default_now
from wamkt_nb.settings import Settings
from wamkt_nb.webhooks import WebhookReceiver

DAYTIME = default_now().normalize() + pd.Timedelta(hours=10)
DAY = 86_400.0
HOLD = [{"code": 131049, "title": "This message was not delivered to maintain healthy ecosystem engagement."}]


def another_business_markets(ws, phones):
    """A marketing message from another business: Meta's per-user limit now holds ours back."""
    for phone in phones:
        body = template_message(phone, "rabatt_aktion", "de", body_params={"first_name": "A", "discount": "5 %"})
        assert orjson.loads(ws.sandbox.engine.send(ws.sandbox.phone_number_id, orjson.dumps(body))[1])["messages"]


def rows(ws, name):
    return {
        r["customer_id"]: dict(r)
        for r in ws.store.query(
            "SELECT customer_id, recipient_key, phone, state, error_code, failed_at, wamid, retried_wamid, retry_after,"
            " reason, attempts FROM sends WHERE campaign_id = ?",
            (name,),
        )
    }


def held(ws, name):
    return sorted(c for c, r in rows(ws, name).items() if r["state"] == "failed" and r["error_code"] == 131049)


def send_campaign(ws, name, audience, retry_held, crowd):
    """Plan the campaign, let another business market to ``crowd`` of its planned recipients, send it;
    return the crowded phones."""
    campaign = ws.campaign(audience, ws.template("rabatt_aktion"), name=name, params={"discount": "10 %"})
    campaign.dry_run(schedule="now", policy=Policy(daily_limit=None), retry_held=retry_held)
    crowded = sorted({r["phone"] for r in rows(ws, name).values() if r["state"] == "planned"})[:crowd]
    another_business_markets(ws, crowded)
    assert campaign.send(pace=200.0, display="text", wait_for_later=False).status == "complete"
    return crowded


@pytest.mark.slow
def test_held_messages_of_an_opted_in_campaign_are_retried_once_after_24h_through_the_cap(tmp_path):
    with Workspace(Settings(sandbox=True), directory=tmp_path, now=DAYTIME, sample_size=40) as ws:
        segment = ws.segment()
        customers = segment.customers[~segment.customers["phone"].astype(str).str.startswith("+1")]
        crowded = send_campaign(ws, "opted", customers.head(12), retry_held=True, crowd=4)
        ws.advance(hours=1)
        first = rows(ws, "opted")
        held_ids = held(ws, "opted")
        assert sorted(first[c]["phone"] for c in held_ids) == sorted(crowded)  # the sandbox held exactly those

        for c in held_ids:  # 24 h after Meta's answer; Meta's timestamps are whole seconds while our own
            # send's cap reservation is exact, so the retry may wait up to a second longer for the cap
            assert first[c]["failed_at"] + DAY <= first[c]["retry_after"] < first[c]["failed_at"] + DAY + 1
        ws.advance_to(min(first[c]["retry_after"] for c in held_ids) - 5)
        ws.send_due(pace=200.0)
        assert held(ws, "opted") == held_ids  # not before 24 h
        assert all(r["retried_wamid"] is None for r in rows(ws, "opted").values())

        # the retries wait (no worker ran); meanwhile another campaign of ours reaches one held customer
        ws.advance_to(max(first[c]["retry_after"] for c in held_ids) + 60)
        skipped = held_ids[0]
        assert reserve_marketing(ws.store, first[skipped]["phone"], "other", ws.clock.now())
        ws.send_due(pace=200.0)
        retried = held_ids[1]
        assert rows(ws, "opted")[retried]["state"] == "accepted"
        # a late duplicate 'failed' webhook of the held attempt: recorded, but it does not fail the retry
        receiver = WebhookReceiver(ws.store, APP_SECRET, VERIFY_TOKEN, clock=ws.clock)
        body, headers = signed(
            status(
                first[retried]["wamid"],
                "failed",
                ts=ws.clock.now(),
                callback=first[retried]["recipient_key"],
                errors=HOLD,
            )
        )
        assert receiver.receive(body, headers["X-Hub-Signature-256"]).status == 200
        assert ledger.reconcile_sends(ws.store) == 0  # re-applying every recorded event moves nothing
        assert rows(ws, "opted")[retried]["state"] == "accepted"
        ws.advance(hours=1)
        after = rows(ws, "opted")
        for c in held_ids[1:]:  # retried once: a new wamid, the held one kept apart, delivered this time
            assert after[c]["retried_wamid"] == first[c]["wamid"] != after[c]["wamid"] is not None
            assert after[c]["state"] in ledger.ACCEPTED_STATES and after[c]["error_code"] is None
            assert after[c]["attempts"] == 2
        assert after[skipped]["state"] == "excluded" and after[skipped]["wamid"] is None
        assert after[skipped]["reason"] == "marketing_cap_24h"  # the cap's reason, not a silent drop
        for c in set(after) - set(held_ids):  # the others were never touched again
            assert after[c]["retried_wamid"] is None and after[c]["attempts"] == first[c]["attempts"]

        ws.advance(hours=48)  # exactly once: nothing more is ever due
        ws.send_due(pace=200.0)
        assert all(r["attempts"] <= 2 for r in rows(ws, "opted").values())
        assert ledger.due_held_retries(ws.store, ws.clock.now() + 10 * 86_400).empty


@pytest.mark.slow
def test_held_messages_of_a_campaign_that_did_not_opt_in_are_never_retried(tmp_path):
    with Workspace(Settings(sandbox=True), directory=tmp_path, now=DAYTIME, sample_size=40) as ws:
        segment = ws.segment()
        audience = segment.customers[~segment.customers["phone"].astype(str).str.startswith("+1")].head(12)
        send_campaign(ws, "plain", audience, retry_held=False, crowd=2)
        ws.advance(hours=1)
        held_ids, first = held(ws, "plain"), rows(ws, "plain")
        assert len(held_ids) == 2
        ws.advance(hours=30)
        ws.send_due(pace=200.0)
        assert held(ws, "plain") == held_ids
        assert {c: (r["attempts"], r["retry_after"]) for c, r in rows(ws, "plain").items()} == {
            c: (r["attempts"], None) for c, r in first.items()
        }
