"""Every SQL statement on journeys: their steps, the child campaigns the steps became, and what the
journey's stop conditions read (replies, orders, opt-outs since the journey began).

A journey's id is the id of the campaign it follows up. A step is *started* once: when it came due
its recipients were chosen and written as the rows of a child campaign with the deterministic id
:func:`step_campaign_id` (the ``campaigns`` primary key makes a second, concurrent start fail), or
it was recorded as reaching nobody. The step row then keeps the child's id, when it started and how
many recipients it had.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from ..store import Store
from .errors import LedgerError
from .states import ACCEPTED_STATES

STOP_REASONS = ("reply", "order", "opt_out")
"""What ends a recipient's journey: a message from them, an order, an opt-out (since the journey began)."""


@dataclass(frozen=True)
class StepRow:
    """One stored step of a journey."""

    journey_id: str
    step: int
    delay_seconds: float
    condition: str
    message_json: str
    campaign_id: str | None
    started_at: float | None
    recipients: int | None
    options_json: str = "{}"
    """The step's own send options (its pace), over those its campaign's run request gives it."""


def step_campaign_id(journey_id: str, step: int) -> str:
    """The id of the campaign holding step ``step``'s messages of journey ``journey_id``."""
    return f"{journey_id}-step{step}"


def save_step(
    store: Store,
    journey_id: str,
    *,
    delay_seconds: float,
    condition: str,
    message_json: str,
    stop_on: Sequence[str],
    now: float,
    options_json: str = "{}",
) -> int:
    """Append a step to ``journey_id`` (creating the journey with ``stop_on``), with its own send
    options (``options_json``); its number."""
    bad = sorted(set(stop_on) - set(STOP_REASONS))
    if bad:
        raise LedgerError(f"journey {journey_id!r}: unknown stop condition(s) {', '.join(bad)}; one of {STOP_REASONS}")
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO journeys (journey_id, stop_on, created_at) VALUES (?, ?, ?)"
            " ON CONFLICT (journey_id) DO UPDATE SET stop_on = excluded.stop_on",
            (journey_id, ",".join(stop_on), now),
        )
        step = int(
            conn.execute(
                "SELECT COALESCE(MAX(step), 0) + 1 FROM journey_steps WHERE journey_id = ?", (journey_id,)
            ).fetchone()[0]
        )
        conn.execute(
            "INSERT INTO journey_steps (journey_id, step, delay_seconds, condition, message_json, options_json)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (journey_id, step, float(delay_seconds), condition, message_json, options_json),
        )
    return step


def clear_unstarted_steps(store: Store, journey_id: str) -> None:
    """Remove the steps of ``journey_id`` that have not started (to define them anew)."""
    with store.transaction() as conn:
        conn.execute("DELETE FROM journey_steps WHERE journey_id = ? AND started_at IS NULL", (journey_id,))


def journey_stop_on(store: Store, journey_id: str) -> tuple[str, ...]:
    rows = store.query("SELECT stop_on FROM journeys WHERE journey_id = ?", (journey_id,))
    return tuple(s for s in (rows[0][0] if rows else "").split(",") if s)


def journey_steps(store: Store, journey_id: str | None = None) -> list[StepRow]:
    """The steps of ``journey_id`` (None: of every journey), in order."""
    sql = (
        "SELECT journey_id, step, delay_seconds, condition, message_json, campaign_id, started_at, recipients,"
        " options_json FROM journey_steps"
    )
    params: tuple[Any, ...] = ()
    if journey_id is not None:
        sql, params = sql + " WHERE journey_id = ?", (journey_id,)
    return [StepRow(*tuple(r)) for r in store.query(sql + " ORDER BY journey_id, step", params)]


def open_journeys(store: Store) -> list[str]:
    """Journeys with a step not yet started whose campaign was sent (started) and not cancelled."""
    return [
        r[0]
        for r in store.query(
            "SELECT DISTINCT j.journey_id FROM journey_steps j JOIN campaigns c ON c.campaign_id = j.journey_id"
            " WHERE j.started_at IS NULL AND c.started_at IS NOT NULL AND c.status <> 'cancelled'"
            " ORDER BY j.journey_id"
        )
    ]


