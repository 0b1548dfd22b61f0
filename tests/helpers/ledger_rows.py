"""Write a small ledger (campaigns, sends, inbound messages, orders, link clicks) into a real store,
row by row, for the analytics tests that compare the database's figures with hand-computed ones or
with the pandas ones."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from wamkt_nb.ledger import import_campaigns
from wamkt_nb.ledger.sends import import_sends


def phone(n: int) -> str:
    return f"+4915100000{n:03d}"


def write_rows(
    store: Any,
    campaigns: Iterable[tuple[str, str, float, str | None]],
    sends: Iterable[Sequence[Any]],
    inbound: Iterable[tuple[int, float]] = (),
    conversions: Iterable[tuple[str, int, float, float, str]] = (),
    clicks: Iterable[tuple[str, int, float, int]] = (),
) -> None:
    """``campaigns`` (id, name, created_at, segment_name) of marketing, ``sends`` in the order of
    ``ledger.sends.IMPORT_COLUMNS``, ``inbound`` (phone n, time), ``conversions`` (order, customer n,
    time, amount, currency) and ``clicks`` (campaign, customer n, time, human 0/1); customer n is
    ``C<n>`` with ``phone(n)``."""
    import_campaigns(store, [(cid, name, "marketing", "complete", at, segment) for cid, name, at, segment in campaigns])
    import_sends(store, [tuple(row) for row in sends])
    with store.transaction() as db:
        db.executemany(
            "INSERT INTO inbound_messages (wamid, wa_id, phone, type, text, timestamp, payload_json, received_at)"
            " VALUES (?, ?, ?, 'text', 'JA', ?, '{}', ?)",
            [(f"wamid.in{i}", phone(n)[1:], phone(n), at, at) for i, (n, at) in enumerate(inbound)],
        )
        db.executemany(
            "INSERT INTO conversions (order_id, customer_id, phone, at, amount, currency) VALUES (?,?,?,?,?,?)",
            [(order, f"C{n}", phone(n), at, amount, cur) for order, n, at, amount, cur in conversions],
        )
        db.executemany(
            "INSERT INTO link_clicks (click_id, token, campaign_id, recipient_key, customer_id, at, agent, human)"
            " VALUES (?, 't', ?, ?, ?, ?, ?, ?)",
            [
                (f"k{i}", cid, f"{cid}:{n}", f"C{n}", at, "mobile" if human else "bot", human)
                for i, (cid, n, at, human) in enumerate(clicks)
            ],
        )


def clear_rows(store: Any) -> None:
    """Empty the tables ``write_rows`` fills (between the examples of a property test)."""
    with store.transaction() as db:
        for table in ("link_clicks", "conversions", "inbound_messages", "sends", "campaigns"):
            db.execute(f"DELETE FROM {table}")
