"""The runner's queue of due rows: earliest first, ties in arrival order, templates remembered."""

from __future__ import annotations

from wamkt_nb.campaigns.due import DueQueue
from wamkt_nb.campaigns.ledger import SendRow


def row(send_id: int, payload: dict | None = None) -> SendRow:
    return SendRow(send_id, f"k{send_id}", f"c{send_id}", "+491700000000", payload or {}, 0.0, 0)


def test_rows_come_out_earliest_first_and_ties_in_the_order_they_came():
    due = DueQueue()
    for send_id, at in ((1, 30.0), (2, 10.0), (3, 10.0), (4, 20.0)):
        due.push(row(send_id), at)
    assert len(due) == 4 and due.next_due == 10.0 and due.peek().send_id == 2
    assert [due.pop().send_id for _ in range(4)] == [2, 3, 4, 1]
    assert not due


def test_the_templates_of_queued_rows_are_remembered_for_the_status_watch():
    due = DueQueue()
    template = {"type": "template", "template": {"name": "sale", "language": {"code": "de"}}}
    due.push(row(1, template), 0.0)
    due.push(row(2, {"type": "text", "text": {"body": "hi"}}), 0.0)
    assert due.templates == {("sale", "de")}
