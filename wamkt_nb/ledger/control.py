"""Requests to the worker: submit, pause, resume and cancel a campaign through the ledger.

The notebook and ``wamkt send --submit`` write a request; a ``wamkt worker`` (any process, any
host on a shared PostgreSQL) reads the open ones each tick, starts the campaigns that are due and
passes pause/resume/cancel to the runner it has. A request outlives the process that wrote it, so
closing the notebook does not stop the campaign.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from ..store import Store
from .errors import LedgerError
from .sends import _PENDING_HOLDOUT

REQUESTS = ("run", "pause", "cancel")
"""What may be asked of a campaign: ``run`` (submit, resume), ``pause``, ``cancel``."""

NOTHING = "none"
"""The request of a campaign sent in process (a notebook, ``wamkt send``), never submitted: no
worker sends it, but its row keeps the pace it was sent with for its journey steps."""


@dataclass(frozen=True)
class Request:
    """An open request: the campaign is neither complete nor cancelled yet."""

    campaign_id: str
    request: str
    options: dict[str, Any]
    status: str
    """The campaign's status in the ledger (``planned``, ``running``, ``paused``)."""


def submit(store: Store, campaign_id: str, options: dict[str, Any], now: float) -> None:
    """Hand ``campaign_id`` to the worker with its send ``options`` (JSON values; the worker adds
    its sending numbers); a later submit replaces the options and asks it to run again."""
    with store.transaction() as conn:
        row = conn.execute("SELECT status FROM campaigns WHERE campaign_id = ?", (campaign_id,)).fetchone()
        if row is None:
            raise LedgerError(f"no campaign {campaign_id!r} to submit: dry-run it first")
        if row[0] in ("complete", "cancelled"):
            raise LedgerError(f"campaign {campaign_id!r} is {row[0]}: nothing left to send")
        conn.execute(
            "INSERT INTO campaign_requests (campaign_id, request, options_json, requested_at)"
            " VALUES (?, 'run', ?, ?) ON CONFLICT (campaign_id) DO UPDATE SET request = 'run',"
            " options_json = excluded.options_json, requested_at = excluded.requested_at",
            (campaign_id, orjson.dumps(options).decode(), now),
        )


def request(store: Store, campaign_id: str, what: str, now: float) -> None:
    """Ask the worker to ``pause``, ``run`` (resume) or ``cancel`` a submitted campaign."""
    if what not in REQUESTS:
        raise LedgerError(f"unknown request {what!r}; one of {', '.join(REQUESTS)}")
    with store.transaction() as conn:
        changed = conn.execute(
            "UPDATE campaign_requests SET request = ?, requested_at = ? WHERE campaign_id = ? AND request <> ?",
            (what, now, campaign_id, NOTHING),
        ).rowcount
    if not changed:
        raise LedgerError(f"campaign {campaign_id!r} was not submitted to a worker")


def requested(store: Store, campaign_id: str) -> str | None:
    """The standing request of ``campaign_id``; None when it was never submitted."""
    rows = store.query(
        "SELECT request FROM campaign_requests WHERE campaign_id = ? AND request <> ?", (campaign_id, NOTHING)
    )
    return rows[0][0] if rows else None


def record_options(store: Store, campaign_id: str, options: dict[str, Any], now: float) -> None:
    """Keep ``options`` (JSON values) over the send options of ``campaign_id``'s request, as a run
    sends it: a campaign sent in process gets a ``none`` request to keep them in, so its journey
    steps read the pace it was sent with where they read a submitted one's."""
    with store.transaction() as conn:
        row = conn.execute(
            "SELECT options_json FROM campaign_requests WHERE campaign_id = ?", (campaign_id,)
        ).fetchone()
        if row is None:
            conn.execute(
                "INSERT INTO campaign_requests (campaign_id, request, options_json, requested_at) VALUES (?, ?, ?, ?)",
                (campaign_id, NOTHING, orjson.dumps(options).decode(), now),
            )
            return
        kept = orjson.loads(row[0] or "{}")
        if {**kept, **options} != kept:
            conn.execute(
                "UPDATE campaign_requests SET options_json = ? WHERE campaign_id = ?",
                (orjson.dumps({**kept, **options}).decode(), campaign_id),
            )


def options_of(store: Store, campaign_id: str) -> dict[str, Any]:
    """The send options ``campaign_id`` was submitted or last sent with (``{}`` when neither)."""
    rows = store.query("SELECT options_json FROM campaign_requests WHERE campaign_id = ?", (campaign_id,))
    return orjson.loads(rows[0][0] or "{}") if rows else {}


def open_requests(store: Store) -> list[Request]:
    """Requests of campaigns not yet complete or cancelled, oldest request first (a campaign sent in
    process has none)."""
    rows = store.query(
        "SELECT r.campaign_id, r.request, r.options_json, c.status FROM campaign_requests r"
        " JOIN campaigns c ON c.campaign_id = r.campaign_id"
        " WHERE c.status NOT IN ('complete', 'cancelled') AND r.request <> ? ORDER BY r.requested_at, r.campaign_id",
        (NOTHING,),
    )
    return [Request(r[0], r[1], orjson.loads(r[2] or "{}"), r[3]) for r in rows]


def next_due_at(store: Store, campaign_id: str, numbers: Iterable[str] | None = None) -> float | None:
    """When the campaign next has work for a sender (of every number, or for one sending from
    ``numbers``: rows pinned to them or not pinned yet): the earliest planned row (or holdout member
    to evaluate); rows a dead sender left ``in_flight``, or ``unknown`` while the campaign is still
    marked running or under a lease its sender never released (it died before deciding about them;
    another sender may have marked the campaign paused since), are due at once (a resume settles
    them). None: nothing left to do."""
    pinned = ""
    params: tuple[str, ...] = ()
    if numbers is not None:
        wanted = tuple(sorted(set(numbers)))
        pinned = f" AND (s.phone_number_id IS NULL OR s.phone_number_id IN ({', '.join('?' * len(wanted))}))"
        params = wanted
    rows = store.query(
        "SELECT MIN(CASE WHEN s.state = 'planned' OR (" + _PENDING_HOLDOUT + ") THEN s.planned_at"
        " WHEN s.state = 'in_flight' OR (s.state = 'unknown' AND (c.status = 'running' OR EXISTS (SELECT 1"
        " FROM send_leases l WHERE l.campaign_id = s.campaign_id AND l.phone_number_id = s.phone_number_id)))"
        " THEN 0 END)"
        " FROM sends s JOIN campaigns c ON c.campaign_id = s.campaign_id WHERE s.campaign_id = ?" + pinned,
        (campaign_id, *params),
    )
    return None if not rows or rows[0][0] is None else float(rows[0][0])
