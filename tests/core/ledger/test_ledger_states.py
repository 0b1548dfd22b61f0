"""The send state machine on a real SQLite ledger: every allowed transition, backward moves refused,
repeated reports idempotent. Rows reach each state the way production gets them there (the
sender's claim and outcomes, the webhook's statuses, a cancel)."""

import itertools

import pytest
from helpers.plans import NOW, make_plan

from wamkt_nb import ledger
from wamkt_nb.ledger import Outcome
from wamkt_nb.ledger.states import STATE_RANK, STATES, TIME_COLUMN
from wamkt_nb.webhooks.updates import StatusUpdate

pytestmark = pytest.mark.both_stores

STATUSES = tuple(TIME_COLUMN)
"""Every status Meta reports that moves a row: sent, delivered, read, failed."""

WEBHOOK_MOVES = {
    "planned": {"sent", "delivered", "read", "failed"},
    "in_flight": {"sent", "delivered", "read", "failed"},
    "accepted": {"sent", "delivered", "read", "failed"},
    "unknown": {"sent", "delivered", "read", "failed"},
    "sent": {"delivered", "read", "failed"},
    "delivered": {"read"},
    "read": set(),
    "failed": set(),
    "excluded": set(),
    "cancelled": set(),
}
"""The specification: which status may move a row in each state (forward only; ``failed`` only
before delivery; final states never left)."""


class Rows:
    """A campaign whose rows are driven one by one into the state a test needs."""

    def __init__(self, store, n: int) -> None:
        self.store = store
        self.cid = ledger.create_campaign(store, make_plan(n), name="States", now=NOW, campaign_id="st")
        self.ids = [r[0] for r in store.query("SELECT send_id FROM sends ORDER BY send_id")]
        self.free = iter(self.ids)
        self.cancelled = 0

    def row(self, send_id: int) -> dict:
        return dict(self.store.query("SELECT * FROM sends WHERE send_id = ?", (send_id,))[0])

    def status(self, send_id: int, status: str, at: float, code: int | None = None) -> bool:
        key = self.row(send_id)["recipient_key"]
        update = StatusUpdate(
            wamid=f"wamid.{send_id}",
            status=status,
            timestamp=at,
            callback_data=key,
            error_code=code,
            error_title="err" if code else None,
        )
        with self.store.transaction() as conn:
            return ledger.apply_status(conn, update, at)

    def outcome(self, send_id: int, kind: str, **kw) -> None:
        ledger.record_outcomes(self.store, [Outcome(send_id, 1, kind, NOW + 1, **kw)])

    def make(self, state: str) -> int:
        """A fresh row brought into ``state`` by the operations that put rows there."""
        if state == "cancelled":  # a campaign of its own: cancelling takes every planned row
            self.cancelled += 1
            cid = ledger.create_campaign(
                self.store, make_plan(1), name="Cancelled", now=NOW, campaign_id=f"cancelled{self.cancelled}"
            )
            ledger.cancel_open(self.store, cid, NOW)
            return self.store.query("SELECT max(send_id) FROM sends")[0][0]
        sid = next(self.free)
        if state == "planned":
            return sid
        if state == "excluded":
            self.outcome(sid, "excluded", reason="opted_out")
            return sid
        assert ledger.claim(self.store, [(sid, 1, "pn")], NOW) == [sid]
        if state == "in_flight":
            return sid
        if state == "unknown":
            self.outcome(sid, "unknown")
            return sid
        if state == "failed":
            self.outcome(sid, "failed", error_code=131026, error_title="Undeliverable")
            return sid
        self.outcome(sid, "accepted", wamid=f"wamid.{sid}")
        for step, at in (("sent", NOW + 10), ("delivered", NOW + 20), ("read", NOW + 30)):
            if STATE_RANK[state] >= STATE_RANK[step]:
                assert self.status(sid, step, at)
        return sid


def test_every_state_is_reachable_and_named(store):
    rows = Rows(store, len(STATES))
    for state in STATES:
        assert rows.row(rows.make(state))["state"] == state
    assert set(WEBHOOK_MOVES) == set(STATES)


@pytest.mark.parametrize("status", STATUSES)
def test_a_status_moves_a_row_exactly_when_the_state_machine_allows_it(store, status):
    rows = Rows(store, len(STATES))
    made = {state: rows.make(state) for state in STATES}
    for state, sid in made.items():
        before = rows.row(sid)
        moved = rows.status(sid, status, NOW + 100, code=131026 if status == "failed" else None)
        after = rows.row(sid)
        assert moved == (status in WEBHOOK_MOVES[state]), (state, status)
        assert after["state"] == (status if moved else state), (state, status)
        if moved:
            assert after[TIME_COLUMN[status]] == NOW + 100
        elif state in ("failed", "excluded", "cancelled"):
            assert after == before  # a final state is never touched


