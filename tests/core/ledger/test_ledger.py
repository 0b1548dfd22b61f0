"""The send ledger: rows before requests, forward-only transitions, crash recovery, reconciliation."""

import json
import subprocess
import sys

import orjson
import pandas as pd
import pytest
from helpers.plans import NOW, make_plan

from wamkt_nb import ledger
from wamkt_nb.compliance import explain
from wamkt_nb.ledger import LedgerError, Outcome, control
from wamkt_nb.store import open_store
from wamkt_nb.store.migrations import apply_migrations

pytestmark = pytest.mark.both_stores


def test_create_writes_every_row_before_sending(store):
    cid = ledger.create_campaign(store, make_plan(5, excluded=2), name="Spring", now=NOW, campaign_id="cmp1")
    counts = ledger.state_counts(store, cid)
    assert counts["planned"] == 3 and counts["excluded"] == 2
    row = store.query("SELECT * FROM sends WHERE customer_id = 'c4'")[0]
    payload = orjson.loads(row["payload_json"])
    assert payload["biz_opaque_callback_data"] == "cmp1:c4" == row["recipient_key"]
    assert row["planned_at"] == NOW and row["attempts"] == 0
    assert store.query("SELECT reason FROM sends WHERE customer_id = 'c0'")[0][0] == "opted_out"
    assert ledger.campaign_info(store, cid)["status"] == "planned"
    assert [r.customer_id for r in ledger.planned_sends(store, cid)] == ["c2", "c3", "c4"]


def test_bad_plans_are_refused_with_the_row(store):
    plan = make_plan(3)
    with pytest.raises(LedgerError, match="lacks column"):
        ledger.create_campaign(store, plan.drop(columns=["payload"]), name="x", now=NOW)
    bad = plan.copy()
    bad.loc[1, "phone"] = "0151 123"
    with pytest.raises(LedgerError, match="row 1: phone of customer 'c1'"):
        ledger.create_campaign(store, bad, name="x", now=NOW)
    dup = pd.concat([plan, plan.iloc[[0]]], ignore_index=True)
    with pytest.raises(LedgerError, match="more than once: c0"):
        ledger.create_campaign(store, dup, name="x", now=NOW)
    mixed = plan.copy()
    mixed.loc[0, "category"] = "marketing"
    with pytest.raises(LedgerError, match="one category"):
        ledger.create_campaign(store, mixed, name="x", now=NOW)
    ledger.create_campaign(store, plan, name="x", now=NOW, campaign_id="same")
    with pytest.raises(LedgerError, match="already exists"):
        ledger.create_campaign(store, plan, name="x", now=NOW, campaign_id="same")
    with pytest.raises(LedgerError, match="no campaign 'nope'"):
        ledger.campaign_info(store, "nope")


def test_holdout_arm_receives_nothing(store):
    plan = make_plan(2)
    plan.loc[0, "arm"] = "holdout"
    ledger.create_campaign(store, plan, name="ab", now=NOW)
    assert store.query("SELECT state, reason FROM sends WHERE customer_id='c0'")[0][:] == ("excluded", "holdout")


def test_attempts_and_outcomes_move_rows(store):
    cid = ledger.create_campaign(store, make_plan(4), name="x", now=NOW)
    rows = ledger.planned_sends(store, cid)
    ledger.claim(store, [(r.send_id, 1, "pn1") for r in rows], NOW + 1)
    assert ledger.state_counts(store, cid)["in_flight"] == 4
    a, b, c, d = rows
    ledger.record_outcomes(
        store,
        [
            Outcome(a.send_id, 1, "accepted", NOW + 2, wamid="wamid.A", http_status=200),
            Outcome(b.send_id, 1, "retry", NOW + 2, error_code=131000, error_title="Something went wrong"),
            Outcome(c.send_id, 1, "failed", NOW + 2, error_code=132001, error_title="no template"),
            Outcome(d.send_id, 1, "unknown", NOW + 2),
        ],
    )
    states = dict(store.query("SELECT customer_id, state FROM sends"))
    assert states == {"c0": "accepted", "c1": "planned", "c2": "failed", "c3": "unknown"}
    assert store.query("SELECT wamid, attempts, phone_number_id FROM sends WHERE customer_id='c0'")[0][:] == (
        "wamid.A",
        1,
        "pn1",
    )
    outcomes = dict(store.query("SELECT send_id, outcome FROM attempts"))
    assert outcomes == {a.send_id: "accepted", b.send_id: "error", c.send_id: "error", d.send_id: "timeout"}
    frame = ledger.error_breakdown(store, cid)
    assert set(frame["code"].dropna().astype(int)) == {131000, 132001}
    assert "Template does not exist" in frame.set_index("code").loc[132001, "meaning"]


