"""Who a customer is: a phone, a business-scoped user ID (BSUID) or both, and their one key.

Every table keyed by customer holds the customer key in its ``phone`` column: the phone (E.164) if
known, else the BSUID (migration ``core/006``). :func:`resolve_identity` turns what a webhook or an
import names (phone, BSUID, parent BSUID, username) into that key, recording the identity on first
sight and filling in what was missing. When a BSUID known alone turns out to belong to a phone
known alone (a webhook carries both), the two are one customer: :func:`merge_keys` moves every row
kept under the BSUID to the phone, so consent, the service window, the 24 h cap, the inbox, the
auto-replies and A/B outcomes follow the customer. Meta's identity-change webhooks (a new BSUID, a
new number) are applied by :func:`apply_identity_change`.
"""

from __future__ import annotations

import sqlite3

import pandas as pd

from .ledger.sends import move_customer_key
from .store import Store

_MOVED = ("inbound_messages", "replies", "autoreply_log", "conversions")
"""Tables with many rows per customer: their key column is rewritten."""


def _later(table: str, column: str) -> str:
    """The later of the row's and the incoming ``column`` (standard SQL: no two-argument MAX)."""
    return f"CASE WHEN excluded.{column} > {table}.{column} THEN excluded.{column} ELSE {table}.{column} END"


def _if_newer(table: str, column: str, time: str) -> str:
    return f"CASE WHEN excluded.{time} >= {table}.{time} THEN excluded.{column} ELSE {table}.{column} END"


_ONE_PER_KEY = {  # table: the SET clause that keeps the right row when both keys have one
    "consent": f"marketing = {_if_newer('consent', 'marketing', 'changed_at')},"
    f" source = {_if_newer('consent', 'source', 'changed_at')},"
    f" changed_at = {_later('consent', 'changed_at')}",
    "service_windows": f"last_inbound_at = {_later('service_windows', 'last_inbound_at')}",
    "marketing_reservations": f"campaign_id = {_if_newer('marketing_reservations', 'campaign_id', 'reserved_at')},"
    f" reserved_at = {_later('marketing_reservations', 'reserved_at')}",
}
_COLUMNS = {
    "consent": "marketing, changed_at, source",
    "service_windows": "last_inbound_at",
    "marketing_reservations": "campaign_id, reserved_at",
}


def resolve_identity(
    conn: sqlite3.Connection,
    *,
    phone: str | None = None,
    bsuid: str | None = None,
    parent_bsuid: str | None = None,
    username: str | None = None,
    at: float = 0.0,
) -> str:
    """The customer key for what a webhook or an import names (at least a phone or a BSUID).

    Looks the identity up by BSUID, then by phone; records it if new; fills in a missing phone,
    BSUID, parent BSUID or username. A phone and a BSUID recorded as two customers become one,
    under the phone (:func:`merge_keys`). Runs in the caller's transaction.
    """
    if phone is None and bsuid is None:
        raise ValueError("a customer needs a phone number or a business-scoped user ID")
    by_bsuid, by_phone = _rows(conn, phone, bsuid)
    if by_bsuid is not None and phone is not None and by_bsuid["phone"] not in (None, phone):
        # Meta names the BSUID with another phone: the webhook is right, the old pairing ends
        conn.execute("UPDATE identities SET bsuid = NULL WHERE wa_key = ?", (by_bsuid["wa_key"],))
        by_bsuid = None
    elif by_bsuid is not None and by_phone is not None and by_bsuid["wa_key"] != by_phone["wa_key"]:
        conn.execute("DELETE FROM identities WHERE wa_key = ?", (by_bsuid["wa_key"],))  # BSUID-only: merged
        merge_keys(conn, by_bsuid["wa_key"], by_phone["wa_key"])
    row = by_phone if by_phone is not None else by_bsuid
    if row is None:
        key = phone if phone is not None else bsuid
        conn.execute(
            "INSERT INTO identities (wa_key, phone, bsuid, parent_bsuid, username, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (key, phone, bsuid, parent_bsuid, username, at),
        )
        return str(key)
    key = row["wa_key"]
    if phone is not None and row["phone"] is None:  # a BSUID-only customer's phone: the key becomes it
        conn.execute("UPDATE identities SET wa_key = ?, phone = ? WHERE wa_key = ?", (phone, phone, key))
        merge_keys(conn, key, phone)
        key = phone
    news = {"bsuid": bsuid, "parent_bsuid": parent_bsuid, "username": username}
    if any(value is not None and value != row[column] for column, value in news.items()):  # most webhooks: no
        conn.execute(
            "UPDATE identities SET bsuid = COALESCE(?, bsuid), parent_bsuid = COALESCE(?, parent_bsuid),"
            " username = COALESCE(?, username), updated_at = CASE WHEN updated_at > ? THEN updated_at ELSE ? END"
            " WHERE wa_key = ?",
            (bsuid, parent_bsuid, username, at, at, key),
        )
    return str(key)


def _rows(
    conn: sqlite3.Connection, phone: str | None, bsuid: str | None
) -> tuple[sqlite3.Row | None, sqlite3.Row | None]:
    """The identities holding ``bsuid`` and ``phone`` (either may be None), found in one query: it runs
    for every inbound message and status."""
    if phone is None or bsuid is None:
        return _row(conn, "bsuid", bsuid), _row(conn, "phone", phone)
    rows = conn.execute(
        "SELECT wa_key, phone, bsuid, parent_bsuid, username FROM identities WHERE bsuid = ? OR phone = ?",
        (bsuid, phone),
    ).fetchall()
    return (
        next((r for r in rows if r["bsuid"] == bsuid), None),
        next((r for r in rows if r["phone"] == phone), None),
    )


