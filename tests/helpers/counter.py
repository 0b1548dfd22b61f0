"""A read-then-write counter in the store: writers in threads or processes that must not lose an update."""

from __future__ import annotations


def bump(store, times):
    """Read, then write, in one writing transaction: a lost update shows as a short count."""
    for _ in range(times):
        with store.transaction() as conn:
            n = conn.execute("SELECT last_inbound_at FROM service_windows WHERE phone = 'counter'").fetchone()[0]
            conn.execute("UPDATE service_windows SET last_inbound_at = ? WHERE phone = 'counter'", (n + 1,))
