"""Send leases: one process at a time sends a campaign."""

from __future__ import annotations

import os
import socket
import time

from ..store import Store
from .errors import LedgerError

LEASE_SECONDS = 15.0
"""A sender renews its lease every few seconds; one not renewed for this long is taken over."""


def acquire_lease(store: Store, campaign_id: str) -> None:
    """Take the right to send ``campaign_id`` for this process; a clear error if another has it.

    A lease is free when its process is gone (same host) or it was not renewed for LEASE_SECONDS.
    The take-over replaces only the holder found free (the lease's key decides between two takers).
    """
    host, pid, now = socket.gethostname(), os.getpid(), time.time()
    with store.transaction() as conn:
        row = conn.execute(
            "SELECT host, pid, heartbeat_at FROM send_leases WHERE campaign_id = ?", (campaign_id,)
        ).fetchone()
        if row is not None and (row[0], row[1]) != (host, pid) and now - row[2] < LEASE_SECONDS:
            if row[0] != host or _alive(row[1]):
                raise _taken(campaign_id, row[0], row[1])
        free = (row[0], row[1]) if row is not None else (host, pid)
        taken = conn.execute(
            "INSERT INTO send_leases (campaign_id, owner, host, pid, heartbeat_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (campaign_id) DO UPDATE SET owner = excluded.owner, host = excluded.host,"
            " pid = excluded.pid, heartbeat_at = excluded.heartbeat_at"
            " WHERE (send_leases.host = ? AND send_leases.pid = ?) OR (send_leases.host = ? AND send_leases.pid = ?)"
            " RETURNING pid",
            (campaign_id, f"{host}:{pid}", host, pid, now, host, pid, *free),
        ).fetchone()
        if taken is None:  # another process took the lease since it was read
            holder = conn.execute("SELECT host, pid FROM send_leases WHERE campaign_id = ?", (campaign_id,)).fetchone()
            raise _taken(campaign_id, *(holder or ("?", "?")))


def _taken(campaign_id: str, host: str, pid: object) -> LedgerError:
    return LedgerError(
        f"campaign {campaign_id!r} is being sent by another process "
        f"({host}:{pid}); stop it first, or wait {LEASE_SECONDS:g}s if it died"
    )


def renew_lease(store: Store, campaign_id: str) -> None:
    store.execute(
        "UPDATE send_leases SET heartbeat_at = ? WHERE campaign_id = ? AND host = ? AND pid = ?",
        (time.time(), campaign_id, socket.gethostname(), os.getpid()),
    )


def release_lease(store: Store, campaign_id: str) -> None:
    store.execute(
        "DELETE FROM send_leases WHERE campaign_id = ? AND host = ? AND pid = ?",
        (campaign_id, socket.gethostname(), os.getpid()),
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
