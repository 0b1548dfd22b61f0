"""Reports read from the ledger: counts per state, errors by code, duplicates, who was reached,
and the raw columns the analytics load (for widgets, CLI, notebooks and dashboards).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from ..cloudapi.errors import error_meaning
from ..store import Store
from .states import ACCEPTED_STATES, EXPOSED_STATES, STATES


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
    frame = store.read_frame(  # latest: per code, the traced error of recency 1 is the newest with an fbtrace_id
        "WITH errors AS ("
        " SELECT a.error_code AS code, a.fbtrace_id AS trace, a.started_at AS at,"
        "  CASE WHEN a.outcome IN ('timeout', 'lost') THEN 'unknown'"
        "   WHEN a.http_status IS NULL AND a.error_code IS NULL THEN 'not_sent' END AS kind FROM attempts a"
        "  JOIN sends s ON s.send_id = a.send_id"
        "  WHERE s.campaign_id = :c AND a.outcome IN ('error', 'timeout', 'lost')"
        " UNION ALL SELECT s.error_code, NULL, s.updated_at, NULL FROM sends s WHERE s.campaign_id = :c"
        "  AND s.state = 'failed'"
        "  AND NOT EXISTS (SELECT 1 FROM attempts a WHERE a.send_id = s.send_id AND a.outcome = 'error')"
        "), latest AS (SELECT errors.*, ROW_NUMBER() OVER (PARTITION BY code"
        "  ORDER BY CASE WHEN trace IS NULL THEN 1 ELSE 0 END, at DESC) AS recency FROM errors)"
        " SELECT code, count(*) AS count, MAX(CASE WHEN recency = 1 THEN trace END) AS fbtrace_id,"
        " SUM(CASE WHEN kind = 'unknown' THEN 1 ELSE 0 END) AS unknown,"
        " SUM(CASE WHEN kind = 'not_sent' THEN 1 ELSE 0 END) AS not_sent"
        " FROM latest GROUP BY code ORDER BY count DESC, code NULLS FIRST",
        {"c": campaign_id},
    )
    frame["meaning"] = [
        error_meaning(int(c)) if pd.notna(c) else _uncoded_meaning(int(n), int(unknown), int(not_sent))
        for c, n, unknown, not_sent in zip(
            frame["code"], frame["count"], frame["unknown"], frame["not_sent"], strict=True
        )
    ]
    return frame[["code", "count", "meaning", "fbtrace_id"]]


def _uncoded_meaning(count: int, unknown: int, not_sent: int) -> str:
    """What errors without a Meta code were: a timeout or dropped response may have been accepted
    (outcome unknown), a connection that could not be opened sent nothing; the two are told apart."""
    kinds = [
        (unknown, "timeout or dropped response: outcome unknown"),
        (not_sent, "could not connect: not sent"),
        (count - unknown - not_sent, "no error code"),
    ]
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
        " GROUP BY e.callback_data HAVING count(DISTINCT e.wamid) > 1) AS duplicated",
        (campaign_id,),
    )[0][0]
    return {"resent_after_unknown": resent, "confirmed_duplicates": confirmed}


def reached_phones(store: Store, campaign_id: str) -> set[str]:
    """Phones of the campaign's recipients whose message Meta accepted (reached by the campaign)."""
    marks = ", ".join("?" * len(ACCEPTED_STATES))
    return {
        r[0]
        for r in store.query(
            f"SELECT DISTINCT phone FROM sends WHERE campaign_id = ? AND state IN ({marks})",
            (campaign_id, *ACCEPTED_STATES),
        )
    }


_IDS_PER_QUERY = 500
"""Customer ids per ``IN`` list, well under SQLite's bound parameters."""


