"""The send ledger: a campaign and one row per recipient, written before any request is made.

Every state change goes through here, so a crash at any moment leaves a row whose state says what
may have happened: ``planned`` was never sent, ``in_flight`` may have reached the API (it becomes
``unknown`` on recovery), ``accepted`` and later were accepted and are never sent again.
"""

from __future__ import annotations

import os
import secrets
import socket
import sqlite3
import time
from dataclasses import asdict, dataclass
from typing import Any, Iterable

import orjson
import pandas as pd

from ..compliance import Policy
from ..links import save_links
from ..store import Store
from ..webhooks.ledger import reconcile_sends

PLAN_COLUMNS = ("customer_id", "phone", "outcome", "reason", "category", "message_type", "body",
                "payload", "planned_at")
CATEGORIES = ("marketing", "utility", "authentication", "service")
STATES = ("planned", "in_flight", "accepted", "sent", "delivered", "read", "failed", "excluded",
          "unknown", "cancelled")
FINAL_STATES = frozenset({"accepted", "sent", "delivered", "read", "failed", "excluded", "cancelled"})
"""States the sender never touches again (``unknown`` is final only under the never-resend policy)."""
OPEN_STATES = frozenset({"planned", "in_flight", "unknown"})
_PENDING_HOLDOUT = "arm = 'holdout' AND state = 'excluded' AND reason = 'holdout' AND held_at IS NULL"
"""A holdout member the sender has not evaluated yet (see :func:`pending_holdouts`)."""
THROTTLED = 130429
"""Meta's throughput answer: the sender slows down and does not count it as an attempt."""


class LedgerError(ValueError):
    """A plan or campaign that cannot be written or run as asked."""


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


def recipient_key(campaign_id: str, customer_id: str) -> str:
    """The ledger key that travels in ``biz_opaque_callback_data``."""
    return f"{campaign_id}:{customer_id}"


def new_campaign_id(now: float) -> str:
    """A readable, unique campaign id such as ``cmp-20260525-1012-3fa9``."""
    stamp = time.strftime("%Y%m%d-%H%M", time.gmtime(now))
    return f"cmp-{stamp}-{secrets.token_hex(2)}"