def test_forward_only_never_lowers_a_rank():
    for current, status in itertools.product(STATE_RANK, STATUSES):
        if ledger.moves_forward(current, status) and status != "failed":
            assert STATE_RANK[status] > STATE_RANK[current]


def test_a_late_earlier_status_fills_its_time_but_keeps_the_state(store):
    rows = Rows(store, 2)
    sid = rows.make("accepted")
    assert rows.status(sid, "read", NOW + 30)
    assert not rows.status(sid, "delivered", NOW + 20)  # Meta's order is not guaranteed
    assert not rows.status(sid, "sent", NOW + 10)
    row = rows.row(sid)
    assert (row["state"], row["sent_at"], row["delivered_at"], row["read_at"]) == ("read", NOW + 10, NOW + 20, NOW + 30)
    assert not rows.status(sid, "delivered", NOW + 25)  # a filled time is kept
    assert rows.row(sid)["delivered_at"] == NOW + 20


def test_failed_after_delivery_is_refused(store):
    rows = Rows(store, 1)
    sid = rows.make("delivered")
    assert not rows.status(sid, "failed", NOW + 40, code=131026)
    row = rows.row(sid)
    assert (row["state"], row["failed_at"], row["error_code"]) == ("delivered", None, None)


@pytest.mark.parametrize("status", STATUSES)
def test_a_repeated_status_changes_nothing(store, status):
    rows = Rows(store, 1)
    sid = rows.make("accepted")
    assert rows.status(sid, status, NOW + 50, code=131026 if status == "failed" else None)
    once = rows.row(sid)
    assert not rows.status(sid, status, NOW + 60, code=131026 if status == "failed" else None)
    assert rows.row(sid) == once


def test_the_sender_only_claims_planned_rows(store):
    rows = Rows(store, len(STATES))
    made = {state: rows.make(state) for state in STATES}
    claims = [(sid, rows.row(sid)["attempts"] + 1, "pn") for sid in made.values()]
    assert ledger.claim(store, claims, NOW + 5) == [made["planned"]]
    assert {s: rows.row(sid)["state"] for s, sid in made.items()} == {**{s: s for s in made}, "planned": "in_flight"}


def test_request_outcomes_only_move_in_flight_rows(store):
    rows = Rows(store, 12)
    for kind, kw in (("retry", {"error_code": 131000}), ("failed", {"error_code": 131026}), ("unknown", {})):
        for state in ("planned", "accepted", "read"):
            sid = rows.make(state)
            rows.outcome(sid, kind, **kw)
            assert rows.row(sid)["state"] == state, (kind, state)
    sid = rows.make("in_flight")
    rows.outcome(sid, "retry", error_code=131000)
    assert rows.row(sid)["state"] == "planned"  # a retry goes back to planned


def test_an_accepted_answer_after_a_webhook_keeps_the_later_state(store):
    rows = Rows(store, 1)
    sid = rows.make("in_flight")
    assert rows.status(sid, "read", NOW + 30)  # the webhook overtook the API answer
    rows.outcome(sid, "accepted", wamid=f"wamid.{sid}")
    row = rows.row(sid)
    assert (row["state"], row["accepted_at"], row["wamid"]) == ("read", NOW + 1, f"wamid.{sid}")


def test_recovery_requeue_and_cancel_touch_only_their_states(store):
    rows = Rows(store, len(STATES) + 1)  # nine rows driven (``cancelled`` has its own campaign), two not
    made = {state: rows.make(state) for state in STATES}
    assert ledger.recover_in_flight(store, rows.cid, NOW + 5) == 1
    assert rows.row(made["in_flight"])["state"] == "unknown"
    assert ledger.requeue(store, list(made.values()), NOW + 6) == 2  # the two unknown rows
    assert {s for s, sid in made.items() if rows.row(sid)["state"] == "planned"} == {"planned", "in_flight", "unknown"}
    cancelled = ledger.cancel_open(store, rows.cid, NOW + 7)
    assert cancelled == 3 + 2  # those three and the two rows never driven
    assert {rows.row(sid)["state"] for s, sid in made.items() if s not in ("planned", "in_flight", "unknown")} == {
        "accepted",
        "sent",
        "delivered",
        "read",
        "failed",
        "excluded",
        "cancelled",
    }
