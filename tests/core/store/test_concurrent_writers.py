"""Two processes at once on one database, SQLite and PostgreSQL: the steps that must never be done
twice (the 24 h reservation, claiming a row, taking a campaign's lease) go to exactly one of them,
and a status never moves a row back, whichever process writes first.

Each process waits at a barrier (a file per process in a folder) so both start their work together,
and again before it exits.
"""

from __future__ import annotations

import json
import subprocess
import sys

from helpers.plans import NOW, make_plan

from wamkt_nb import ledger
from wamkt_nb.store import open_store

CHILD = """
import json, pathlib, sys, time
from wamkt_nb import ledger
from wamkt_nb.compliance.reservation import reserve_marketing
from wamkt_nb.ledger.transitions import RecordedStatus
from wamkt_nb.store import open_store

target, job, me, ready, arg, now = *sys.argv[1:6], float(sys.argv[6])


def barrier(step):
    pathlib.Path(ready, f"{step}-{me}").touch()
    while len(list(pathlib.Path(ready).glob(f"{step}-*"))) < 2:
        time.sleep(0.001)


store = open_store(target)
if job == "claim":
    rows = ledger.planned_sends(store, arg)
barrier("start")
if job == "reserve":
    result = [p for p in json.loads(arg) if reserve_marketing(store, p, me, now)]
elif job == "claim":
    result = []
    for i in range(0, len(rows), 5):
        result += ledger.claim(store, [(r.send_id, r.attempts + 1, "pn1") for r in rows[i:i + 5]], now)
elif job == "status":
    status = "read" if me == "a" else "delivered"
    result = []
    for wamid in json.loads(arg):
        with store.transaction() as conn:
            if ledger.apply_status(conn, RecordedStatus(wamid, status, now + 60), now + 60):
                result.append(wamid)
elif job == "lease":
    try:
        ledger.acquire_lease(store, arg, ["pn1", "pn2"])
        result = "won"
    except ledger.LedgerError:
        result = "lost"
barrier("done")  # a lease holder that has exited would be taken over
store.close()
print(json.dumps(result))
"""


def both(target: str, job: str, ready, arg: str) -> dict[str, object]:
    """Run ``job`` in two processes ``a`` and ``b`` at once; their results by name."""
    ready.mkdir()
    procs = {
        me: subprocess.Popen(
            [sys.executable, "-c", CHILD, target, job, me, str(ready), arg, repr(NOW)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for me in ("a", "b")
    }
    results = {}
    for me, proc in procs.items():
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results[me] = json.loads(out)
    return results


def test_two_campaigns_reserving_the_same_phones_each_phone_goes_to_one(store_target, tmp_path):
    phones = [f"+49151{i:07d}" for i in range(150)]
    won = both(store_target, "reserve", tmp_path / "ready", json.dumps(phones))
    assert set(won["a"]).isdisjoint(won["b"]) and sorted(won["a"] + won["b"]) == phones
    with open_store(store_target) as store:
        held = dict(store.query("SELECT phone, campaign_id FROM marketing_reservations"))
    assert held == {**dict.fromkeys(won["a"], "a"), **dict.fromkeys(won["b"], "b")}


def test_two_claimers_of_the_same_rows_claim_disjoint_rows(store_target, tmp_path):
    with open_store(store_target) as store:
        cid = ledger.create_campaign(store, make_plan(120), name="x", now=NOW)
    claimed = both(store_target, "claim", tmp_path / "ready", cid)
    assert set(claimed["a"]).isdisjoint(claimed["b"]) and len(claimed["a"]) + len(claimed["b"]) == 120
    with open_store(store_target) as store:
        assert store.query("SELECT count(*), count(DISTINCT send_id) FROM attempts")[0][:] == (120, 120)
        assert ledger.state_counts(store, cid)["in_flight"] == 120


def test_concurrent_statuses_never_move_a_row_back(store_target, tmp_path):
    with open_store(store_target) as store:
        cid = ledger.create_campaign(store, make_plan(120), name="x", now=NOW)
        store.execute("UPDATE sends SET state = 'accepted', wamid = 'w' || send_id WHERE campaign_id = ?", (cid,))
        wamids = [r[0] for r in store.query("SELECT wamid FROM sends ORDER BY send_id")]
    moved = both(store_target, "status", tmp_path / "ready", json.dumps(wamids))
    assert sorted(moved["a"]) == sorted(wamids)  # read is ahead of every state it met
    with open_store(store_target) as store:
        assert ledger.state_counts(store, cid)["read"] == 120
        assert store.query("SELECT count(*) FROM sends WHERE delivered_at IS NULL OR read_at IS NULL")[0][0] == 0


def test_two_processes_taking_one_campaigns_lease_one_wins(store_target, tmp_path):
    results = both(store_target, "lease", tmp_path / "ready", "c1")
    assert sorted(results.values()) == ["lost", "won"]
