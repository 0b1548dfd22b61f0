"""Every SQL statement the sender runs on ``sends`` (and its ``attempts``): plan, claim, record.

Every state change the sender makes goes through here, so a crash at any moment leaves a row whose
state says what may have happened: ``planned`` was never sent, ``in_flight`` may have reached the
API (it becomes ``unknown`` on recovery), ``accepted`` and later were accepted and are never sent again.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sized
from dataclasses import dataclass
from typing import Any

import orjson

from ..store import Store
from ..store.bulk import copy_rows
from .errors import LedgerError
from .held import schedule_held_retry
from .states import HELD_BY_META, HOLDOUT, OPEN_STATES, THROTTLED

_PENDING_HOLDOUT = f"arm = '{HOLDOUT}' AND state = 'excluded' AND reason = '{HOLDOUT}' AND held_at IS NULL"
"""A holdout member the sender has not evaluated yet (see :func:`pending_holdouts`)."""
_OPEN = ", ".join(f"'{s}'" for s in sorted(OPEN_STATES))
"""The states an accepted answer moves to ``accepted`` (a webhook may already have moved the row on)."""


def _placeholders(values: Sized) -> str:
    """``?, ?, …`` for an ``IN`` list of ``values`` (standard SQL, no SQLite JSON functions)."""
    return ", ".join("?" * len(values))


@dataclass(frozen=True)
class SendRow:
    """One recipient's row as the sender needs it."""

    send_id: int
    recipient_key: str
    customer_id: str
    phone: str
    payload: dict[str, Any]
    planned_at: float
    attempts: int
    message_type: str | None = None
    timezone: str | None = None
    """The recipient's zone from the plan (None: the compliance checks derive it from the phone)."""
    throttled: int = 0
    """Attempts answered with 130429 (throughput): they do not count against the attempt cap."""
    holdout: bool = False
    """An A/B holdout member: nothing is sent, the send-time checks decide whether they count."""
    phone_number_id: str | None = None
    """The sending number the row is pinned to (see :func:`pin_numbers`); None: not pinned yet."""


@dataclass(frozen=True)
class Outcome:
    """The result of one attempt, to be written by :func:`record_outcomes`.

    ``kind`` is ``accepted`` (with ``wamid``), ``retry`` (error, will be tried again), ``failed``
    (permanent error), ``unknown`` (timeout or dropped response after the request left),
    ``excluded`` (stopped before the request, with ``reason``), ``deferred`` (not yet: planned
    again for ``planned_at``, with ``reason``) or ``held`` (a holdout member evaluated at its time:
    ``reason`` ``holdout`` when a message would have gone out, else the exclusion code).
    """

    send_id: int
    attempt_no: int
    kind: str
    at: float
    wamid: str | None = None
    error_code: int | None = None
    error_title: str | None = None
    http_status: int | None = None
    details: str | None = None
    reason: str | None = None
    planned_at: float | None = None
    fbtrace_id: str | None = None
    """Meta's trace id of an error answer, for a support request."""


def planned_sends(
    store: Store, campaign_id: str, send_ids: Iterable[int] | None = None, numbers: Iterable[str] | None = None
) -> list[SendRow]:
    """Rows still to send (``planned``; all, or those of ``send_ids``; of every number, or those
    pinned to one of ``numbers``), earliest planned time first."""
    sql = (
        "SELECT send_id, recipient_key, customer_id, phone, payload_json, planned_at, attempts,"
        " message_type, timezone, (SELECT count(*) FROM attempts a WHERE a.send_id = s.send_id"
        f" AND a.error_code = {THROTTLED}), phone_number_id FROM sends s WHERE campaign_id = ? AND state = 'planned'"
    )
    params: tuple[Any, ...] = (campaign_id,)
    if send_ids is not None:
        ids = list(send_ids)
        if not ids:
            return []
        sql += f" AND send_id IN ({_placeholders(ids)})"
        params += tuple(ids)
    pinned, pinned_params = _pinned_to(numbers)
    rows = store.query(sql + pinned + " ORDER BY planned_at, send_id", params + pinned_params)
    return [
        SendRow(
            r[0],
            r[1],
            r[2],
            r[3],
            orjson.loads(r[4]),
            r[5] or 0.0,
            r[6],
            r[7],
            r[8],
            throttled=r[9],
            phone_number_id=r[10],
        )
        for r in rows
    ]


def _pinned_to(numbers: Iterable[str] | None, alias: str = "") -> tuple[str, tuple[str, ...]]:
    """``AND phone_number_id IN (...)`` for ``numbers`` (None: no condition), with its parameters."""
    if numbers is None:
        return "", ()
    wanted = tuple(sorted(set(numbers)))
    if not wanted:
        return " AND 1 = 0", ()
    return f" AND {alias}phone_number_id IN ({_placeholders(wanted)})", wanted


