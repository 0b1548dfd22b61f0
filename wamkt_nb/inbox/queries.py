"""The team inbox: open conversations by priority, red flags, first-response times.

A conversation is a customer's inbound messages up to our next reply (auto or agent); the
conversation logic itself is :func:`wamkt_nb.inbox.service.conversations`. An auto-reply
that hands over to a person does not count as an answer.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..compliance.rules import SERVICE_WINDOW_SECONDS
from ..identities import customer_keys
from ..ledger import campaign_names, reached_phones
from ..store import Store
from .service import conversations, service_summary

RED_AFTER_SECONDS = 2 * 3600.0
"""Unanswered this long, a conversation is flagged red (seed: 2 hours)."""

VALUE_RANK = {"over_200": 3, "50_200": 2, "under_50": 1, "none": 0}
OPEN_COLUMNS = (
    "phone",
    "name",
    "customer_id",
    "last_message",
    "messages",
    "started_at",
    "waiting_min",
    "red",
    "needs_human",
    "window_open",
    "avg_order_value",
    "total_spend",
    "order_value_band",
)


def _utc(seconds: pd.Series) -> pd.Series:
    return pd.to_datetime(seconds.astype(float), unit="s", utc=True)


LOOKBACK_DAYS = 30.0
"""Conversations that started longer ago than this are left out of the inbox (and its figures)."""


def campaign_choices(store: Store) -> list[tuple[str, str]]:
    """(label, campaign_id) of every campaign, newest first: the inbox's campaign filter."""
    return [(f"{name} ({cid})", cid) for cid, name in campaign_names(store)]


def load_messages(
    store: Store, since: float = 0.0, campaign_id: str | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Inbound messages since ``since`` (phone, timestamp, text, profile_name, wamid) and our answers (phone, at);
    with ``campaign_id`` only those of customers the campaign reached."""
    inbound = store.read_frame(
        "SELECT wamid, phone, timestamp, text, profile_name FROM inbound_messages WHERE timestamp >= ?"
        " ORDER BY timestamp",
        (since,),
    )
    responses = store.read_frame(
        "SELECT phone, COALESCE(accepted_at, created_at) AS at, kind FROM replies WHERE state != 'failed'"
        " AND created_at >= ? AND reply_id NOT IN (SELECT reply_id FROM autoreply_log WHERE action = 'handover'"
        " AND reply_id IS NOT NULL) ORDER BY at",
        (since,),
    )
    if campaign_id is not None:
        reached = reached_phones(store, campaign_id)
        inbound = inbound[inbound["phone"].isin(reached)].reset_index(drop=True)
        responses = responses[responses["phone"].isin(reached)].reset_index(drop=True)
    inbound["timestamp"] = _utc(inbound["timestamp"])
    responses["at"] = _utc(responses["at"])
    return inbound, responses


def _value_band(customers: pd.DataFrame) -> pd.Series:
    if "order_value_band" in customers:
        return customers["order_value_band"].astype(str)
    aov = customers.get("avg_order_value", pd.Series(np.nan, index=customers.index)).astype(float)
    band = np.select([aov > 200, aov >= 50, aov < 50], ["over_200", "50_200", "under_50"], "none")
    return pd.Series(band, index=customers.index)


def open_conversations(
    store: Store,
    now: float,
    customers: pd.DataFrame | None = None,
    red_after_seconds: float = RED_AFTER_SECONDS,
    lookback_days: float = LOOKBACK_DAYS,
    campaign_id: str | None = None,
) -> pd.DataFrame:
    """Unanswered conversations, highest order value first, then longest waiting (with ``campaign_id``:
    of customers that campaign reached).

    ``customers``: rows with ``phone`` and optionally ``bsuid``, ``customer_id``, ``name``,
    ``avg_order_value``, ``total_spend``, ``order_value_band`` (e.g. ``build_features`` output);
    a conversation is matched by the customer key (:func:`wamkt_nb.identities.customer_keys`).
    """
    inbound, responses = load_messages(store, now - lookback_days * 86400, campaign_id)
    now_ts = pd.Timestamp(now, unit="s", tz="UTC")
    table = conversations(inbound, responses, now_ts, pd.Timedelta(seconds=red_after_seconds))
    table = table.loc[~table["answered"]].copy()
    if table.empty:
        return pd.DataFrame(columns=list(OPEN_COLUMNS))
    last = inbound.groupby("phone").agg(
        last_message=("text", "last"), profile_name=("profile_name", "last"), last_at=("timestamp", "max")
    )
    table = table.join(last, on="phone")
    handovers = store.read_frame(
        "SELECT phone, MAX(at) AS at FROM autoreply_log WHERE action = 'handover' GROUP BY phone"
    )
    handover_at = dict(zip(handovers["phone"], handovers["at"], strict=True))
    started = table["started_at"].map(lambda t: t.timestamp())
    table["needs_human"] = [handover_at.get(p, -np.inf) >= s for p, s in zip(table["phone"], started, strict=True)]
    table["window_open"] = (now_ts - table["last_at"]).dt.total_seconds() < SERVICE_WINDOW_SECONDS
    info = pd.DataFrame(index=pd.Index([], name="phone"))
    if customers is not None and len(customers):
        customers = customers.assign(phone=customer_keys(store, customers["phone"], customers.get("bsuid")))
        cols = [c for c in ("customer_id", "name", "avg_order_value", "total_spend") if c in customers]
        info = customers.drop_duplicates("phone").set_index("phone")[cols].copy()
        info["order_value_band"] = _value_band(customers.drop_duplicates("phone")).to_numpy()
    table = table.join(info, on="phone")
    for col in ("customer_id", "name", "avg_order_value", "total_spend", "order_value_band"):
        if col not in table:
            table[col] = np.nan
    table["name"] = table["name"].where(table["name"].notna(), table["profile_name"])
    band = table["order_value_band"].astype(object)
    table["order_value_band"] = band.where(band.notna(), "none").astype(str)
    rank = table["order_value_band"].map(VALUE_RANK).fillna(0)
    table = table.assign(_rank=rank).sort_values(["_rank", "waiting_min"], ascending=[False, False])
    return table.reset_index(drop=True)[list(OPEN_COLUMNS)]


def first_response_times(store: Store, now: float, lookback_days: float = LOOKBACK_DAYS) -> pd.DataFrame:
    """Every recent conversation with its first response time in minutes (NaN while unanswered)."""
    inbound, responses = load_messages(store, now - lookback_days * 86400)
    return conversations(inbound, responses, pd.Timestamp(now, unit="s", tz="UTC"))


def inbox_summary(
    store: Store,
    now: float,
    red_after_seconds: float = RED_AFTER_SECONDS,
    lookback_days: float = LOOKBACK_DAYS,
    campaign_id: str | None = None,
) -> pd.DataFrame:
    """One row for recent conversations (of ``campaign_id``'s reached customers when given): count, answered,
    median/p90 first response, within 5 min, open, red."""
    inbound, responses = load_messages(store, now - lookback_days * 86400, campaign_id)
    table = conversations(
        inbound, responses, pd.Timestamp(now, unit="s", tz="UTC"), pd.Timedelta(seconds=red_after_seconds)
    )
    return service_summary(table)
