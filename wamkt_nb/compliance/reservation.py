"""The cross-campaign rule "at most one marketing message per customer per 24 h", made race-free.

The sender calls :func:`reserve_marketing` right before each marketing send and sends only when it
returns True; :func:`release_marketing` gives the slot back when the message never reached the
customer (a permanent failure before acceptance). The check and the claim run in one writing
transaction, and the claim itself is an upsert on the phone's primary key that leaves another
campaign's fresh reservation alone, so two campaigns (threads or processes) on the same database,
SQLite or PostgreSQL, can never both claim the same customer within 24 h.
"""

from __future__ import annotations

from ..ledger.cap import MARKETING_CAP_SECONDS, marketed_phones, marketed_since
from ..store import Store


def reserve_marketing(
    store: Store, phone: str, campaign_id: str, now: float, cap_seconds: float = MARKETING_CAP_SECONDS
) -> bool:
    """Claim ``phone`` for one marketing message of ``campaign_id`` at ``now``; False if taken.

    Taken means another campaign reserved it, or the ledger shows another campaign's marketing
    message to it, less than ``cap_seconds`` ago. Asking again for the same campaign returns True.
    """
    with store.transaction() as conn:
        holder = _holder(conn, phone, now, cap_seconds)
        if holder is not None:
            return holder == campaign_id
        if marketed_since(conn, phone, campaign_id, now - cap_seconds):
            return False
        return (
            conn.execute(  # the phone's key decides: a fresh reservation of another campaign stays
                "INSERT INTO marketing_reservations (phone, campaign_id, reserved_at) VALUES (?, ?, ?) "
                "ON CONFLICT (phone) DO UPDATE SET campaign_id = excluded.campaign_id, "
                "reserved_at = excluded.reserved_at WHERE marketing_reservations.campaign_id = excluded.campaign_id"
                " OR marketing_reservations.reserved_at <= ? RETURNING campaign_id",
                (phone, campaign_id, float(now), float(now) - cap_seconds),
            ).fetchone()
            is not None
        )


def marketing_taken(
    store: Store, phone: str, campaign_id: str, now: float, cap_seconds: float = MARKETING_CAP_SECONDS
) -> bool:
    """Would :func:`reserve_marketing` refuse ``phone`` now? Reserves nothing: for A/B holdout
    members, who get no message but must be excluded exactly when a message would have been."""
    with store.transaction(immediate=False) as conn:
        holder = _holder(conn, phone, now, cap_seconds)
        if holder is not None:
            return holder != campaign_id
        return marketed_since(conn, phone, campaign_id, now - cap_seconds)


def _holder(conn, phone: str, now: float, cap_seconds: float) -> str | None:
    """The campaign holding a reservation of ``phone`` younger than ``cap_seconds``, if any."""
    row = conn.execute(
        "SELECT campaign_id, reserved_at FROM marketing_reservations WHERE phone = ?", (phone,)
    ).fetchone()
    return row["campaign_id"] if row is not None and row["reserved_at"] > now - cap_seconds else None


def release_marketing(store: Store, phone: str, campaign_id: str) -> bool:
    """Give back ``campaign_id``'s reservation of ``phone`` (the message did not reach them)."""
    with store.transaction() as conn:
        cur = conn.execute(
            "DELETE FROM marketing_reservations WHERE phone = ? AND campaign_id = ?", (phone, campaign_id)
        )
        return cur.rowcount > 0


def recently_marketed(
    store: Store, now: float, campaign_id: str = "", cap_seconds: float = MARKETING_CAP_SECONDS
) -> set[str]:
    """Phones that other campaigns reserved or sent marketing to in the last ``cap_seconds``."""
    since = now - cap_seconds
    reserved = store.query(
        "SELECT phone FROM marketing_reservations WHERE reserved_at > ? AND campaign_id != ?", (since, campaign_id)
    )
    return {r[0] for r in reserved} | marketed_phones(store, campaign_id, since)