def to_epoch(value: Any, default: float) -> float:
    """Epoch seconds from a timestamp, ISO text or number (naive means UTC); ``default`` when empty."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return default
    if isinstance(value, (int, float)):
        return float(value)
    ts = pd.Timestamp(value)
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return ts.timestamp()


def _validate_plan(plan: pd.DataFrame) -> None:
    missing = [c for c in PLAN_COLUMNS if c not in plan.columns]
    if missing:
        raise LedgerError(f"campaign plan lacks column(s): {', '.join(missing)}")
    dup = plan["customer_id"].astype(str).duplicated(keep=False)
    if dup.any():
        ids = sorted(set(plan.loc[dup, "customer_id"].astype(str)))[:5]
        raise LedgerError(f"campaign plan lists customer(s) more than once: {', '.join(ids)}")
    bad_outcome = ~plan["outcome"].isin(["send", "excluded", "later"])
    if bad_outcome.any():
        row = plan.index[bad_outcome][0]
        raise LedgerError(f"plan row {row}: outcome must be send, excluded or later, "
                          f"not {plan.at[row, 'outcome']!r}")
    bad_cat = ~plan["category"].isin(CATEGORIES)
    if bad_cat.any():
        row = plan.index[bad_cat][0]
        raise LedgerError(f"plan row {row}: unknown category {plan.at[row, 'category']!r}")
    for row, cid, phone, outcome, payload in zip(plan.index, plan["customer_id"], plan["phone"],
                                                 plan["outcome"], plan["payload"]):
        if ":" in str(cid):
            raise LedgerError(f"plan row {row}: customer_id {cid!r} may not contain ':'")
        if not (isinstance(phone, str) and phone.startswith("+") and phone[1:].isdigit()):
            raise LedgerError(f"plan row {row}: phone of customer {cid!r} is not E.164 (+digits)")
        if outcome != "excluded" and not isinstance(payload, dict):
            raise LedgerError(f"plan row {row}: payload of customer {cid!r} must be a dict")


def create_campaign(
    store: Store,
    plan: pd.DataFrame,
    *,
    name: str,
    now: float,
    campaign_id: str | None = None,
    segment_name: str | None = None,
    experiment_key: str | None = None,
    spec: dict[str, Any] | None = None,
) -> str:
    """Write the campaign and one ledger row per plan row (``send``/``later`` → planned, else excluded).

    Nothing is sent here; the rows exist before any request, so a crash loses nobody.
    """
    _validate_plan(plan)
    categories = set(plan["category"])
    if len(categories) != 1:
        raise LedgerError(f"a campaign has one category, the plan mixes {sorted(categories)}")
    campaign_id = campaign_id or new_campaign_id(now)
    if ":" in campaign_id or not campaign_id.strip():
        raise LedgerError(f"campaign id {campaign_id!r} must be non-empty and contain no ':'")
    arms = plan["arm"] if "arm" in plan.columns else pd.Series([None] * len(plan), index=plan.index)
    zones = plan["timezone"] if "timezone" in plan.columns else pd.Series([None] * len(plan), index=plan.index)
    policy = plan.attrs.get("policy")
    if isinstance(policy, Policy):
        spec = {**(spec or {}), "policy": asdict(policy)}
    rows = []
    for cid, phone, outcome, reason, mtype, body, payload, planned_at, arm, zone in zip(
        plan["customer_id"].astype(str), plan["phone"], plan["outcome"], plan["reason"],
        plan["message_type"], plan["body"], plan["payload"], plan["planned_at"], arms, zones,
    ):
        key = recipient_key(campaign_id, cid)
        arm = arm if isinstance(arm, str) and arm else None
        excluded = outcome == "excluded" or arm == "holdout"
        state = "excluded" if excluded else "planned"
        why = (reason or "excluded") if outcome == "excluded" else ("holdout" if excluded else None)
        body_json = None
        if isinstance(payload, dict):
            body_json = orjson.dumps({**payload, "biz_opaque_callback_data": key}).decode()
        rows.append((campaign_id, key, cid, phone, arm, state, why, mtype, body, body_json,
                     to_epoch(planned_at, now), zone if isinstance(zone, str) and zone else None, now))
    with store.transaction() as conn:
        if conn.execute("SELECT 1 FROM campaigns WHERE campaign_id = ?", (campaign_id,)).fetchone():
            raise LedgerError(f"campaign {campaign_id!r} already exists")
        conn.execute(
            "INSERT INTO campaigns (campaign_id, name, category, status, created_at, segment_name,"
            " experiment_key, spec_json) VALUES (?, ?, ?, 'planned', ?, ?, ?, ?)",
            (campaign_id, name, categories.pop(), now, segment_name, experiment_key,
             orjson.dumps(spec or {}).decode()),
        )
        conn.executemany(
            "INSERT INTO sends (campaign_id, recipient_key, customer_id, phone, arm, state, reason,"
            " message_type, body, payload_json, planned_at, timezone, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        save_links(conn, plan, campaign_id=campaign_id, name=name, now=now)  # the plan's tracked links, if any
    return campaign_id


def campaign_info(store: Store, campaign_id: str) -> dict[str, Any]:
    """The campaign row as a dict; a clear error when there is no such campaign."""
    row = store.query("SELECT * FROM campaigns WHERE campaign_id = ?", (campaign_id,))
    if not row:
        known = [r[0] for r in store.query(
            "SELECT campaign_id FROM campaigns ORDER BY created_at DESC LIMIT 5")]
        raise LedgerError(f"no campaign {campaign_id!r}; recent: {', '.join(known) or 'none'}")
    return dict(row[0])


LEASE_SECONDS = 15.0
"""A sender renews its lease every few seconds; one not renewed for this long is taken over."""


def acquire_lease(store: Store, campaign_id: str) -> None:
    """Take the right to send ``campaign_id`` for this process; a clear error if another has it.

    A lease is free when its process is gone (same host) or it was not renewed for LEASE_SECONDS.
    """
    host, pid, now = socket.gethostname(), os.getpid(), time.time()
    with store.transaction() as conn:
        row = conn.execute("SELECT host, pid, heartbeat_at FROM send_leases WHERE campaign_id = ?",
                           (campaign_id,)).fetchone()
        if row is not None and (row[0], row[1]) != (host, pid) and now - row[2] < LEASE_SECONDS:
            if row[0] != host or _alive(row[1]):
                raise LedgerError(f"campaign {campaign_id!r} is being sent by another process "
                                  f"({row[0]}:{row[1]}); stop it first, or wait {LEASE_SECONDS:g}s if it died")
        conn.execute(
            "INSERT INTO send_leases (campaign_id, owner, host, pid, heartbeat_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (campaign_id) DO UPDATE SET owner = excluded.owner, host = excluded.host,"
            " pid = excluded.pid, heartbeat_at = excluded.heartbeat_at",
            (campaign_id, f"{host}:{pid}", host, pid, now),
        )


def renew_lease(store: Store, campaign_id: str) -> None:
    store.execute("UPDATE send_leases SET heartbeat_at = ? WHERE campaign_id = ? AND host = ? AND pid = ?",
                  (time.time(), campaign_id, socket.gethostname(), os.getpid()))


def release_lease(store: Store, campaign_id: str) -> None:
    store.execute("DELETE FROM send_leases WHERE campaign_id = ? AND host = ? AND pid = ?",
                  (campaign_id, socket.gethostname(), os.getpid()))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def campaign_policy(info: dict[str, Any]) -> Policy:
    """The compliance policy the campaign was planned with (stored from the dry run's plan), else the default."""
    stored = orjson.loads(info.get("spec_json") or "{}").get("policy") or {}
    return Policy(**{k: v for k, v in stored.items() if k in Policy.__dataclass_fields__})


def set_campaign_status(store: Store, campaign_id: str, status: str, now: float) -> None:
    """Move the campaign to ``running``/``paused``/``cancelled``/``complete`` (stamping start/finish)."""
    with store.transaction() as conn:
        conn.execute(
            "UPDATE campaigns SET status = ?,"
            " started_at = CASE WHEN ? = 'running' THEN COALESCE(started_at, ?) ELSE started_at END,"
            " finished_at = CASE WHEN ? IN ('complete', 'cancelled') THEN ? ELSE finished_at END"
            " WHERE campaign_id = ?",
            (status, status, now, status, now, campaign_id),
        )


def planned_sends(store: Store, campaign_id: str, send_ids: Iterable[int] | None = None) -> list[SendRow]:
    """Rows still to send (``planned``; all, or those of ``send_ids``), earliest planned time first."""
    sql = ("SELECT send_id, recipient_key, customer_id, phone, payload_json, planned_at, attempts,"
           " message_type, timezone, (SELECT count(*) FROM attempts a WHERE a.send_id = s.send_id"
           f" AND a.error_code = {THROTTLED}) FROM sends s WHERE campaign_id = ? AND state = 'planned'")
    params: tuple = (campaign_id,)
    if send_ids is not None:
        sql += " AND send_id IN (SELECT value FROM json_each(?))"
        params += (orjson.dumps(list(send_ids)).decode(),)
    rows = store.query(sql + " ORDER BY planned_at, send_id", params)
    return [SendRow(r[0], r[1], r[2], r[3], orjson.loads(r[4]), r[5] or 0.0, *r[6:]) for r in rows]


def claim(store: Store, claims: Iterable[tuple[int, int, str]], now: float,
          outcomes: Iterable[Outcome] = (), api: str = "messages") -> list[int]:
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
                " updated_at = ? WHERE state = 'planned' AND send_id IN (SELECT value FROM json_each(?))"
                " RETURNING send_id, attempts", (pid, api, now, orjson.dumps(list(wanted)).decode()),
            ).fetchall()
            for sid, n in rows:
                if n != wanted[sid]:
                    raise LedgerError(f"send {sid}: attempt {n} in the ledger, {wanted[sid]} expected")
            conn.executemany("INSERT INTO attempts (send_id, attempt_no, started_at, outcome)"
                             " VALUES (?, ?, ?, 'pending')", [(sid, n, now) for sid, n in rows])
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
            attempts.append((o.at, _ATTEMPT_OUTCOME[o.kind], o.http_status, o.error_code, o.details,
                             o.fbtrace_id, o.send_id, o.attempt_no))
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
    statements = [
        ("UPDATE attempts SET finished_at = ?, outcome = ?, http_status = ?, error_code = ?,"
         " error_details = ?, fbtrace_id = ? WHERE send_id = ? AND attempt_no = ?", attempts),
        ("UPDATE sends SET wamid = COALESCE(wamid, ?), accepted_at = COALESCE(accepted_at, ?),"
         " state = CASE WHEN state IN ('planned', 'in_flight', 'unknown') THEN 'accepted'"
         " ELSE state END, updated_at = ? WHERE send_id = ?", accepted),
        ("UPDATE sends SET state = 'planned', error_code = ?, error_title = ?, updated_at = ?"
         " WHERE send_id = ? AND state = 'in_flight'", retry),
        ("UPDATE sends SET state = 'failed', error_code = ?, error_title = ?, failed_at = ?,"
         " updated_at = ? WHERE send_id = ? AND state = 'in_flight'", failed),
        ("UPDATE sends SET state = 'unknown', updated_at = ? WHERE send_id = ? AND state = 'in_flight'",
         unknown),
        ("UPDATE sends SET state = 'excluded', reason = ?, updated_at = ?"
         " WHERE send_id = ? AND state = 'planned'", excluded),
        ("UPDATE sends SET planned_at = ?, updated_at = ? WHERE send_id = ?"
         f" AND (state = 'planned' OR ({_PENDING_HOLDOUT}))", deferred),
        (f"UPDATE sends SET held_at = ?, updated_at = ? WHERE send_id = ? AND {_PENDING_HOLDOUT}", held),
        (f"UPDATE sends SET reason = ?, updated_at = ? WHERE send_id = ? AND {_PENDING_HOLDOUT}", held_out),
    ]
    for sql, rows in statements:
        if rows:
            conn.executemany(sql, rows)