def pin_numbers(store: Store, campaign_id: str, numbers: Iterable[str]) -> int:
    """Pin the campaign's rows not pinned yet (planned rows, holdout members to evaluate) to one of
    ``numbers`` each, spread evenly; returns how many were pinned.

    A pinned row is sent only from its number, by the process holding that number's lease (see
    :mod:`.leases`): two processes can send one campaign, each from its own number at its own pace.
    Rows pinned once stay pinned (a retry goes out from the same number); a concurrent pinner finds
    them pinned and leaves them."""
    wanted = sorted(set(numbers))
    if not wanted:
        raise LedgerError("pinning rows needs at least one phone number id")
    pinned = 0
    with store.transaction() as conn:
        for i, number in enumerate(wanted):
            pinned += conn.execute(
                "UPDATE sends SET phone_number_id = ? WHERE campaign_id = ? AND phone_number_id IS NULL"
                f" AND (state = 'planned' OR ({_PENDING_HOLDOUT})) AND send_id % ? = ?",
                (number, campaign_id, len(wanted), i),
            ).rowcount
    return pinned


def open_rows(store: Store, campaign_id: str, numbers: Iterable[str] | None = None) -> dict[str, int]:
    """How many rows are not final yet (of every number, or of those pinned to ``numbers``):
    ``planned`` (holdout members to evaluate counted in), ``in_flight`` and ``unknown``."""
    pinned, pinned_params = _pinned_to(numbers)
    row = store.query(
        "SELECT COALESCE(SUM(CASE WHEN state = 'planned' OR (" + _PENDING_HOLDOUT + ") THEN 1 ELSE 0 END), 0),"
        " COALESCE(SUM(CASE WHEN state = 'in_flight' THEN 1 ELSE 0 END), 0),"
        " COALESCE(SUM(CASE WHEN state = 'unknown' THEN 1 ELSE 0 END), 0)"
        " FROM sends WHERE campaign_id = ? AND state IN ('planned', 'in_flight', 'unknown', 'excluded')" + pinned,
        (campaign_id, *pinned_params),
    )[0]
    return {"planned": int(row[0]), "in_flight": int(row[1]), "unknown": int(row[2])}


def claim(
    store: Store,
    claims: Iterable[tuple[int, int, str]],
    now: float,
    outcomes: Iterable[Outcome] = (),
    api: str = "messages",
) -> list[int]:
    """Mark rows ``in_flight`` with a pending attempt, committed BEFORE their requests go out.

    ``claims`` are ``(send_id, attempt_no, phone_number_id)``; returns the send ids really claimed
    (a row no longer ``planned``, e.g. cancelled meanwhile, is left alone and must not be sent).
    ``outcomes`` of earlier attempts are written first in the same transaction (one commit per tick).
    ``api`` is the endpoint the rows go to (``campaigns.send_api``), recorded on each row.
    """
    by_number: dict[str, dict[int, int]] = {}
    for sid, n, pid in claims:
        by_number.setdefault(pid, {})[sid] = n
    claimed: list[int] = []
    with store.transaction() as conn:
        _write_outcomes(conn, list(outcomes))
        for pid, wanted in by_number.items():
            rows = conn.execute(
                "UPDATE sends SET state = 'in_flight', attempts = attempts + 1, phone_number_id = ?, api = ?,"
                f" updated_at = ? WHERE state = 'planned' AND send_id IN ({_placeholders(wanted)})"
                " RETURNING send_id, attempts",
                (pid, api, now, *wanted),
            ).fetchall()
            for sid, n in rows:
                if n != wanted[sid]:
                    raise LedgerError(f"send {sid}: attempt {n} in the ledger, {wanted[sid]} expected")
            conn.executemany(
                "INSERT INTO attempts (send_id, attempt_no, started_at, outcome) VALUES (?, ?, ?, 'pending')",
                [(sid, n, now) for sid, n in rows],
            )
            claimed.extend(sid for sid, _ in rows)
    return claimed


_ATTEMPT_OUTCOME = {"accepted": "accepted", "retry": "error", "failed": "error", "unknown": "timeout"}


def record_outcomes(store: Store, outcomes: Iterable[Outcome]) -> None:
    """Write a batch of attempt results; rows only move forward (a webhook may have been first)."""
    outcomes = list(outcomes)
    if outcomes:
        with store.transaction() as conn:
            _write_outcomes(conn, outcomes)


