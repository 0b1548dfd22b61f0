"""The runner's queue of due rows: earliest first, ties in arrival order, the pair rate and the
numbers' tokens applied when rows are taken, templates remembered."""

from __future__ import annotations

from dataclasses import replace

from wamkt_nb.campaigns.due import DueQueue
from wamkt_nb.campaigns.pacing import NumberPool, PairLimiter
from wamkt_nb.ledger import SendRow


def row(send_id: int, phone: str = "", payload: dict | None = None) -> SendRow:
    return SendRow(send_id, f"k{send_id}", f"c{send_id}", phone or f"+4917000000{send_id:02d}", payload or {}, 0.0, 0)


def test_due_rows_come_out_earliest_first_ties_in_order_later_ones_stay():
    due = DueQueue()
    for send_id, at in ((1, 30.0), (2, 10.0), (3, 10.0), (4, 20.0), (5, 99.0)):
        due.push(row(send_id), at)
    taken, _ = due.take(50.0, 1.0, 10, NumberPool(("pn",), 1000.0, 0.0), PairLimiter(6.0))  # 50 tokens saved up
    assert [r.send_id for r, _ in taken] == [2, 3, 4, 1]
    assert all(p is not None and p.phone_number_id == "pn" for _, p in taken)
    assert len(due) == 1 and due.next_due == 99.0


def test_taking_stops_at_the_room_and_when_no_number_has_a_token():
    due = DueQueue()
    for send_id in range(1, 6):
        due.push(row(send_id), 0.0)
    taken, _ = due.take(0.0, 1.0, 2, NumberPool(("pn",), 1000.0, 0.0), PairLimiter(6.0))
    assert len(taken) == 2 and len(due) == 3
    slow = NumberPool(("pn",), 1.0, 0.0)  # one token now, the next in 1 s
    taken, wait = due.take(0.0, 0.0, 10, slow, PairLimiter(6.0))
    assert len(taken) == 1 and wait == 1.0 and len(due) == 2


def test_a_recipient_within_the_pair_interval_waits_and_a_holdout_takes_no_token():
    due, pair = DueQueue(), PairLimiter(6.0)
    pair.note_sent("+49170", 0.0)
    due.push(row(1, "+49170"), 0.0)
    due.push(replace(row(2), holdout=True), 0.0)
    taken, _ = due.take(1.0, 1.0, 10, NumberPool(("pn",), 1000.0, 0.0), pair)
    assert [(r.send_id, p) for r, p in taken] == [(2, None)]
    assert due.next_due == 6.0  # the pair's row is due again when its interval is over


def test_the_templates_of_queued_rows_are_remembered_for_the_status_watch():
    due = DueQueue()
    due.push(row(1, payload={"type": "template", "template": {"name": "sale", "language": {"code": "de"}}}), 0.0)
    due.push(row(2, payload={"type": "text", "text": {"body": "hi"}}), 0.0)
    assert due.templates == {("sale", "de")}


def test_a_number_out_of_tokens_holds_back_only_its_own_rows():
    due = DueQueue()
    for send_id in range(1, 7):
        due.push(replace(row(send_id), phone_number_id="pn-a" if send_id <= 4 else "pn-b"), float(send_id))
    pool = NumberPool(("pn-a", "pn-b"), 1.0, 0.0)  # one token each now, the next in 1 s
    taken, wait = due.take(10.0, 0.0, 10, pool, PairLimiter(6.0))
    assert [(r.send_id, p.phone_number_id) for r, p in taken] == [(1, "pn-a"), (5, "pn-b")]
    assert wait == 1.0 and len(due) == 4 and due.next_due == 2.0  # pn-a's rows kept their order
