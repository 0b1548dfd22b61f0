"""The ledger side of the 131049 retry on SQLite and PostgreSQL: a synchronous hold schedules it
like a webhook one, a due held row goes back to ``planned`` exactly once with its old wamid kept
apart, statuses of that old wamid never move the row again, and a cancelled campaign is left alone."""

from __future__ import annotations

import pytest
from helpers.held import DAY, HOLD, START, add_campaign, post
from helpers.webhook_payloads import APP_SECRET, VERIFY_TOKEN, status

from wamkt_nb import ledger
from wamkt_nb.clock import ManualClock
from wamkt_nb.ledger import control
from wamkt_nb.webhooks import WebhookReceiver

pytestmark = pytest.mark.both_stores


def row(store, key):
    return dict(
        store.query(
            "SELECT state, wamid, retried_wamid, retry_after, planned_at, error_code FROM sends"
            " WHERE recipient_key = ?",
            (key,),
        )[0]
    )


def test_a_synchronous_hold_schedules_the_retry_like_a_webhook_one(store):
    add_campaign(store, "opt", [(None, "+4915100000001")])
    ledger.set_held_retry(store, "opt")
    send_id = store.query("SELECT send_id FROM sends WHERE recipient_key = 'opt:0'")[0][0]
    with store.transaction() as conn:
        conn.execute("UPDATE sends SET state = 'in_flight' WHERE send_id = ?", (send_id,))
    ledger.record_outcomes(store, [ledger.Outcome(send_id, 1, "failed", START, error_code=131049, error_title="held")])
    assert row(store, "opt:0")["retry_after"] == START + DAY


def test_a_due_held_row_is_requeued_once_and_statuses_of_its_held_attempt_never_move_it(store):
    receiver = WebhookReceiver(store, APP_SECRET, VERIFY_TOKEN, clock=ManualClock(START))
    add_campaign(store, "opt", [("w.a", "+4915100000001")])
    add_campaign(store, "gone", [("w.g", "+4915100000002")])
    for campaign_id in ("opt", "gone"):
        ledger.set_held_retry(store, campaign_id)
        ledger.set_campaign_status(store, campaign_id, "complete", START)
    for wamid, key in (("w.a", "opt:0"), ("w.g", "gone:0")):
        post(receiver, status(wamid, "failed", ts=START + 60, callback=key, errors=HOLD))
    ledger.set_campaign_status(store, "gone", "cancelled", START + 61)

    assert ledger.requeue_due_held(store, START + 60 + DAY - 1) == []  # not before 24 h
    assert ledger.requeue_due_held(store, START + 60 + DAY) == ["opt"]
    assert row(store, "opt:0") == {
        "state": "planned",
        "wamid": None,
        "retried_wamid": "w.a",
        "retry_after": START + 60 + DAY,
        "planned_at": START + 60 + DAY,
        "error_code": None,
    }
    assert row(store, "gone:0")["state"] == "failed"  # a cancelled campaign is never retried
    assert control.next_due_at(store, "opt") == START + 60 + DAY
    assert [r.campaign_id for r in control.open_requests(store)] == ["opt"]  # the worker will send it

    post(receiver, status("w.a", "failed", ts=START + 2 * DAY, callback="opt:0", errors=HOLD))  # late duplicate
    post(receiver, status("w.a", "delivered", ts=START + 2 * DAY, callback="opt:0"))
    assert ledger.reconcile_sends(store) == 0
    assert row(store, "opt:0")["state"] == "planned"

    with store.transaction() as conn:  # the retry is sent and held again: final, no second retry
        conn.execute("UPDATE sends SET state = 'accepted', wamid = 'w.a2' WHERE recipient_key = 'opt:0'")
    post(receiver, status("w.a2", "failed", ts=START + 2 * DAY, callback="opt:0", errors=HOLD))
    assert row(store, "opt:0")["state"] == "failed"
    assert ledger.requeue_due_held(store, START + 10 * DAY) == []
    assert ledger.due_held_retries(store, START + 10 * DAY).empty


def test_a_held_retry_of_a_campaign_sent_in_process_goes_to_the_worker_at_its_pace(store):
    """A run in process kept the campaign's pace under the request ``none`` (no worker acts on it);
    when its held row comes due the request becomes ``run`` with that pace, while a campaign a person
    paused stays paused."""
    receiver = WebhookReceiver(store, APP_SECRET, VERIFY_TOKEN, clock=ManualClock(START))
    for campaign_id, wamid, phone in (("local", "w.l", "+4915100000001"), ("held", "w.h", "+4915100000002")):
        add_campaign(store, campaign_id, [(wamid, phone)])
        ledger.set_held_retry(store, campaign_id)
    control.record_options(store, "local", {"pace": 12}, START)
    control.submit(store, "held", {"pace": 3}, START)
    control.request(store, "held", "pause", START + 1)
    for campaign_id, wamid in (("local", "w.l"), ("held", "w.h")):
        ledger.set_campaign_status(store, campaign_id, "complete", START)
        post(receiver, status(wamid, "failed", ts=START + 60, callback=f"{campaign_id}:0", errors=HOLD))
    with pytest.raises(ledger.LedgerError, match="not submitted"):
        control.request(store, "local", "pause", START + 2)
    assert control.requested(store, "local") is None and control.open_requests(store) == []

    assert ledger.requeue_due_held(store, START + 60 + DAY) == ["held", "local"]
    assert control.requested(store, "local") == "run" and control.options_of(store, "local") == {"pace": 12}
    assert control.requested(store, "held") == "pause" and control.options_of(store, "held") == {"pace": 3}