def pending_holdouts(store: Store, campaign_id: str) -> list[SendRow]:
    """Holdout members not yet evaluated at their planned time, earliest first (payload empty)."""
    rows = store.query(
        "SELECT send_id, recipient_key, customer_id, phone, planned_at, message_type, timezone FROM sends"
        f" WHERE campaign_id = ? AND {_PENDING_HOLDOUT} ORDER BY planned_at, send_id", (campaign_id,))
    return [SendRow(r[0], r[1], r[2], r[3], {}, r[4] or 0.0, 0, r[5], r[6], holdout=True) for r in rows]


def recover_in_flight(store: Store, campaign_id: str, now: float) -> int:
    """After a crash: rows left ``in_flight`` may or may not have reached the API → ``unknown``."""
    with store.transaction() as conn:
        conn.execute(
            "UPDATE attempts SET outcome = 'lost', finished_at = ? WHERE outcome = 'pending'"
            " AND send_id IN (SELECT send_id FROM sends WHERE campaign_id = ? AND state = 'in_flight')",
            (now, campaign_id),
        )
        return conn.execute(
            "UPDATE sends SET state = 'unknown', updated_at = ? WHERE campaign_id = ? AND state = 'in_flight'",
            (now, campaign_id),
        ).rowcount


def reconcile_unknown(store: Store, campaign_id: str, now: float) -> int:
    """Settle ``unknown`` rows from the status webhooks already recorded (found by callback data);
    return how many are no longer unknown. The webhook receiver's own rules move the rows."""
    keys = [r[0] for r in store.query(
        "SELECT recipient_key FROM sends WHERE campaign_id = ? AND state = 'unknown'", (campaign_id,))]
    if not keys:
        return 0
    reconcile_sends(store, keys, now)
    left = store.query(
        "SELECT count(*) FROM sends WHERE campaign_id = ? AND state = 'unknown'", (campaign_id,))[0][0]
    return len(keys) - left