def stage_sent(store: Store, campaign_id: str) -> tuple[bool, float | None, float | None]:
    """Of one stage of a journey (its campaign or a step's): whether no row is still planned or in
    flight, and the first and last time Meta accepted one of its messages (None: none was)."""
    row = store.query(
        "SELECT SUM(CASE WHEN state IN ('planned', 'in_flight') THEN 1 ELSE 0 END),"
        " MIN(COALESCE(accepted_at, sent_at)), MAX(COALESCE(accepted_at, sent_at))"
        " FROM sends WHERE campaign_id = ?",
        (campaign_id,),
    )[0]
    return not row[0], row[1], row[2]


def reached_customers(store: Store, campaign_id: str) -> list[str]:
    """Customers Meta accepted a message of ``campaign_id`` for: a journey's audience."""
    states = ", ".join(f"'{s}'" for s in ACCEPTED_STATES)
    return [
        r[0]
        for r in store.query(
            f"SELECT customer_id FROM sends WHERE campaign_id = ? AND state IN ({states}) ORDER BY customer_id",
            (campaign_id,),
        )
    ]


def stopped_customers(store: Store, journey_id: str, since: float, stop_on: Sequence[str]) -> set[str]:
    """Recipients of ``journey_id``'s campaign who wrote to us, ordered or opted out at or after ``since``."""
    keys = "(s.phone, (SELECT d.bsuid FROM identities d WHERE d.phone = s.phone))"  # phone, or its linked BSUID
    checks = {
        "reply": f"EXISTS (SELECT 1 FROM inbound_messages i WHERE i.phone IN {keys} AND i.timestamp >= :since)",
        "order": "EXISTS (SELECT 1 FROM conversions o WHERE o.customer_id = s.customer_id AND o.at >= :since)",
        "opt_out": f"EXISTS (SELECT 1 FROM consent k WHERE k.phone IN {keys} AND k.marketing = 0)",
    }
    chosen = [checks[s] for s in stop_on if s in checks]
    if not chosen:
        return set()
    rows = store.query(
        f"SELECT s.customer_id FROM sends s WHERE s.campaign_id = :journey AND ({' OR '.join(chosen)})",
        {"journey": journey_id, "since": since},
    )
    return {r[0] for r in rows}


def mark_started(
    store: Store, journey_id: str, step: int, campaign_id: str | None, recipients: int, now: float
) -> bool:
    """Record that the step started (once: False when it already had)."""
    with store.transaction() as conn:
        changed = conn.execute(
            "UPDATE journey_steps SET campaign_id = ?, started_at = ?, recipients = ?"
            " WHERE journey_id = ? AND step = ? AND started_at IS NULL",
            (campaign_id, now, recipients, journey_id, step),
        ).rowcount
    return bool(changed)


def submit_step(store: Store, campaign_id: str, options: dict[str, Any], now: float) -> None:
    """A standing ``run`` request for a step's campaign with its send ``options``, so a worker sends
    it like a submitted one (a request already there, written by the process that started the step
    first, stands)."""
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO campaign_requests (campaign_id, request, options_json, requested_at)"
            " VALUES (?, 'run', ?, ?) ON CONFLICT (campaign_id) DO NOTHING",
            (campaign_id, orjson.dumps(options).decode(), now),
        )


def step_campaigns(store: Store) -> list[tuple[str, int, str, float, str]]:
    """``(journey_id, step, campaign_id, delay_seconds, condition)`` of every started step with a campaign."""
    return [
        (r[0], int(r[1]), r[2], float(r[3]), r[4])
        for r in store.query(
            "SELECT journey_id, step, campaign_id, delay_seconds, condition FROM journey_steps"
            " WHERE campaign_id IS NOT NULL ORDER BY journey_id, step"
        )
    ]
