"""Marketing opt-outs and opt-ins in the ``consent`` table, from keywords and user preferences.

The keywords are fixed here, not in editable rules, so deleting a rule can never stop an opt-out.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from ..store import Store
from .text import normalize_text

OPT_OUT_KEYWORDS = frozenset({"stop", "stopp", "abmelden", "unsubscribe"})
OPT_IN_KEYWORDS = frozenset({"start"})


def keyword_consent(text: str | None) -> bool | None:
    """False for an opt-out keyword (the whole message), True for an opt-in keyword, else None."""
    words = normalize_text(text)
    if words in OPT_OUT_KEYWORDS:
        return False
    if words in OPT_IN_KEYWORDS:
        return True
    return None


def message_consent(meanings: Iterable[str]) -> bool | None:
    """The consent a message expresses, reading its meanings in order (payload before label/text):
    the first that is a keyword decides. A button labelled "Stop promotions" with payload ``STOP``
    opts out."""
    for meaning in meanings:
        choice = keyword_consent(meaning)
        if choice is not None:
            return choice
    return None


def record_consent(conn: sqlite3.Connection, phone: str, marketing: bool, at: float, source: str) -> bool:
    """Set the customer's marketing consent unless a newer change is already recorded; True if written."""
    cur = conn.execute(
        "INSERT INTO consent (phone, marketing, changed_at, source) VALUES (?, ?, ?, ?)"
        " ON CONFLICT(phone) DO UPDATE SET marketing = excluded.marketing,"
        " changed_at = excluded.changed_at, source = excluded.source"
        " WHERE excluded.changed_at >= consent.changed_at",
        (phone, int(marketing), at, source),
    )
    return cur.rowcount > 0


def opted_out(store: Store, phone: str) -> bool:
    """True if the customer's latest recorded choice is no marketing."""
    row = store.query("SELECT marketing FROM consent WHERE phone = ?", (phone,))
    return bool(row) and row[0][0] == 0
