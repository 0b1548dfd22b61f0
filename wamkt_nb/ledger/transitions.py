"""The checked, forward-only move of a send from a status Meta reported (webhook or recorded event).

A status may only move a row forward in :data:`~.states.STATE_RANK`; ``failed`` applies until the
message was delivered; ``failed``, ``excluded`` and ``cancelled`` are never left. A status that
arrives after a later one (Meta does not guarantee order) still fills its empty time column
without lowering the state, and the same status twice changes nothing. The one way back is the
retry of a message Meta held (:func:`~.held.requeue_due_held`); statuses of the held attempt's wamid
never move the retried row.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from typing import Any, Protocol

from ..store import Store
from .held import schedule_held_retry
from .states import HELD_BY_META, STATE_RANK, TIME_COLUMN


class Status(Protocol):
    """What a status report carries (the webhook's ``StatusUpdate`` is one)."""

    @property
    def wamid(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def timestamp(self) -> float: ...
    @property
    def callback_data(self) -> str | None: ...
    @property
    def error_code(self) -> int | None: ...
    @property
    def error_title(self) -> str | None: ...
    @property
    def pricing_category(self) -> str | None: ...
    @property
    def billable(self) -> bool | None: ...


@dataclass(frozen=True)
class RecordedStatus:
    """A status read back from ``status_events``."""

    wamid: str
    status: str
    timestamp: float
    callback_data: str | None = None
    error_code: int | None = None
    error_title: str | None = None
    pricing_category: str | None = None
    billable: bool | None = None


def moves_forward(current: str, status: str) -> bool:
    """Whether a ``status`` report may change a row in ``current`` state.

    ``failed`` applies until the message was delivered; the final states are never touched.
    """
    rank = STATE_RANK.get(current)
    if rank is None:
        return False
    if status == "failed":
        return rank < STATE_RANK["delivered"]
    target = STATE_RANK.get(status)
    return target is not None and target > rank


def apply_status(conn: sqlite3.Connection, status: Status, now: float) -> bool:
    """Apply one status to its ``sends`` row (by wamid, else by ``recipient_key``); True if it moved.

    Run inside the caller's transaction. A row found by ``recipient_key`` without a wamid gets it.
    """
    if status.status not in TIME_COLUMN:
        return False
    row = conn.execute(
        "SELECT send_id, state, wamid, retried_wamid FROM sends WHERE wamid = ?", (status.wamid,)
    ).fetchone()
    if row is None and status.callback_data:
        row = conn.execute(
            "SELECT send_id, state, wamid, retried_wamid FROM sends WHERE recipient_key = ?", (status.callback_data,)
        ).fetchone()
    if row is None or row[3] == status.wamid:  # a status of a held attempt since retried: recorded only
        return False
    if not moves_forward(row[1], status.status):
        _record_late_time(conn, row[0], row[1], status)
        return False
    sets = ["state = ?", f"{TIME_COLUMN[status.status]} = ?", "updated_at = ?", "wamid = COALESCE(wamid, ?)"]
    params: list[Any] = [status.status, status.timestamp, now, status.wamid]
    if status.status == "failed":
        sets += ["error_code = ?", "error_title = ?"]
        params += [status.error_code, status.error_title]
    if status.pricing_category is not None:
        sets.append("pricing_category = ?")
        params.append(status.pricing_category)
    if status.billable is not None:
        sets.append("billable = ?")
        params.append(int(status.billable))
    behind = [state for state in STATE_RANK if moves_forward(state, status.status)]
    moved = conn.execute(  # only from a state behind the status: a concurrent writer cannot be undone
        f"UPDATE sends SET {', '.join(sets)} WHERE send_id = ? AND state IN ({', '.join('?' * len(behind))})",
        (*params, row[0], *behind),
    ).rowcount
    if not moved:  # another writer moved the row first: keep this status's time only
        _record_late_time(
            conn, row[0], conn.execute("SELECT state FROM sends WHERE send_id = ?", (row[0],)).fetchone()[0], status
        )
        return False
    if status.status == "failed" and status.error_code == HELD_BY_META:
        schedule_held_retry(conn, row[0], status.timestamp)
    return True


def _record_late_time(conn: sqlite3.Connection, send_id: int, current: str, status: Status) -> None:
    """A ``sent``/``delivered`` that arrives after a later state (Meta does not guarantee order):
    keep its time in the empty column without moving the state back."""
    rank, earlier = STATE_RANK.get(current), STATE_RANK.get(status.status)
    if rank is None or earlier is None or earlier >= rank or status.status not in TIME_COLUMN:
        return
    column = TIME_COLUMN[status.status]
    conn.execute(f"UPDATE sends SET {column} = COALESCE({column}, ?) WHERE send_id = ?", (status.timestamp, send_id))


def _from_event(row: sqlite3.Row) -> RecordedStatus:
    return RecordedStatus(
        wamid=row["wamid"],
        status=row["status"],
        timestamp=row["timestamp"],
        callback_data=row["callback_data"],
        error_code=row["error_code"],
        pricing_category=row["pricing_category"],
        billable=None if row["billable"] is None else bool(row["billable"]),
    )


_KEYS_PER_QUERY = 400
"""Recipient keys per ``IN`` list (twice per query), well under SQLite's bound parameters."""


def reconcile_sends(store: Store, recipient_keys: list[str] | None = None, now: float | None = None) -> int:
    """Re-apply recorded status events to the ledger (all, or those of ``recipient_keys``); rows moved.

    For the sender: after a lost response, a status webhook may already say what happened.
    """
    now = time.time() if now is None else now
    if recipient_keys is None:
        return _reapply(store, "", (), now)
    keys = list(recipient_keys)
    moved = 0
    for i in range(0, len(keys), _KEYS_PER_QUERY):
        chunk = keys[i : i + _KEYS_PER_QUERY]
        marks = ", ".join("?" * len(chunk))
        moved += _reapply(
            store,
            f" WHERE callback_data IN ({marks}) OR wamid IN (SELECT wamid FROM sends WHERE recipient_key IN ({marks}))",
            (*chunk, *chunk),
            now,
        )
    return moved


def _reapply(store: Store, where: str, params: tuple[Any, ...], now: float) -> int:
    """Apply the recorded events matching ``where`` in the order they happened, in one transaction."""
    sql = (
        "SELECT * FROM status_events"
        + where
        + " ORDER BY timestamp, CASE status WHEN 'sent' THEN 0 WHEN 'delivered' THEN 1 ELSE 2 END"
    )
    moved = 0
    with store.transaction() as conn:
        for row in conn.execute(sql, params).fetchall():
            moved += apply_status(conn, _from_event(row), now)
    return moved


def reconcile_unknown(store: Store, campaign_id: str, now: float) -> int:
    """Settle ``unknown`` rows from the status webhooks already recorded (found by callback data);
    return how many are no longer unknown. The same transitions as the webhook receiver's move the rows."""
    keys = [
        r[0]
        for r in store.query(
            "SELECT recipient_key FROM sends WHERE campaign_id = ? AND state = 'unknown'", (campaign_id,)
        )
    ]
    if not keys:
        return 0
    reconcile_sends(store, keys, now)
    left: int = store.query("SELECT count(*) FROM sends WHERE campaign_id = ? AND state = 'unknown'", (campaign_id,))[
        0
    ][0]
    return len(keys) - left