def _row(conn: sqlite3.Connection, column: str, value: str | None) -> sqlite3.Row | None:
    if value is None:
        return None
    return conn.execute(
        f"SELECT wa_key, phone, bsuid, parent_bsuid, username FROM identities WHERE {column} = ?", (value,)
    ).fetchone()


def merge_keys(conn: sqlite3.Connection, old: str, new: str) -> None:
    """Move every row kept under customer key ``old`` to ``new`` (one customer seen two ways).

    Where both keys have a row of a one-per-customer table, the newer choice, the later window
    and the later reservation win.
    """
    if old == new:
        return
    for table in _MOVED:
        conn.execute(f"UPDATE {table} SET phone = ? WHERE phone = ?", (new, old))
    conn.execute(
        "UPDATE customer_tags SET phone = ? WHERE phone = ? AND tag NOT IN"
        " (SELECT tag FROM customer_tags WHERE phone = ?)",
        (new, old, new),
    )
    conn.execute("DELETE FROM customer_tags WHERE phone = ?", (old,))
    for table, update in _ONE_PER_KEY.items():
        columns = _COLUMNS[table]
        conn.execute(
            f"INSERT INTO {table} (phone, {columns}) SELECT ?, {columns} FROM {table} WHERE phone = ?"
            f" ON CONFLICT (phone) DO UPDATE SET {update}",
            (new, old),
        )
        conn.execute(f"DELETE FROM {table} WHERE phone = ?", (old,))
    move_customer_key(conn, old, new)


def apply_identity_change(
    conn: sqlite3.Connection,
    *,
    kind: str,
    at: float,
    wa_id: str | None = None,
    new_wa_id: str | None = None,
    previous_user_id: str | None = None,
    user_id: str | None = None,
    parent_user_id: str | None = None,
) -> str | None:
    """Apply one of Meta's identity changes; the customer's key afterwards (None if nothing known).

    ``user_id_update`` / ``user_changed_user_id``: the customer's BSUID became ``user_id`` (the
    previous one, if named, or the identity of ``wa_id``). ``user_changed_number``: the customer
    moved from ``wa_id`` to ``new_wa_id``; their rows follow them to the new number.
    """
    phone = None if wa_id is None else "+" + wa_id
    if kind == "user_changed_number" and new_wa_id is not None:
        new_phone = "+" + new_wa_id
        old = _row(conn, "phone", phone)
        if old is None or _row(conn, "phone", new_phone) is not None:
            return resolve_identity(conn, phone=new_phone, bsuid=user_id, parent_bsuid=parent_user_id, at=at)
        conn.execute(
            "UPDATE identities SET wa_key = ?, phone = ?, updated_at = ? WHERE wa_key = ?",
            (new_phone, new_phone, at, old["wa_key"]),
        )
        merge_keys(conn, old["wa_key"], new_phone)
        if user_id is not None:  # the new number comes with a new BSUID
            conn.execute("UPDATE identities SET bsuid = NULL WHERE bsuid = ? AND wa_key != ?", (user_id, new_phone))
            conn.execute(
                "UPDATE identities SET bsuid = ?, parent_bsuid = COALESCE(?, parent_bsuid) WHERE wa_key = ?",
                (user_id, parent_user_id, new_phone),
            )
        return new_phone
    if user_id is None:
        return None
    old = _row(conn, "bsuid", previous_user_id) or _row(conn, "phone", phone)
    if old is None:
        return resolve_identity(conn, phone=phone, bsuid=user_id, parent_bsuid=parent_user_id, at=at)
    key = old["wa_key"]
    if old["phone"] is None and _row(conn, "bsuid", user_id) is None:  # keyed by the old BSUID: re-key
        conn.execute(
            "UPDATE identities SET wa_key = ?, bsuid = ?, updated_at = ? WHERE wa_key = ?", (user_id, user_id, at, key)
        )
        merge_keys(conn, key, user_id)
        key = user_id
    elif _row(conn, "bsuid", user_id) is None:
        conn.execute("UPDATE identities SET bsuid = ?, updated_at = ? WHERE wa_key = ?", (user_id, at, key))
    return resolve_identity(conn, phone=old["phone"], bsuid=user_id, parent_bsuid=parent_user_id, at=at)


def customer_keys(store: Store | None, phones: pd.Series, bsuids: pd.Series | None) -> pd.Series:
    """Each customer's key for rows of an audience or import: the phone; without one, the key of
    their BSUID's identity (the phone once a webhook linked the two), else the BSUID itself."""
    phones = phones.astype("string")
    if bsuids is None:
        return phones
    bsuids = bsuids.astype("string")
    keys = phones.fillna(bsuids)
    lookup = bsuids[phones.isna() & bsuids.notna()]
    if store is None or lookup.empty:
        return keys
    known = dict(_keys_of_bsuids(store, lookup.unique().tolist()))
    return phones.fillna(bsuids.map(known).astype("string")).fillna(bsuids)


def _keys_of_bsuids(store: Store, bsuids: list[str]) -> list[tuple[str, str]]:
    """``(bsuid, key)`` of the known ones among ``bsuids``, looked up in chunks (standard SQL)."""
    found: list[tuple[str, str]] = []
    for start in range(0, len(bsuids), _CHUNK):
        chunk = bsuids[start : start + _CHUNK]
        found += [
            (r[0], r[1])
            for r in store.query(
                f"SELECT bsuid, wa_key FROM identities WHERE bsuid IN ({', '.join('?' * len(chunk))})", chunk
            )
        ]
    return found


_CHUNK = 500