def unknown_sends(store: Store, campaign_id: str) -> list[tuple[int, float]]:
    """``(send_id, started_at of the last attempt)`` of every ``unknown`` row."""
    return [(r[0], r[1] or 0.0) for r in store.query(
        "SELECT s.send_id, MAX(a.started_at) FROM sends s LEFT JOIN attempts a ON a.send_id = s.send_id"
        " WHERE s.campaign_id = ? AND s.state = 'unknown' GROUP BY s.send_id",
        (campaign_id,),
    )]


def requeue(store: Store, send_ids: Iterable[int], now: float) -> int:
    """Put ``unknown`` rows back to ``planned`` for a resend (the policy decided no webhook will come)."""
    with store.transaction() as conn:
        return conn.executemany(
            "UPDATE sends SET state = 'planned', updated_at = ? WHERE send_id = ? AND state = 'unknown'",
            [(now, sid) for sid in send_ids],
        ).rowcount


def cancel_open(store: Store, campaign_id: str, now: float) -> int:
    """Cancel every row not yet sent (``planned``) and holdout members not yet evaluated (they count
    like the message rows); rows already in flight are left to finish."""
    with store.transaction() as conn:
        return conn.execute(
            "UPDATE sends SET state = 'cancelled', updated_at = ? WHERE campaign_id = ?"
            f" AND (state = 'planned' OR ({_PENDING_HOLDOUT}))",
            (now, campaign_id),
        ).rowcount


