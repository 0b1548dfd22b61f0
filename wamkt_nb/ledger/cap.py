"""The ledger's side of the 24 h marketing cap: which phones got a marketing message lately.

The race-free reservation itself lives in :mod:`wamkt_nb.compliance.reservation`; these queries
say what the ledger already shows (rows in :data:`~.states.CAP_STATES`).
"""

from __future__ import annotations

import sqlite3

from ..store import Store
from .states import CAP_STATES

MARKETING_CAP_SECONDS = 86_400.0
"""At most one marketing message per customer in this many seconds, across campaigns."""

_IN_CAP = ", ".join(f"'{s}'" for s in CAP_STATES)
_MARKETED_SINCE = (
    "FROM sends s JOIN campaigns c ON c.campaign_id = s.campaign_id"
    f" WHERE c.category = 'marketing' AND s.campaign_id != ? AND s.state IN ({_IN_CAP})"
    " AND COALESCE(s.accepted_at, s.sent_at, s.delivered_at, s.read_at, s.updated_at) > ?"
)


def marketed_since(conn: sqlite3.Connection, phone: str, campaign_id: str, since: float) -> bool:
    """Whether another campaign's marketing message to ``phone`` is on the ledger after ``since``
    (run inside the caller's transaction, next to its reservation check)."""
    return (
        conn.execute(f"SELECT 1 {_MARKETED_SINCE} AND s.phone = ? LIMIT 1", (campaign_id, since, phone)).fetchone()
        is not None
    )


def marketed_phones(store: Store, campaign_id: str, since: float) -> set[str]:
    """Phones other campaigns sent marketing to after ``since``."""
    return {r[0] for r in store.query(f"SELECT DISTINCT s.phone {_MARKETED_SINCE}", (campaign_id, since))}


def template_recipients(store: Store, start: float, end: float) -> int:
    """How many distinct phones got a template message in ``(start, end]`` (the messaging limit's count)."""
    row = store.query(
        f"SELECT COUNT(DISTINCT phone) FROM sends WHERE message_type = 'template' AND state IN ({_IN_CAP})"
        " AND COALESCE(accepted_at, sent_at, updated_at) > ? AND COALESCE(accepted_at, sent_at, updated_at) <= ?",
        (start, end),
    )
    return int(row[0][0])
