"""Send leases: one process at a time sends a campaign's rows from one phone number.

A lease is held per (campaign, sending number). A campaign sent from two numbers can thus be sent
by two processes at once, each from its own number (its rows are pinned to it, see
:func:`~.sends.pin_numbers`), and each number keeps one pace; a process may hold several.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterable

from ..store import Store
from .errors import LedgerError

LEASE_SECONDS = 15.0
"""A sender renews its lease every few seconds; one not renewed for this long is taken over."""


def acquire_lease(store: Store, campaign_id: str, phone_number_ids: Iterable[str]) -> None:
    """Take the right to send ``campaign_id`` from each of ``phone_number_ids`` for this process, all
    or none; a clear error if another process has one of them.

    A lease is free when its process is gone (same host) or it was not renewed for LEASE_SECONDS.
    The take-over replaces only the holder found free (the lease's key decides between two takers).
    """
    host, pid, now = socket.gethostname(), os.getpid(), time.time()
    with store.transaction() as conn:
        for number in sorted(set(phone_number_ids)):
            row = conn.execute(
                "SELECT host, pid, heartbeat_at FROM send_leases WHERE campaign_id = ? AND phone_number_id = ?",
                (campaign_id, number),
            ).fetchone()
            if row is not None and (row[0], row[1]) != (host, pid) and now - row[2] < LEASE_SECONDS:
                if row[0] != host or _alive(row[1]):
                    raise _taken(campaign_id, number, row[0], row[1])
            free = (row[0], row[1]) if row is not None else (host, pid)
            taken = conn.execute(
                "INSERT INTO send_leases (campaign_id, phone_number_id, owner, host, pid, heartbeat_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (campaign_id, phone_number_id) DO UPDATE SET"
                " owner = excluded.owner, host = excluded.host, pid = excluded.pid,"
                " heartbeat_at = excluded.heartbeat_at WHERE (send_leases.host = ? AND send_leases.pid = ?)"
                " OR (send_leases.host = ? AND send_leases.pid = ?)"
                " RETURNING pid",
                (campaign_id, number, f"{host}:{pid}", host, pid, now, host, pid, *free),
            ).fetchone()
            if taken is None:  # another process took the lease since it was read
                holder = conn.execute(
                    "SELECT host, pid FROM send_leases WHERE campaign_id = ? AND phone_number_id = ?",
                    (campaign_id, number),
                ).fetchone()
                raise _taken(campaign_id, number, *(holder or ("?", "?")))


def held_elsewhere(store: Store, campaign_id: str) -> set[str]:
    """The numbers of ``campaign_id`` whose lease another live process holds (a lease of a process
    gone on this host, or not renewed for LEASE_SECONDS, is free)."""
    host, pid, now = socket.gethostname(), os.getpid(), time.time()
    rows = store.query(
        "SELECT phone_number_id, host, pid, heartbeat_at FROM send_leases WHERE campaign_id = ?", (campaign_id,)
    )
    return {
        r[0]
        for r in rows
        if (r[1], r[2]) != (host, pid) and now - r[3] < LEASE_SECONDS and (r[1] != host or _alive(r[2]))
    }


def _taken(campaign_id: str, number: str, host: str, pid: object) -> LedgerError:
    return LedgerError(
        f"campaign {campaign_id!r} is being sent from number {number} by another process "
        f"({host}:{pid}); stop it first, or wait {LEASE_SECONDS:g}s if it died"
    )


def renew_lease(store: Store, campaign_id: str) -> None:
    """Renew every lease of ``campaign_id`` this process holds."""
    store.execute(
        "UPDATE send_leases SET heartbeat_at = ? WHERE campaign_id = ? AND host = ? AND pid = ?",
        (time.time(), campaign_id, socket.gethostname(), os.getpid()),
    )


def release_lease(store: Store, campaign_id: str, phone_number_ids: Iterable[str]) -> None:
    """Give back this process's leases of ``campaign_id`` on ``phone_number_ids``."""
    numbers = sorted(set(phone_number_ids))
    if numbers:
        store.execute(
            f"DELETE FROM send_leases WHERE campaign_id = ? AND host = ? AND pid = ?"
            f" AND phone_number_id IN ({', '.join('?' * len(numbers))})",
            (campaign_id, socket.gethostname(), os.getpid(), *numbers),
        )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