def test_accepted_never_moves_a_row_backwards(store):
    """A webhook may move the row to delivered before the HTTP answer is written."""
    cid = ledger.create_campaign(store, make_plan(1), name="x", now=NOW)
    (row,) = ledger.planned_sends(store, cid)
    ledger.claim(store, [(row.send_id, 1, "pn1")], NOW)
    store.execute("UPDATE sends SET state = 'delivered', wamid = 'wamid.W' WHERE send_id = ?", (row.send_id,))
    ledger.record_outcomes(store, [Outcome(row.send_id, 1, "accepted", NOW, wamid="wamid.W")])
    assert store.query("SELECT state FROM sends")[0][0] == "delivered"


def test_crash_recovery_and_reconciliation_from_status_events(store):
    cid = ledger.create_campaign(store, make_plan(3), name="x", now=NOW, campaign_id="k")
    rows = ledger.planned_sends(store, cid)
    ledger.claim(store, [(r.send_id, 1, "pn1") for r in rows], NOW)
    # the process dies here: all three are in flight
    assert ledger.recover_in_flight(store, cid, NOW + 5) == 3
    assert {r[0] for r in store.query("SELECT outcome FROM attempts")} == {"lost"}
    # webhooks arrived for two of them (found by callback data; the wamid was never recorded)
    for key, wamid, status in [("k:c0", "wamid.0", "delivered"), ("k:c1", "wamid.1", "sent")]:
        store.execute(
            "INSERT INTO status_events (wamid, status, timestamp, callback_data, payload_json, received_at)"
            " VALUES (?, ?, ?, ?, '{}', ?)",
            (wamid, status, NOW + 3, key, NOW + 3),
        )
    assert ledger.reconcile_unknown(store, cid, NOW + 6) == 2
    states = dict(store.query("SELECT customer_id, state FROM sends"))
    assert states == {"c0": "delivered", "c1": "sent", "c2": "unknown"}
    assert store.query("SELECT wamid FROM sends WHERE customer_id='c0'")[0][0] == "wamid.0"
    ((sid, started),) = ledger.unknown_sends(store, cid)
    assert started == NOW
    assert ledger.requeue(store, [sid], NOW + 70) == 1
    (again,) = ledger.planned_sends(store, cid)
    assert again.attempts == 1 and again.customer_id == "c2"
    ledger.claim(store, [(again.send_id, 2, "pn1")], NOW + 71)
    ledger.record_outcomes(store, [Outcome(again.send_id, 2, "accepted", NOW + 72, wamid="wamid.2")])
    assert ledger.resend_report(store, cid) == {"resent_after_unknown": 1, "confirmed_duplicates": 0}


def test_cancel_and_campaign_status(store):
    cid = ledger.create_campaign(store, make_plan(3), name="x", now=NOW)
    ledger.set_campaign_status(store, cid, "running", NOW + 1)
    assert ledger.cancel_open(store, cid, NOW + 2) == 3
    ledger.set_campaign_status(store, cid, "cancelled", NOW + 3)
    info = ledger.campaign_info(store, cid)
    assert (info["status"], info["started_at"], info["finished_at"]) == ("cancelled", NOW + 1, NOW + 3)


