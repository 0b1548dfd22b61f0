"""Reading the ledger, inbound messages and conversions out of the store as typed DataFrames.

Times come out as tz-aware UTC timestamps; rows are fetched with plain tuples (no ``sqlite3.Row``)
so a million-row ledger loads in about a second.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..data.schema import CONVERSION_COLUMNS
from ..inbox.queries import load_messages
from ..ledger.aggregates import UNSEGMENTED
from ..ledger.reports import campaign_rows, send_rows
from ..store import Store
from .snapshot import read_sends

SEND_COLUMNS = (
    "campaign_id",
    "customer_id",
    "phone",
    "arm",
    "state",
    "error_code",
    "message_type",
    "accepted_at",
    "sent_at",
    "delivered_at",
    "read_at",
    "pricing_category",
    "billable",
    "api",
)
CAMPAIGN_COLUMNS = (
    "campaign_id",
    "name",
    "category",
    "status",
    "created_at",
    "started_at",
    "finished_at",
    "segment_name",
    "experiment_key",
)
INBOUND_COLUMNS = ("wamid", "phone", "type", "text", "context_wamid", "timestamp")
RESPONSE_COLUMNS = ("phone", "at")
CLICK_COLUMNS = ("campaign_id", "customer_id", "clicks", "first_click_at")

_TIME_COLUMNS = {
    "planned_at",
    "accepted_at",
    "sent_at",
    "delivered_at",
    "read_at",
    "failed_at",
    "created_at",
    "started_at",
    "finished_at",
    "timestamp",
    "at",
    "first_click_at",
}


@dataclass
class LedgerData:
    """Everything the metrics read: campaigns, sends (joined with their campaign), inbound, orders.

    ``responses`` are our answers to customers (phone, at), used for service levels; ``clicks``
    the people's clicks of tracked links per send (campaign_id, customer_id, clicks, first_click_at).
    """

    campaigns: pd.DataFrame
    sends: pd.DataFrame
    inbound: pd.DataFrame
    conversions: pd.DataFrame
    responses: pd.DataFrame = field(default_factory=lambda: empty_frame(RESPONSE_COLUMNS))
    clicks: pd.DataFrame = field(default_factory=lambda: empty_frame(CLICK_COLUMNS))

    @property
    def empty(self) -> bool:
        return self.sends.empty

    def __repr__(self) -> str:
        return (
            f"LedgerData({len(self.campaigns):,} campaigns, {len(self.sends):,} sends, "
            f"{len(self.inbound):,} inbound, {len(self.conversions):,} conversions)"
        )


def to_utc(seconds: pd.Series | np.ndarray) -> pd.Series:
    """Epoch seconds (REAL, may be NULL) as ``datetime64[ns, UTC]``."""
    return pd.to_datetime(pd.Series(seconds, dtype="float64"), unit="s", utc=True).astype("datetime64[ns, UTC]")


def empty_frame(columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame({name: _column(name, ()) for name in columns})


_NUMERIC_COLUMNS = _TIME_COLUMNS | {"error_code", "billable", "amount", "clicks"}


def _column(name: str, values: tuple) -> pd.Series:
    """One fetched column: floats (NULL -> NaN), tz-aware UTC for times, object for text (the
    arrow string conversion of pandas 3 would double the load time of a large ledger)."""
    if name in _TIME_COLUMNS:
        return to_utc(np.array(values, dtype="float64"))
    if name in _NUMERIC_COLUMNS:
        return pd.Series(np.array(values, dtype="float64"))
    return pd.Series(np.array(values, dtype=object), dtype=object)


def _fetch(store: Store, sql: str, columns: tuple[str, ...], params: tuple = ()) -> pd.DataFrame:
    return _frame(store.query_tuples(sql, params), columns)


def _frame(rows: list[tuple], columns: tuple[str, ...]) -> pd.DataFrame:
    values = list(zip(*rows, strict=True)) if rows else [()] * len(columns)
    return pd.DataFrame({name: _column(name, col) for name, col in zip(columns, values, strict=True)})


def load_ledger(
    store: Store,
    since: pd.Timestamp | None = None,
    until: pd.Timestamp | None = None,
    snapshot: bool = False,
) -> LedgerData:
    """Campaigns created in ``[since, until)`` with their sends, plus all inbound messages and orders.

    Each send row carries its campaign's ``campaign_name``, ``category``, ``segment`` (the
    campaign's segment name, or ``"unsegmented"``) and ``experiment_key``. ``snapshot`` reads the
    ledger from a columnar snapshot beside the database while it is current (see ``snapshot``).
    """
    start = None if since is None else pd.Timestamp(since).timestamp()
    end = None if until is None else pd.Timestamp(until).timestamp()
    campaigns = _frame(campaign_rows(store, CAMPAIGN_COLUMNS, start, end), CAMPAIGN_COLUMNS)
    if snapshot:
        sends = read_sends(store, lambda: _frame(send_rows(store, SEND_COLUMNS), SEND_COLUMNS))
        if start is not None or end is not None:
            sends = sends[sends["campaign_id"].isin(campaigns["campaign_id"])].reset_index(drop=True)
    else:
        sends = _frame(send_rows(store, SEND_COLUMNS, start, end), SEND_COLUMNS)
    inbound = _fetch(
        store,
        f"SELECT {', '.join(INBOUND_COLUMNS)} FROM inbound_messages ORDER BY timestamp",
        INBOUND_COLUMNS,
    )
    conversions = _fetch(
        store,
        f"SELECT {', '.join(CONVERSION_COLUMNS)} FROM conversions ORDER BY at",
        CONVERSION_COLUMNS,
    )
    return LedgerData(
        campaigns=campaigns,
        sends=attach_campaigns(sends, campaigns),
        inbound=inbound,
        conversions=conversions,
        responses=load_responses(store),
        clicks=load_clicks(store, campaigns["campaign_id"] if start is not None or end is not None else None),
    )


def load_clicks(store: Store, campaign_ids: pd.Series | None = None) -> pd.DataFrame:
    """People's clicks of tracked links per send (bots, previews and HEAD requests left out)."""
    clicks = _fetch(
        store,
        "SELECT campaign_id, customer_id, COUNT(*), MIN(at) FROM link_clicks WHERE human = 1"
        " GROUP BY campaign_id, customer_id",
        CLICK_COLUMNS,
    )
    if campaign_ids is not None:
        clicks = clicks[clicks["campaign_id"].isin(campaign_ids)].reset_index(drop=True)
    return clicks


def load_responses(store: Store) -> pd.DataFrame:
    """Our answers to customers (phone, at) as the inbox counts them: auto-replies and agents'
    answers, not hand-overs to a person (the inbox owns what counts as an answer)."""
    return load_messages(store)[1][list(RESPONSE_COLUMNS)]


def attach_campaigns(sends: pd.DataFrame, campaigns: pd.DataFrame) -> pd.DataFrame:
    """Sends with their campaign's name, category, segment and experiment key as columns."""
    codes, keys = pd.factorize(sends["campaign_id"])
    info = campaigns.set_index("campaign_id").reindex(keys)
    segment = info["segment_name"]
    info["segment"] = segment.where(segment.notna() & (segment.astype(str) != ""), UNSEGMENTED)
    out = sends.copy()
    for column, source in (
        ("campaign_name", "name"),
        ("category", "category"),
        ("segment", "segment"),
        ("experiment_key", "experiment_key"),
    ):
        per_campaign = pd.Categorical(info[source].to_numpy(dtype=object))  # one code per campaign
        out[column] = (
            pd.Categorical.from_codes(per_campaign.codes[codes], per_campaign.categories)
            if len(codes)
            else pd.Series([], dtype=object)
        )
    return out