def _write_outcomes(conn: sqlite3.Connection, outcomes: list[Outcome]) -> None:
    attempts, accepted, retry, failed, unknown, excluded, deferred, held, held_out = [], [], [], [], [], [], [], [], []
    for o in outcomes:
        if o.kind in _ATTEMPT_OUTCOME:
            attempts.append(
                (
                    o.at,
                    _ATTEMPT_OUTCOME[o.kind],
                    o.http_status,
                    o.error_code,
                    o.details,
                    o.fbtrace_id,
                    o.send_id,
                    o.attempt_no,
                )
            )
        if o.kind == "accepted":
            accepted.append((o.wamid, o.at, o.at, o.send_id))
        elif o.kind == "retry":
            retry.append((o.error_code, o.error_title, o.at, o.send_id))
        elif o.kind == "failed":
            failed.append((o.error_code, o.error_title, o.at, o.at, o.send_id))
        elif o.kind == "unknown":
            unknown.append((o.at, o.send_id))
        elif o.kind == "excluded":
            excluded.append((o.reason, o.at, o.send_id))
        elif o.kind == "deferred":
            deferred.append((o.planned_at, o.at, o.send_id))
        elif o.kind == "held" and o.reason == "holdout":
            held.append((o.at, o.at, o.send_id))
        elif o.kind == "held":
            held_out.append((o.reason, o.at, o.send_id))
        else:
            raise LedgerError(f"unknown outcome kind {o.kind!r} for send {o.send_id}")
    statements: list[tuple[str, list[tuple[Any, ...]]]] = [
        (
            "UPDATE attempts SET finished_at = ?, outcome = ?, http_status = ?, error_code = ?,"
            " error_details = ?, fbtrace_id = ? WHERE send_id = ? AND attempt_no = ?",
            attempts,
        ),
        (
            "UPDATE sends SET wamid = COALESCE(wamid, ?), accepted_at = COALESCE(accepted_at, ?),"
            f" state = CASE WHEN state IN ({_OPEN}) THEN 'accepted'"
            " ELSE state END, updated_at = ? WHERE send_id = ?",
            accepted,
        ),
        (
            "UPDATE sends SET state = 'planned', error_code = ?, error_title = ?, updated_at = ?"
            " WHERE send_id = ? AND state = 'in_flight'",
            retry,
        ),
        (
            "UPDATE sends SET state = 'failed', error_code = ?, error_title = ?, failed_at = ?,"
            " updated_at = ? WHERE send_id = ? AND state = 'in_flight'",
            failed,
        ),
        ("UPDATE sends SET state = 'unknown', updated_at = ? WHERE send_id = ? AND state = 'in_flight'", unknown),
        (
            "UPDATE sends SET state = 'excluded', reason = ?, updated_at = ? WHERE send_id = ? AND state = 'planned'",
            excluded,
        ),
        (
            "UPDATE sends SET planned_at = ?, updated_at = ? WHERE send_id = ?"
            f" AND (state = 'planned' OR ({_PENDING_HOLDOUT}))",
            deferred,
        ),
        (f"UPDATE sends SET held_at = ?, updated_at = ? WHERE send_id = ? AND {_PENDING_HOLDOUT}", held),
        (f"UPDATE sends SET reason = ?, updated_at = ? WHERE send_id = ? AND {_PENDING_HOLDOUT}", held_out),
    ]
    for sql, rows in statements:
        if rows:
            conn.executemany(sql, rows)
    for code, _title, at, _updated, send_id in failed:  # a synchronous hold, like one by webhook
        if code == HELD_BY_META:
            schedule_held_retry(conn, send_id, at)


def pending_holdouts(store: Store, campaign_id: str, numbers: Iterable[str] | None = None) -> list[SendRow]:
    """Holdout members not yet evaluated at their planned time (all, or those pinned to one of
    ``numbers``), earliest first (payload empty)."""
    pinned, pinned_params = _pinned_to(numbers)
    rows = store.query(
        "SELECT send_id, recipient_key, customer_id, phone, planned_at, message_type, timezone, phone_number_id"
        f" FROM sends WHERE campaign_id = ? AND {_PENDING_HOLDOUT}{pinned} ORDER BY planned_at, send_id",
        (campaign_id, *pinned_params),
    )
    return [
        SendRow(r[0], r[1], r[2], r[3], {}, r[4] or 0.0, 0, r[5], r[6], holdout=True, phone_number_id=r[7])
        for r in rows
    ]


