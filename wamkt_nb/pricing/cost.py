"""One function prices every message: the dry run's estimate, the analytics' cost and ROI, A/B revenue.

Meta's per-message model (since 1 July 2025, developers.facebook.com/documentation/business-messaging/
whatsapp/pricing): only a *delivered template* message is charged; non-template messages are free;
utility templates are free inside an open customer service window; every message is free inside a
72-hour free entry point window; the price is the card's for the template category, the recipient's
market (from the calling code) and the date, with volume tiers for utility and authentication
counted per market and calendar month.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..currency import ExchangeRates
from .card import CATEGORIES, RateCard, RateCardError
from .markets import market_of, region_codes

MESSAGE_COLUMNS = ("phone", "category", "message_type", "at", "delivered")
"""What :func:`message_costs` reads. Optional: ``window_open`` and ``free_entry_point`` (booleans), and
``billable`` (1, 0 or NaN): what Meta's status webhook said; a message Meta called not billable is free."""


def chargeable(messages: pd.DataFrame, card: RateCard) -> np.ndarray:
    """Which messages the card charges for: delivered templates of a priced category outside the
    free windows."""
    n = len(messages)
    category = messages["category"].astype(object).to_numpy()
    template = messages["message_type"].astype(object).fillna("template").to_numpy() == "template"
    delivered = messages["delivered"].fillna(False).to_numpy(dtype=bool)
    window = _flag(messages, "window_open", n) & np.isin(category, list(card.free_in_window))
    free = window | _flag(messages, "free_entry_point", n)
    if "billable" in messages.columns:
        said = pd.to_numeric(messages["billable"], errors="coerce").to_numpy(dtype=float)
        free |= said == 0
    return delivered & template & np.isin(category, list(CATEGORIES)) & ~free


def message_costs(messages: pd.DataFrame, card: RateCard, rates: ExchangeRates) -> pd.Series:
    """Cost of each message in ``rates.currency`` (0 for free ones); ``at`` is when it was (or will
    be) delivered, UTC. A market the card has no price for raises :class:`RateCardError`."""
    missing = [c for c in MESSAGE_COLUMNS if c not in messages.columns]
    if missing:
        raise ValueError(f"pricing needs column(s) {', '.join(missing)}")
    cost = np.zeros(len(messages))
    rows = np.flatnonzero(chargeable(messages, card))
    if not len(rows):
        return pd.Series(cost, index=messages.index)
    at = _utc_ns(messages["at"].iloc[rows])
    regions = region_codes(messages["phone"].iloc[rows]).to_numpy(dtype=object)
    distinct = pd.unique(regions)
    market = pd.Series({r: market_of(r, card.priced) for r in distinct}).reindex(regions).to_numpy(dtype=object)
    category = messages["category"].astype(object).to_numpy()[rows]
    groups = pd.Series(np.arange(len(rows))).groupby([market, category], sort=False).indices
    for (mkt, cat), members in groups.items():
        cost[rows[members]] = _price_group(card, rates, str(mkt), str(cat), at[members],
                                           _example(regions[members], mkt))
    if card.free_per_month:
        cost[rows[_free_allowance(at, card.free_per_month)]] = 0.0
    return pd.Series(cost, index=messages.index)


def _price_group(card: RateCard, rates: ExchangeRates, market: str, category: str, at: np.ndarray,
                 country: str) -> np.ndarray:
    table = card.rows[(card.rows["market"] == market) & (card.rows["category"] == category)]
    if table.empty:
        table = card.rows[(card.rows["market"] == "*") & (card.rows["category"] == category)]
    if table.empty:
        raise RateCardError(f"{card.label} has no {category} price for {market}{country}: add a row for it "
                            f"to the card ({card.path or 'in memory'})")
    versions = np.unique(table["effective_ns"].to_numpy())
    # a message older than the card's first row for it pays that first row (the oldest price known)
    version = np.clip(np.searchsorted(versions, at, side="right") - 1, 0, None)
    rank = _monthly_rank(at) if (table["min_monthly_volume"] > 1).any() else np.zeros(len(at), dtype=np.int64)
    out = np.empty(len(at))
    for v, start in enumerate(versions):
        tiers = table[table["effective_ns"] == start].sort_values("min_monthly_volume")
        mine = version == v
        tier = np.searchsorted(tiers["min_monthly_volume"].to_numpy(), rank[mine] + 1, side="right") - 1
        if (tier < 0).any():
            raise RateCardError(f"{card.label}: {market} {category} from {pd.Timestamp(start, tz='UTC').date()} "
                                f"has no tier starting at 1 message a month")
        factor = np.array([rates.rate(c) for c in tiers["currency"]])
        out[mine] = (tiers["price"].to_numpy() * factor)[tier]
    return out


def _monthly_rank(at: np.ndarray) -> np.ndarray:
    """0-based position of each message among this group's messages of its calendar month, by time."""
    order = np.argsort(at, kind="stable")
    month = at.astype("datetime64[ns]").astype("datetime64[M]")
    sorted_month = month[order]
    starts = np.r_[0, np.flatnonzero(sorted_month[1:] != sorted_month[:-1]) + 1]
    first = np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    rank = np.empty(len(at), dtype=np.int64)
    rank[order] = np.arange(len(order)) - first
    return rank


def _free_allowance(at: np.ndarray, free: int) -> np.ndarray:
    """The first ``free`` charged messages of every calendar month (the 2024 guide's free tier)."""
    return _monthly_rank(at) < free


def _flag(messages: pd.DataFrame, column: str, n: int) -> np.ndarray:
    if column not in messages.columns:
        return np.zeros(n, dtype=bool)
    return messages[column].fillna(False).to_numpy(dtype=bool)


def _utc_ns(values: pd.Series) -> np.ndarray:
    """Timestamps (datetime64 or epoch seconds) as UTC nanoseconds."""
    if pd.api.types.is_numeric_dtype(values):
        return (values.to_numpy(dtype=float) * 1e9).astype("int64")
    times = pd.to_datetime(values, utc=True)
    if times.isna().any():
        raise ValueError("a charged message has no time: pricing needs the delivery (or planned) time")
    return times.to_numpy(dtype="datetime64[ns]").astype("int64")


def _example(regions: np.ndarray, market: str) -> str:
    country = next((str(r) for r in regions if r), "")
    return f" (e.g. a +{country} number)" if country and country != market else ""