def test_a_campaign_is_sent_from_a_number_by_one_process_at_a_time(store, tmp_path):
    ledger.acquire_lease(store, "c1", ["pn1"])
    ledger.acquire_lease(store, "c1", ["pn1"])  # the same process may take it again
    assert ledger.held_elsewhere(store, "c1") == set()

    def other(numbers: list[str]) -> subprocess.CompletedProcess:
        return subprocess.run(
            [
                sys.executable,
                "-c",
                (
                    "import sys, json; from wamkt_nb.store import open_store; from wamkt_nb import ledger\n"
                    "try:\n    ledger.acquire_lease(open_store(sys.argv[1]), 'c1', json.loads(sys.argv[2]))\n"
                    "except ledger.LedgerError as e:\n    print(e); sys.exit(3)"
                ),
                store.target,
                json.dumps(numbers),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )

    refused = other(["pn2", "pn1"])
    assert refused.returncode == 3 and "is being sent from number pn1 by another process" in refused.stdout
    assert store.query("SELECT phone_number_id FROM send_leases")[0][0] == "pn1"  # all or none: pn2 not taken
    assert other(["pn2"]).returncode == 0  # another number of the same campaign is free
    # a lease whose process is gone is taken over at once
    assert ledger.held_elsewhere(store, "c1") == set()  # that process has exited
    store.execute("UPDATE send_leases SET pid = 999999999 WHERE campaign_id = 'c1' AND phone_number_id = 'pn1'")
    assert other(["pn1"]).returncode == 0
    ledger.release_lease(store, "c1", ["pn1"])  # not ours any more: nothing happens
    assert store.query("SELECT count(*) FROM send_leases")[0][0] == 2


def test_rows_are_pinned_to_the_numbers_evenly_and_once(store):
    cid = ledger.create_campaign(store, make_plan(9), name="x", now=NOW)
    assert ledger.pin_numbers(store, cid, ["pn-b", "pn-a"]) == 9
    assert ledger.pin_numbers(store, cid, ["pn-c"]) == 0  # pinned rows stay pinned
    counts = dict(store.query("SELECT phone_number_id, count(*) FROM sends GROUP BY 1"))
    assert set(counts) == {"pn-a", "pn-b"} and abs(counts["pn-a"] - counts["pn-b"]) == 1
    assert {r.phone_number_id for r in ledger.planned_sends(store, cid, numbers=["pn-a"])} == {"pn-a"}
    assert ledger.open_rows(store, cid, ["pn-a"])["planned"] == counts["pn-a"]
    assert control.next_due_at(store, cid, ["pn-c"]) is None and control.next_due_at(store, cid, ["pn-a"]) == NOW


def test_claim_skips_rows_that_are_no_longer_planned(store):
    cid = ledger.create_campaign(store, make_plan(3), name="x", now=NOW)
    rows = ledger.planned_sends(store, cid)
    store.execute("UPDATE sends SET state = 'cancelled' WHERE send_id = ?", (rows[1].send_id,))
    claimed = ledger.claim(store, [(r.send_id, 1, "pn1") for r in rows], NOW)
    assert sorted(claimed) == [rows[0].send_id, rows[2].send_id]
    assert store.query("SELECT count(*) FROM attempts")[0][0] == 2


def test_old_rows_with_the_senders_former_reason_code_are_migrated(tmp_path):
    path = tmp_path / "old.db"
    with open_store(path) as s:
        cid = ledger.create_campaign(s, make_plan(2, category="marketing"), name="o", now=1.0e9)
        s.execute("UPDATE sends SET state = 'excluded', reason = 'marketing_24h' WHERE campaign_id = ?", (cid,))
        s.execute("DELETE FROM schema_migrations WHERE component = 'campaigns' AND version = 2")
        apply_migrations(s.conn)
        reasons = {r[0] for r in s.query("SELECT reason FROM sends")}
    assert reasons == {"marketing_cap_24h"}
    assert "24 h" in explain("marketing_cap_24h")