def recover_in_flight(store: Store, campaign_id: str, now: float, numbers: Iterable[str] | None = None) -> int:
    """After a crash: rows left ``in_flight`` (all, or those sent from one of ``numbers``, whose
    leases the caller holds) may or may not have reached the API → ``unknown``."""
    pinned, pinned_params = _pinned_to(numbers)
    with store.transaction() as conn:
        conn.execute(
            "UPDATE attempts SET outcome = 'lost', finished_at = ? WHERE outcome = 'pending' AND send_id IN"
            f" (SELECT send_id FROM sends WHERE campaign_id = ? AND state = 'in_flight'{pinned})",
            (now, campaign_id, *pinned_params),
        )
        return int(
            conn.execute(
                "UPDATE sends SET state = 'unknown', updated_at = ? WHERE campaign_id = ? AND state = 'in_flight'"
                + pinned,
                (now, campaign_id, *pinned_params),
            ).rowcount
        )


def unknown_sends(store: Store, campaign_id: str, numbers: Iterable[str] | None = None) -> list[tuple[int, float]]:
    """``(send_id, started_at of the last attempt)`` of every ``unknown`` row (of ``numbers``)."""
    pinned, pinned_params = _pinned_to(numbers, "s.")
    return [
        (r[0], r[1] or 0.0)
        for r in store.query(
            "SELECT s.send_id, MAX(a.started_at) FROM sends s LEFT JOIN attempts a ON a.send_id = s.send_id"
            f" WHERE s.campaign_id = ? AND s.state = 'unknown'{pinned} GROUP BY s.send_id",
            (campaign_id, *pinned_params),
        )
    ]


def requeue(store: Store, send_ids: Iterable[int], now: float) -> int:
    """Put ``unknown`` rows back to ``planned`` for a resend (the policy decided no webhook will come)."""
    with store.transaction() as conn:
        return int(
            conn.executemany(
                "UPDATE sends SET state = 'planned', updated_at = ? WHERE send_id = ? AND state = 'unknown'",
                [(now, sid) for sid in send_ids],
            ).rowcount
        )


def cancel_open(store: Store, campaign_id: str, now: float) -> int:
    """Cancel every row not yet sent (``planned``) and holdout members not yet evaluated (they count
    like the message rows); rows already in flight are left to finish."""
    with store.transaction() as conn:
        return int(
            conn.execute(
                "UPDATE sends SET state = 'cancelled', updated_at = ? WHERE campaign_id = ?"
                f" AND (state = 'planned' OR ({_PENDING_HOLDOUT}))",
                (now, campaign_id),
            ).rowcount
        )


def counted_attempts_of_unknown(store: Store, campaign_id: str, numbers: Iterable[str] | None = None) -> dict[int, int]:
    """``send_id`` → attempts made of every ``unknown`` row (of ``numbers``), without the throttle
    answers (they do not count against the attempt cap)."""
    pinned, pinned_params = _pinned_to(numbers)
    return {
        r[0]: r[1]
        for r in store.query(
            "SELECT send_id, attempts - (SELECT count(*) FROM attempts a WHERE a.send_id = s.send_id"
            f" AND a.error_code = {THROTTLED}) FROM sends s WHERE campaign_id = ? AND state = 'unknown'{pinned}",
            (campaign_id, *pinned_params),
        )
    }


def due_campaigns(store: Store, now: float) -> list[str]:
    """Campaigns with rows planned for a time that has come (e.g. after quiet hours)."""
    return [
        r[0]
        for r in store.query(
            "SELECT DISTINCT campaign_id FROM sends WHERE state = 'planned' AND planned_at <= ?", (now,)
        )
    ]


def recorded_arms(store: Store, campaign_id: str) -> list[tuple[str, str]]:
    """``(customer_id, arm)`` of a campaign's recipients that have an A/B arm."""
    return [
        (r[0], r[1])
        for r in store.query(
            "SELECT customer_id, arm FROM sends WHERE campaign_id = ? AND arm IS NOT NULL AND arm != ''", (campaign_id,)
        )
    ]


IMPORT_COLUMNS = (
    "campaign_id",
    "recipient_key",
    "customer_id",
    "phone",
    "state",
    "error_code",
    "accepted_at",
    "sent_at",
    "delivered_at",
    "read_at",
    "failed_at",
    "billable",
    "message_type",
    "updated_at",
)
"""The columns :func:`import_sends` writes."""


def import_sends(store: Store, rows: Iterable[tuple[Any, ...]]) -> None:
    """Write finished ledger rows in bulk (``IMPORT_COLUMNS`` order), e.g. a synthetic history
    (``COPY`` on PostgreSQL)."""
    copy_rows(store, "sends", IMPORT_COLUMNS, rows)


def move_customer_key(conn: sqlite3.Connection, old: str, new: str) -> int:
    """Re-key a customer's rows from ``old`` to ``new`` (a BSUID found to belong to a phone, a changed
    number), inside the caller's transaction; the payloads keep the address they were planned with."""
    return conn.execute("UPDATE sends SET phone = ? WHERE phone = ?", (new, old)).rowcount
