"""One function prices every message: the dry run's estimate and the analytics' cost, cost per
conversion and ROI (and so every dashboard).

Meta's per-message model (since 1 July 2025, developers.facebook.com/documentation/business-messaging/
whatsapp/pricing): only a *delivered template* message is charged; non-template messages are free;
utility templates are free inside an open customer service window (delivered until 30 September 2026;
the card's ``free_in_window`` holds that date); every message is free inside a
72-hour free entry point window; the price is the card's for the template category, the recipient's
market (from the calling code) and the date, with volume tiers for utility and authentication
counted per market and calendar month.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..currency import ExchangeRates
from .card import CATEGORIES, RateCard, RateCardError
from .markets import distinct_regions, market_of, region_codes

MESSAGE_COLUMNS = ("phone", "category", "message_type", "at", "delivered")
"""What :func:`message_costs` reads. Optional: ``window_open`` and ``free_entry_point`` (booleans), and
``billable`` (1, 0 or NaN): what Meta's status webhook said; a message Meta called not billable is free."""


def chargeable(messages: pd.DataFrame, card: RateCard) -> np.ndarray:
    """Which messages the card charges for: delivered templates of a priced category outside the
    free windows."""
    n = len(messages)
    category = messages["category"]
    kind = messages["message_type"]
    template = (kind.isna() | (kind == "template")).to_numpy(dtype=bool)
    delivered = messages["delivered"].fillna(False).to_numpy(dtype=bool)
    free = _free_in_window(messages, card, n) | _flag(messages, "free_entry_point", n)
    if "billable" in messages.columns:
        said = pd.to_numeric(messages["billable"], errors="coerce").to_numpy(dtype=float)
        free |= said == 0
    return delivered & template & category.isin(list(CATEGORIES)).to_numpy(dtype=bool) & ~free


def _free_in_window(messages: pd.DataFrame, card: RateCard, n: int) -> np.ndarray:
    """Messages inside an open customer service window whose category the card makes free there on
    their delivery date (Meta: utility, until 30 September 2026)."""
    inside = _flag(messages, "window_open", n)
    free = np.zeros(n, dtype=bool)
    for category in card.free_in_window:
        mine = inside & (messages["category"] == category).to_numpy(dtype=bool)
        until = card.window_free_until_ns(category)
        if until is not None and mine.any():
            rows = np.flatnonzero(mine)
            mine[rows] = _utc_ns(messages["at"].iloc[rows]) < until
        free |= mine
    return free


def message_costs(messages: pd.DataFrame, card: RateCard, rates: ExchangeRates) -> pd.Series:
    """Cost of each message in ``rates.currency`` (0 for free ones); ``at`` is when it was (or will
    be) delivered, UTC. A charged message to a market the card has no price for costs NaN: a total
    skips it, and :func:`unpriced` says how many there are and where, so no figure is silently low."""
    missing = [c for c in MESSAGE_COLUMNS if c not in messages.columns]
    if missing:
        raise ValueError(f"pricing needs column(s) {', '.join(missing)}")
    cost = np.zeros(len(messages))
    rows = np.flatnonzero(chargeable(messages, card))
    if not len(rows):
        return pd.Series(cost, index=messages.index)
    at = _utc_ns(messages["at"].iloc[rows])
    region_ids, regions = distinct_regions(messages["phone"].iloc[rows])
    market_ids, markets = pd.factorize(np.array([market_of(r, card.priced) for r in regions], dtype=object))
    category = messages["category"].iloc[rows]
    category_ids = np.select([(category == c).to_numpy(dtype=bool) for c in CATEGORIES], range(len(CATEGORIES)))
    key = market_ids[region_ids] * len(CATEGORIES) + category_ids
    order = np.argsort(key, kind="stable")
    starts = np.r_[0, np.flatnonzero(np.diff(key[order])) + 1, len(order)]
    for a, b in zip(starts[:-1], starts[1:], strict=True):
        members = order[a:b]
        first = members[0]
        cost[rows[members]] = _price_group(
            card,
            rates,
            str(markets[key[first] // len(CATEGORIES)]),
            CATEGORIES[key[first] % len(CATEGORIES)],
            at[members],
        )
    if card.free_per_month:
        cost[rows[_free_allowance(at, card.free_per_month)]] = 0.0
    return pd.Series(cost, index=messages.index)


def unpriced(messages: pd.DataFrame, costs: pd.Series) -> pd.Series:
    """Charged messages the card has no price for, counted by the recipient's country (ISO code),
    largest first; empty when every charged message has its price."""
    missing = costs.isna().to_numpy()
    if not missing.any():
        return pd.Series(dtype="int64", name="messages")
    return region_codes(messages["phone"][missing]).value_counts().rename("messages")


def unpriced_note(messages: pd.DataFrame, costs: pd.Series, card: RateCard) -> str:
    """One line for a total that leaves unpriced messages out ('' when there are none)."""
    counts = unpriced(messages, costs)
    if counts.empty:
        return ""
    where = ", ".join(f"{code or '?'} {n:,}" for code, n in counts.items())
    return f"excludes {int(counts.sum()):,} message(s) {card.label} has no price for ({where}): add rows for them"


def _price_group(card: RateCard, rates: ExchangeRates, market: str, category: str, at: np.ndarray) -> np.ndarray:
    table = card.rows[(card.rows["market"] == market) & (card.rows["category"] == category)]
    if table.empty:
        table = card.rows[(card.rows["market"] == "*") & (card.rows["category"] == category)]
    if table.empty:  # unknown, not free: NaN, counted by unpriced() and shown beside every total
        return np.full(len(at), np.nan)
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
            raise RateCardError(
                f"{card.label}: {market} {category} from {pd.Timestamp(start, tz='UTC').date()} "
                f"has no tier starting at 1 message a month"
            )
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