def marketing_read_history(store: Store, customer_ids: Sequence[str]) -> tuple[int, int]:
    """``(messages, read)``: the customers' marketing messages counted as A/B exposures
    (:data:`~.states.EXPOSED_STATES`) and how many of them were read."""
    ids = [str(c) for c in customer_ids]
    sent = read = 0
    for i in range(0, len(ids), _IDS_PER_QUERY):
        chunk = ids[i : i + _IDS_PER_QUERY]
        rows = store.query(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN s.read_at IS NOT NULL THEN 1 ELSE 0 END), 0) FROM sends s"
            " JOIN campaigns c ON c.campaign_id = s.campaign_id"
            f" WHERE c.category = 'marketing' AND s.state IN ({', '.join('?' * len(EXPOSED_STATES))})"
            f" AND s.customer_id IN ({', '.join('?' * len(chunk))})",
            (*EXPOSED_STATES, *chunk),
        )
        sent, read = sent + int(rows[0][0]), read + int(rows[0][1])
    return sent, read


SENDS_FINGERPRINT_SQL = (
    "SELECT COUNT(*), MAX(send_id), SUM(updated_at), SUM(accepted_at), SUM(sent_at),"
    " SUM(delivered_at), SUM(read_at), SUM(failed_at), SUM(error_code), SUM(billable),"
    " SUM(LENGTH(state)) FROM sends"
)
"""One scan of ``sends`` summarised (row count, highest id, sums of ``updated_at`` and of every
stage time): any insert or state change alters it (the analytics snapshot's validity check)."""


def send_table_columns(store: Store) -> list[str]:
    """The columns of ``sends`` as the database has them (a migration may add one)."""
    return store.columns("sends")


def _created_between(since: float | None, until: float | None) -> tuple[str, tuple[Any, ...]]:
    where, params = [], []
    if since is not None:
        where.append("created_at >= ?")
        params.append(since)
    if until is not None:
        where.append("created_at < ?")
        params.append(until)
    return (f" WHERE {' AND '.join(where)}" if where else ""), tuple(params)


def campaign_rows(
    store: Store, columns: Sequence[str], since: float | None = None, until: float | None = None
) -> list[tuple[Any, ...]]:
    """``columns`` of the campaigns created in ``[since, until)`` (epoch s; None: unbounded), oldest first."""
    clause, params = _created_between(since, until)
    return store.query_tuples(f"SELECT {', '.join(columns)} FROM campaigns{clause} ORDER BY created_at", params)


def send_rows(
    store: Store, columns: Sequence[str], since: float | None = None, until: float | None = None
) -> list[tuple[Any, ...]]:
    """``columns`` of the sends of the campaigns created in ``[since, until)`` (None: unbounded)."""
    clause, params = _created_between(since, until)
    where = f" WHERE campaign_id IN (SELECT campaign_id FROM campaigns{clause})" if clause else ""
    return store.query_tuples(f"SELECT {', '.join(columns)} FROM sends{where}", params)


def waiting_by_reason(store: Store, campaign_id: str, now: float) -> list[tuple[str, int, float, float]]:
    """Rows still ``planned`` for after ``now``, by reason ('' when the plan gave none): count, first
    and last planned time."""
    return [
        tuple(r)
        for r in store.query(
            "SELECT coalesce(reason, ''), count(*), min(planned_at), max(planned_at) FROM sends"
            " WHERE campaign_id = ? AND state = 'planned' AND planned_at > ? GROUP BY 1",
            (campaign_id, now),
        )
    ]


def planned_recipient_at(store: Store, campaign_id: str, at: float) -> tuple[str | None, str] | None:
    """The plan's time zone and phone of the first row planned at ``at`` (None when there is none)."""
    rows = store.query(
        "SELECT timezone, phone FROM sends WHERE campaign_id = ? AND state = 'planned' AND planned_at = ?"
        " ORDER BY send_id LIMIT 1",
        (campaign_id, at),
    )
    return (rows[0][0], rows[0][1]) if rows else None


def excluded_by_reason(store: Store, campaign_id: str) -> list[tuple[str, int]]:
    """Excluded rows counted by reason, largest first."""
    return [
        (r[0], r[1])
        for r in store.query(
            "SELECT coalesce(reason, ''), count(*) FROM sends WHERE campaign_id = ? AND state = 'excluded'"
            " GROUP BY 1 ORDER BY 2 DESC, 1",
            (campaign_id,),
        )
    ]
