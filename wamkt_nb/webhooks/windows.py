"""Recording the customer service window that every inbound message opens.

How long a window stays open and whether it is open now is a compliance rule:
:func:`wamkt_nb.compliance.rules.window_closes_at` and :func:`~wamkt_nb.compliance.rules.window_open`.
"""

from __future__ import annotations

import sqlite3


def open_window(conn: sqlite3.Connection, phone: str, at: float) -> None:
    """Record an inbound message at ``at`` (a late, older message never shortens the window)."""
    conn.execute(
        "INSERT INTO service_windows (phone, last_inbound_at) VALUES (?, ?)"
        " ON CONFLICT(phone) DO UPDATE SET last_inbound_at = CASE WHEN excluded.last_inbound_at"
        " > service_windows.last_inbound_at THEN excluded.last_inbound_at ELSE service_windows.last_inbound_at END",
        (phone, at),
    )
