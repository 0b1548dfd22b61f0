"""Tracked links and their clicks in the store (migration ``links/001``).

Links are written with the campaign's ledger rows (:func:`save_links`, called by
``create_campaign``); the redirect endpoint resolves a token and records each request
(:func:`resolve`, :func:`record_click`); analytics and retargeting read clicks per send
(:func:`clicks_per_send`) or per campaign and variant (:func:`click_summary`).
"""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..store import Store
from .agents import HUMAN
from .urls import UTM, with_utm

LINKS_COLUMN = "links"
"""The plan column holding each row's tracked links: a tuple of (token, destination) pairs."""
UTM_ATTR = "link_utm"
"""The plan attribute holding the campaign's :class:`UTM` settings."""


@dataclass(frozen=True)
class Link:
    """What a token stands for."""

    token: str
    campaign_id: str
    recipient_key: str
    customer_id: str
    destination: str
    utm: dict[str, str | None]

    @property
    def target(self) -> str:
        """Where the redirect sends the customer: the destination with the UTM parameters."""
        return with_utm(self.destination, self.utm)


def save_links(conn: sqlite3.Connection, plan: pd.DataFrame, *, campaign_id: str, name: str, now: float) -> int:
    """Write the plan's tracked links for ``campaign_id`` inside the caller's transaction; returns how many.

    The recipient key is the ledger's (``{campaign_id}:{customer_id}``); ``utm_campaign`` defaults to
    the campaign ``name`` and ``utm_content`` to the row's arm, else its template name, else "text".
    """
    if LINKS_COLUMN not in plan.columns:
        return 0
    utm = plan.attrs.get(UTM_ATTR) or UTM()
    arms = plan["arm"] if "arm" in plan.columns else pd.Series(None, index=plan.index, dtype=object)
    rows = []
    for cid, links, arm, payload in zip(
        plan["customer_id"].astype(str), plan[LINKS_COLUMN], arms, plan["payload"], strict=True
    ):
        if not isinstance(links, (list, tuple)) or not links:  # None, or NaN from a JSON plan
            continue
        content = utm.content or (arm if isinstance(arm, str) and arm else None) or _template_name(payload) or "text"
        for token, destination in links:
            rows.append(
                (
                    token,
                    campaign_id,
                    f"{campaign_id}:{cid}",
                    cid,
                    destination,
                    utm.source,
                    utm.medium,
                    utm.campaign or name,
                    content,
                    utm.term,
                    now,
                )
            )
    conn.executemany(
        "INSERT INTO links (token, campaign_id, recipient_key, customer_id, destination, utm_source, utm_medium,"
        " utm_campaign, utm_content, utm_term, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    return len(rows)


def _template_name(payload: Any) -> str | None:
    if isinstance(payload, dict) and isinstance(payload.get("template"), dict):
        return payload["template"].get("name")
    return None


def resolve(store: Store, token: str) -> Link | None:
    """The link behind ``token``, or None."""
    rows = store.query(
        "SELECT token, campaign_id, recipient_key, customer_id, destination, utm_source, utm_medium,"
        " utm_campaign, utm_content, utm_term FROM links WHERE token = ?",
        (token,),
    )
    if not rows:
        return None
    r = rows[0]
    utm = {f"utm_{k}": r[f"utm_{k}"] for k in ("source", "medium", "campaign", "content", "term")}
    return Link(r["token"], r["campaign_id"], r["recipient_key"], r["customer_id"], r["destination"], utm)


def record_click(store: Store, link: Link, agent: str, at: float) -> None:
    """Record one request of ``link`` by a client of class ``agent`` (see :mod:`.agents`)."""
    store.execute(
        "INSERT INTO link_clicks (click_id, token, campaign_id, recipient_key, customer_id, at, agent, human)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            secrets.token_hex(12),
            link.token,
            link.campaign_id,
            link.recipient_key,
            link.customer_id,
            at,
            agent,
            int(agent in HUMAN),
        ),
    )


def links_frame(store: Store, campaign_id: str | None = None) -> pd.DataFrame:
    """Every tracked link (of one campaign) with its human clicks: total and first click time."""
    where, params = ("WHERE l.campaign_id = ?", (campaign_id,)) if campaign_id else ("", ())
    return store.read_frame(
        "SELECT l.token, l.campaign_id, l.recipient_key, l.customer_id, l.destination, l.utm_content,"
        " COUNT(c.click_id) AS clicks, MIN(c.at) AS first_click_at"
        " FROM links l LEFT JOIN link_clicks c ON c.token = l.token AND c.human = 1"
        f" {where} GROUP BY l.token, l.campaign_id, l.recipient_key, l.customer_id, l.destination, l.utm_content"
        " ORDER BY l.campaign_id, l.recipient_key, l.token",
        params,
    )


def clicks_per_send(store: Store, campaign_id: str | None = None) -> pd.DataFrame:
    """One row per send that a person clicked a link of: campaign_id, customer_id, recipient_key,
    clicks (every human click), links_clicked (distinct links), first_click_at (epoch seconds).

    Sends without a click are absent; this is what the funnel's "clicked" step and retargeting read.
    """
    where, params = (" AND campaign_id = ?", (campaign_id,)) if campaign_id else ("", ())
    return store.read_frame(
        "SELECT campaign_id, customer_id, recipient_key, COUNT(*) AS clicks,"
        " COUNT(DISTINCT token) AS links_clicked, MIN(at) AS first_click_at"
        f" FROM link_clicks WHERE human = 1{where}"
        " GROUP BY campaign_id, customer_id, recipient_key ORDER BY campaign_id, recipient_key",
        params,
    )


def click_summary(store: Store, campaign_id: str | None = None) -> pd.DataFrame:
    """Per campaign and variant (``utm_content``): links, sends with links, total and unique human
    clicks (unique: distinct links clicked), clicking sends, and machine requests not counted."""
    where, params = ("WHERE l.campaign_id = ?", (campaign_id,)) if campaign_id else ("", ())
    return store.read_frame(
        "SELECT l.campaign_id, l.utm_content AS variant, COUNT(DISTINCT l.token) AS links,"
        " COUNT(DISTINCT l.recipient_key) AS sends_with_links,"
        " COUNT(c.click_id) - COUNT(CASE WHEN c.human = 0 THEN 1 END) AS total_clicks,"
        " COUNT(DISTINCT CASE WHEN c.human = 1 THEN c.token END) AS unique_clicks,"
        " COUNT(DISTINCT CASE WHEN c.human = 1 THEN c.recipient_key END) AS clicking_sends,"
        " COUNT(CASE WHEN c.human = 0 THEN 1 END) AS machine_requests"
        f" FROM links l LEFT JOIN link_clicks c ON c.token = l.token {where}"
        " GROUP BY l.campaign_id, l.utm_content ORDER BY l.campaign_id, l.utm_content",
        params,
    )
