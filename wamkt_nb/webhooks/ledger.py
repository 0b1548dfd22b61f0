"""Move the ``sends`` ledger forward from status webhooks, never backwards.

The sender reuses :func:`reconcile_sends` to settle ``unknown`` rows (request outcome lost) from
the status events already recorded, before deciding to resend.
"""

from __future__ import annotations

import json
import sqlite3
import time

from ..compliance.reservation import HELD_BY_META, held_retry_at
from ..store import Store
from .updates import StatusUpdate

STATE_RANK: dict[str, int] = {
    "planned": 0, "in_flight": 1, "accepted": 2, "unknown": 2, "sent": 3, "delivered": 4, "read": 5,
}
"""Rank of every state a webhook may move; ``failed``, ``excluded``, ``cancelled`` are absent (final)."""

_TIME_COLUMN = {"sent": "sent_at", "delivered": "delivered_at", "read": "read_at", "failed": "failed_at"}


def moves_forward(current: str, status: str) -> bool:
    """Whether a ``status`` webhook may change a row in ``current`` state.

    ``failed`` applies until the message was delivered; the final states are never touched.
    """
    rank = STATE_RANK.get(current)
    if rank is None:
        return False
    if status == "failed":
        return rank < STATE_RANK["delivered"]
    target = STATE_RANK.get(status)
    return target is not None and target > rank


def apply_status(conn: sqlite3.Connection, status: StatusUpdate, now: float) -> bool:
    """Apply one status to its ``sends`` row (by wamid, else by ``recipient_key``); True if it moved.

    Run inside the caller's transaction. A row found by ``recipient_key`` without a wamid gets it.
    """
    if status.status not in _TIME_COLUMN:
        return False
    row = conn.execute("SELECT send_id, state, wamid FROM sends WHERE wamid = ?", (status.wamid,)).fetchone()
    if row is None and status.callback_data:
        row = conn.execute(
            "SELECT send_id, state, wamid FROM sends WHERE recipient_key = ?", (status.callback_data,)
        ).fetchone()
    if row is None:
        return False
    if not moves_forward(row[1], status.status):
        _record_late_time(conn, row[0], row[1], status)
        return False
    sets = ["state = ?", f"{_TIME_COLUMN[status.status]} = ?", "updated_at = ?", "wamid = COALESCE(wamid, ?)"]
    params: list = [status.status, status.timestamp, now, status.wamid]
    if status.status == "failed":
        sets += ["error_code = ?", "error_title = ?"]
        params += [status.error_code, status.error_title]
    if status.pricing_category is not None:
        sets.append("pricing_category = ?")
        params.append(status.pricing_category)
    if status.billable is not None:
        sets.append("billable = ?")
        params.append(int(status.billable))
    conn.execute(f"UPDATE sends SET {', '.join(sets)} WHERE send_id = ?", (*params, row[0]))
    if status.status == "failed" and status.error_code == HELD_BY_META:
        _schedule_held_retry(conn, row[0], status.timestamp)
    return True


def _schedule_held_retry(conn: sqlite3.Connection, send_id: int, held_at: float) -> None:
    """Meta held the message back (131049): if its campaign opted in (``retry_held_by_meta`` in its
    spec), record when one retry may run, durably, for the worker that sends due retries."""
    row = conn.execute(
        "SELECT s.phone FROM sends s JOIN campaigns c ON c.campaign_id = s.campaign_id"
        " WHERE s.send_id = ? AND s.retry_after IS NULL"
        " AND json_extract(c.spec_json, '$.retry_held_by_meta') = 1", (send_id,)).fetchone()
    if row is not None:
        conn.execute("UPDATE sends SET retry_after = ? WHERE send_id = ?",
                     (held_retry_at(conn, row[0], held_at), send_id))


def _record_late_time(conn: sqlite3.Connection, send_id: int, current: str, status: StatusUpdate) -> None:
    """A ``sent``/``delivered`` that arrives after a later state (Meta does not guarantee order):
    keep its time in the empty column without moving the state back."""
    rank, earlier = STATE_RANK.get(current), STATE_RANK.get(status.status)
    if rank is None or earlier is None or earlier >= rank or status.status not in _TIME_COLUMN:
        return
    column = _TIME_COLUMN[status.status]
    conn.execute(f"UPDATE sends SET {column} = COALESCE({column}, ?) WHERE send_id = ?", (status.timestamp, send_id))


def _from_event(row: sqlite3.Row) -> StatusUpdate:
    return StatusUpdate(
        wamid=row["wamid"], status=row["status"], timestamp=row["timestamp"],
        recipient_id=row["recipient_id"], callback_data=row["callback_data"],
        error_code=row["error_code"], error_title=None, pricing_category=row["pricing_category"],
        billable=None if row["billable"] is None else bool(row["billable"]),
    )


def reconcile_sends(store: Store, recipient_keys: list[str] | None = None, now: float | None = None) -> int:
    """Re-apply recorded status events to the ledger (all, or those of ``recipient_keys``); rows moved.

    For the sender: after a lost response, a status webhook may already say what happened.
    """
    now = time.time() if now is None else now
    sql = "SELECT * FROM status_events"
    params: tuple = ()
    if recipient_keys is not None:
        if not recipient_keys:
            return 0
        sql += (" WHERE callback_data IN (SELECT value FROM json_each(?))"
                " OR wamid IN (SELECT wamid FROM sends WHERE recipient_key IN (SELECT value FROM json_each(?)))")
        keys = json.dumps(list(recipient_keys))
        params = (keys, keys)
    sql += " ORDER BY timestamp, CASE status WHEN 'sent' THEN 0 WHEN 'delivered' THEN 1 ELSE 2 END"
    moved = 0
    with store.transaction() as conn:
        for row in conn.execute(sql, params).fetchall():
            moved += apply_status(conn, _from_event(row), now)
    return moved