def state_counts(store: Store, campaign_id: str) -> dict[str, int]:
    """How many rows are in each ledger state (every state present, zero when none)."""
    counts = dict.fromkeys(STATES, 0)
    for state, n in store.query(
        "SELECT state, count(*) FROM sends WHERE campaign_id = ? GROUP BY state", (campaign_id,)
    ):
        counts[state] = n
    return counts


def error_breakdown(store: Store, campaign_id: str) -> pd.DataFrame:
    """Errors by Meta code over every attempt and async failure: code, count, meaning, and the
    latest ``fbtrace_id`` Meta gave for the code (what its support asks for; None for async ones)."""
    from ..cloudapi.errors import error_meaning

    frame = store.read_frame(  # SQLite: the bare fbtrace_id comes from the row with the max() time
        "SELECT code, count(*) AS count, max(CASE WHEN trace IS NOT NULL THEN at END) AS traced_at,"
        " trace AS fbtrace_id, total(kind = 'unknown') AS unknown, total(kind = 'not_sent') AS not_sent FROM ("
        " SELECT a.error_code AS code, a.fbtrace_id AS trace, a.started_at AS at,"
        "  CASE WHEN a.outcome IN ('timeout', 'lost') THEN 'unknown'"
        "   WHEN a.http_status IS NULL AND a.error_code IS NULL THEN 'not_sent' END AS kind FROM attempts a"
        "  JOIN sends s ON s.send_id = a.send_id"
        "  WHERE s.campaign_id = :c AND a.outcome IN ('error', 'timeout', 'lost')"
        " UNION ALL SELECT s.error_code, NULL, s.updated_at, NULL FROM sends s WHERE s.campaign_id = :c"
        "  AND s.state = 'failed'"
        "  AND NOT EXISTS (SELECT 1 FROM attempts a WHERE a.send_id = s.send_id AND a.outcome = 'error')"
        ") GROUP BY code ORDER BY count DESC",
        {"c": campaign_id},
    )
    frame["meaning"] = [
        error_meaning(int(c)) if pd.notna(c) else _uncoded_meaning(int(n), int(unknown), int(not_sent))
        for c, n, unknown, not_sent in zip(frame["code"], frame["count"], frame["unknown"], frame["not_sent"])
    ]
    frame["fbtrace_id"] = frame["fbtrace_id"].where(frame["traced_at"].notna(), None)
    return frame[["code", "count", "meaning", "fbtrace_id"]]


def _uncoded_meaning(count: int, unknown: int, not_sent: int) -> str:
    """What errors without a Meta code were: a timeout or dropped response may have been accepted
    (outcome unknown), a connection that could not be opened sent nothing; the two are told apart."""
    kinds = [(unknown, "timeout or dropped response: outcome unknown"),
             (not_sent, "could not connect: not sent"),
             (count - unknown - not_sent, "no error code")]
    present = [(n, text) for n, text in kinds if n]
    if len(present) == 1:
        return present[0][1].capitalize()
    return "; ".join(f"{n} {text}" for n, text in present)


def resend_report(store: Store, campaign_id: str) -> dict[str, int]:
    """Possible and confirmed duplicates: rows resent after an unknown outcome, and rows with
    status webhooks for more than one wamid (the API accepted the message twice)."""
    resent = store.query(
        "SELECT count(DISTINCT a.send_id) FROM attempts a JOIN sends s ON s.send_id = a.send_id"
        " WHERE s.campaign_id = ? AND a.outcome IN ('timeout', 'lost')"
        " AND EXISTS (SELECT 1 FROM attempts b WHERE b.send_id = a.send_id AND b.attempt_no > a.attempt_no)",
        (campaign_id,),
    )[0][0]
    confirmed = store.query(
        "SELECT count(*) FROM (SELECT e.callback_data FROM status_events e JOIN sends s"
        " ON s.recipient_key = e.callback_data WHERE s.campaign_id = ?"
        " GROUP BY e.callback_data HAVING count(DISTINCT e.wamid) > 1)",
        (campaign_id,),
    )[0][0]
    return {"resent_after_unknown": resent, "confirmed_duplicates": confirmed}
