"""Messages Meta held back (131049, per-user marketing limit): not our failure, a distinct outcome.

Meta does not deliver a marketing template to a customer who got too many marketing messages
recently (from any business) and advises retrying no sooner than 24 h later (docs/cloud-api.md).
A campaign may opt in to one automatic retry (:func:`set_held_retry`); the status transition then records
``retry_after`` when the hold arrives, and :func:`due_held_retries` lists the rows a worker may
resend. :func:`held_customers` is the retargeting list.

The retry reuses the held row, the one exception to the forward-only ledger: :func:`requeue_due_held`
moves a due held row from ``failed`` back to ``planned`` once, at ``planned_at = retry_after``, and
keeps the held attempt's wamid in ``retried_wamid``. The status transition ignores events for that
wamid (they stay recorded in ``status_events``), so a late or duplicated ``failed`` of the first
attempt cannot fail the retry. ``retry_after`` stays set, so a second hold is never retried again.
The retry is sent like any planned row, through the 24 h marketing cap reservation.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import pandas as pd

from ..store import Store
from .campaigns import spec_of, update_spec
from .cap import MARKETING_CAP_SECONDS
from .states import HELD_BY_META

HELD_RETRY_SECONDS = 86_400.0
"""Meta's advice: retry a held message no sooner than this after the hold."""
HELD_SQL = f"state = 'failed' AND error_code = {HELD_BY_META}"
"""A row Meta held back (the only ``failed`` rows that are not failures of ours)."""


def held_retry_at(
    conn: sqlite3.Connection,
    phone: str,
    held_at: float,
    delay: float = HELD_RETRY_SECONDS,
    cap_seconds: float = MARKETING_CAP_SECONDS,
) -> float:
    """When a marketing message Meta held back (131049) at ``held_at`` may be retried: ``delay``
    after the hold, and not before the customer's latest marketing reservation is ``cap_seconds``
    old (the retry itself must still pass the reservation when it runs)."""
    row = conn.execute("SELECT reserved_at FROM marketing_reservations WHERE phone = ?", (phone,)).fetchone()
    reserved = row[0] if row is not None else float("-inf")
    return max(held_at + delay, reserved + cap_seconds)


def schedule_held_retry(conn: sqlite3.Connection, send_id: int, held_at: float) -> None:
    """Meta held the message back: if its campaign opted in (``retry_held_by_meta`` in its spec),
    record when one retry may run, durably, for the worker that sends due retries."""
    row = conn.execute(
        "SELECT s.phone, c.spec_json FROM sends s JOIN campaigns c ON c.campaign_id = s.campaign_id"
        f" WHERE s.send_id = ? AND s.retry_after IS NULL AND {HELD_SQL}",
        (send_id,),
    ).fetchone()
    if row is not None and _opted_in(row[1]):
        conn.execute(
            "UPDATE sends SET retry_after = ? WHERE send_id = ?", (held_retry_at(conn, row[0], held_at), send_id)
        )


def _opted_in(spec_json: str | None) -> bool:
    return spec_of(spec_json).get("retry_held_by_meta") in (True, 1)


def set_held_retry(store: Store, campaign_id: str, enabled: bool = True) -> None:
    """Opt ``campaign_id`` in (or out) of one automatic retry of its held messages, 24 h later."""
    update_spec(store, campaign_id, lambda spec, category: {**spec, "retry_held_by_meta": bool(enabled)})


def held_customers(store: Store, campaign_id: str | None = None) -> list[str]:
    """Ids of the customers whose message Meta held back (all campaigns, or one), for retargeting."""
    sql = f"SELECT DISTINCT customer_id FROM sends WHERE {HELD_SQL}"
    params: tuple[Any, ...] = ()
    if campaign_id is not None:
        sql += " AND campaign_id = ?"
        params = (campaign_id,)
    return [r[0] for r in store.query(sql + " ORDER BY customer_id", params)]


def due_held_retries(store: Store, now: float) -> pd.DataFrame:
    """Held rows whose scheduled retry time has passed: what a retry worker may resend now
    (each still goes through the 24 h marketing cap when it is sent)."""
    return store.read_frame(
        f"SELECT send_id, campaign_id, recipient_key, customer_id, phone, retry_after FROM sends"
        f" WHERE {_DUE_SQL} ORDER BY retry_after",
        (now,),
    )


_DUE_SQL = (
    f"{HELD_SQL} AND retry_after IS NOT NULL AND retry_after <= ? AND retried_wamid IS NULL"
    " AND campaign_id IN (SELECT campaign_id FROM campaigns WHERE status <> 'cancelled')"
)
"""A held row whose one retry is due and not yet made, in a campaign not cancelled."""


def requeue_due_held(store: Store, now: float) -> list[str]:
    """Put every due held row of a campaign still open or complete back to ``planned`` for its one
    retry, and make its campaign runnable again; return the campaigns that got rows back.

    A complete campaign becomes ``paused`` (a resume sends it) and gets a standing ``run`` request
    if it has none (one sent in process keeps its options, its pace), so the worker sends the
    retries however the campaign was first sent."""
    with store.transaction() as conn:
        campaigns = [
            r[0]
            for r in conn.execute(
                f"SELECT DISTINCT campaign_id FROM sends WHERE {_DUE_SQL} ORDER BY campaign_id", (now,)
            ).fetchall()
        ]
        for campaign_id in campaigns:
            conn.execute(
                "UPDATE sends SET state = 'planned', planned_at = retry_after, retried_wamid = wamid, wamid = NULL,"
                " error_code = NULL, error_title = NULL, failed_at = NULL, updated_at = ?"
                f" WHERE campaign_id = ? AND {_DUE_SQL}",
                (now, campaign_id, now),
            )
            conn.execute(
                "UPDATE campaigns SET status = 'paused', finished_at = NULL"
                " WHERE campaign_id = ? AND status = 'complete'",
                (campaign_id,),
            )
            conn.execute(
                "INSERT INTO campaign_requests (campaign_id, request, options_json, requested_at)"
                " VALUES (?, 'run', '{}', ?) ON CONFLICT (campaign_id) DO UPDATE SET request = 'run'"
                " WHERE campaign_requests.request = 'none'",
                (campaign_id, now),
            )
    return campaigns


def held_count(store: Store, campaign_id: str) -> int:
    """How many of ``campaign_id``'s messages Meta held back."""
    return int(store.query(f"SELECT COUNT(*) FROM sends WHERE campaign_id = ? AND {HELD_SQL}", (campaign_id,))[0][0])
