"""The cross-campaign rule "at most one marketing message per customer per 24 h", made race-free.

The sender calls :func:`reserve_marketing` right before each marketing send and sends only when it
returns True; :func:`release_marketing` gives the slot back when the message never reached the
customer (a permanent failure before acceptance). The check and the claim run in one
``BEGIN IMMEDIATE`` transaction, so two campaigns (threads or processes) on the same database can
never both claim the same customer within 24 h.
"""

from __future__ import annotations

from ..store import Store

MARKETING_CAP_SECONDS = 86_400.0
HELD_BY_META = 131049
"""Meta's per-user marketing limit: the message was held back, not failed; retry no sooner than 24 h."""
HELD_LABEL = "held by Meta"
"""How reports name a 131049 outcome, apart from failures."""
HELD_RETRY_SECONDS = 86_400.0
SENT_STATES = ("in_flight", "accepted", "unknown", "sent", "delivered", "read")
"""Ledger states in which a message may have reached the customer."""

_LEDGER_RECENT = f"""
SELECT 1 FROM sends s JOIN campaigns c ON c.campaign_id = s.campaign_id
WHERE s.phone = ? AND c.category = 'marketing' AND s.campaign_id != ?
  AND s.state IN ({", ".join(repr(s) for s in SENT_STATES)})
  AND COALESCE(s.accepted_at, s.sent_at, s.delivered_at, s.read_at, s.updated_at) > ?
LIMIT 1
"""


def reserve_marketing(store: Store, phone: str, campaign_id: str, now: float,
                      cap_seconds: float = MARKETING_CAP_SECONDS) -> bool:
    """Claim ``phone`` for one marketing message of ``campaign_id`` at ``now``; False if taken.

    Taken means another campaign reserved it, or the ledger shows another campaign's marketing
    message to it, less than ``cap_seconds`` ago. Asking again for the same campaign returns True.
    """
    with store.transaction() as conn:
        holder = _holder(conn, phone, now, cap_seconds)
        if holder is not None:
            return holder == campaign_id
        if conn.execute(_LEDGER_RECENT, (phone, campaign_id, now - cap_seconds)).fetchone():
            return False
        conn.execute(
            "INSERT INTO marketing_reservations (phone, campaign_id, reserved_at) VALUES (?, ?, ?) "
            "ON CONFLICT (phone) DO UPDATE SET campaign_id = excluded.campaign_id, "
            "reserved_at = excluded.reserved_at",
            (phone, campaign_id, float(now)),
        )
        return True


def marketing_taken(store: Store, phone: str, campaign_id: str, now: float,
                    cap_seconds: float = MARKETING_CAP_SECONDS) -> bool:
    """Would :func:`reserve_marketing` refuse ``phone`` now? Reserves nothing: for A/B holdout
    members, who get no message but must be excluded exactly when a message would have been."""
    with store.transaction(immediate=False) as conn:
        holder = _holder(conn, phone, now, cap_seconds)
        if holder is not None:
            return holder != campaign_id
        return conn.execute(_LEDGER_RECENT, (phone, campaign_id, now - cap_seconds)).fetchone() is not None


def _holder(conn, phone: str, now: float, cap_seconds: float) -> str | None:
    """The campaign holding a reservation of ``phone`` younger than ``cap_seconds``, if any."""
    row = conn.execute("SELECT campaign_id, reserved_at FROM marketing_reservations WHERE phone = ?",
                       (phone,)).fetchone()
    return row["campaign_id"] if row is not None and row["reserved_at"] > now - cap_seconds else None


def release_marketing(store: Store, phone: str, campaign_id: str) -> bool:
    """Give back ``campaign_id``'s reservation of ``phone`` (the message did not reach them)."""
    with store.transaction() as conn:
        cur = conn.execute("DELETE FROM marketing_reservations WHERE phone = ? AND campaign_id = ?",
                           (phone, campaign_id))
        return cur.rowcount > 0


def recently_marketed(store: Store, now: float, campaign_id: str = "",
                      cap_seconds: float = MARKETING_CAP_SECONDS) -> set[str]:
    """Phones that other campaigns reserved or sent marketing to in the last ``cap_seconds``."""
    since = now - cap_seconds
    reserved = store.query(
        "SELECT phone FROM marketing_reservations WHERE reserved_at > ? AND campaign_id != ?",
        (since, campaign_id))
    sent = store.query(
        "SELECT DISTINCT s.phone FROM sends s JOIN campaigns c ON c.campaign_id = s.campaign_id "
        f"WHERE c.category = 'marketing' AND s.campaign_id != ? AND s.state IN "
        f"({', '.join(repr(s) for s in SENT_STATES)}) "
        "AND COALESCE(s.accepted_at, s.sent_at, s.delivered_at, s.read_at, s.updated_at) > ?",
        (campaign_id, since))
    return {r[0] for r in reserved} | {r[0] for r in sent}


def held_retry_at(conn, phone: str, held_at: float, delay: float = HELD_RETRY_SECONDS,
                  cap_seconds: float = MARKETING_CAP_SECONDS) -> float:
    """When a marketing message Meta held back (131049) at ``held_at`` may be retried: ``delay``
    after the hold, and not before the customer's latest marketing reservation is ``cap_seconds``
    old (the retry itself must still pass :func:`reserve_marketing` when it runs)."""
    row = conn.execute("SELECT reserved_at FROM marketing_reservations WHERE phone = ?", (phone,)).fetchone()
    reserved = row[0] if row is not None else float("-inf")
    return max(held_at + delay, reserved + cap_seconds)
