"""The 24 h customer service window, opened by every inbound message."""

from __future__ import annotations

import sqlite3

from ..store import Store

WINDOW_SECONDS = 24 * 3600


def open_window(conn: sqlite3.Connection, phone: str, at: float) -> None:
    """Record an inbound message at ``at`` (a late, older message never shortens the window)."""
    conn.execute(
        "INSERT INTO service_windows (phone, last_inbound_at) VALUES (?, ?)"
        " ON CONFLICT(phone) DO UPDATE SET last_inbound_at = MAX(last_inbound_at, excluded.last_inbound_at)",
        (phone, at),
    )


def window_closes_at(store: Store, phone: str) -> float | None:
    """When the customer's service window closes (epoch seconds), or None if they never wrote."""
    row = store.query("SELECT last_inbound_at FROM service_windows WHERE phone = ?", (phone,))
    return row[0][0] + WINDOW_SECONDS if row else None


def window_open(store: Store, phone: str, now: float) -> bool:
    """Whether a free-form (session) message may be sent to ``phone`` at ``now``."""
    closes = window_closes_at(store, phone)
    return closes is not None and now < closes
