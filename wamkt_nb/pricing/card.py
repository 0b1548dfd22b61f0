"""A dated rate card: the price of one delivered message by market, category and date.

A card is a CSV file with one row per price: ``market`` (an ISO country code, one of Meta's regional
rows such as "Rest of Western Europe", "North America", "Other", or "*" for every market),
``category`` (marketing, utility, authentication), ``price``, ``currency`` (as Meta publishes it; the
reports convert), ``effective_from`` (YYYY-MM-DD) and ``source``. An optional ``min_monthly_volume``
column holds Meta's volume tiers: the price applies from that many messages a calendar month in the
market and category onwards (utility and authentication only). Several dated rows of one market and
category make its history: a message pays the row in force on its date.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..currency import VALUE_IN_EUR
from ..errors import WamktError

CATEGORIES = ("marketing", "utility", "authentication")
TIERED = ("utility", "authentication")
COLUMNS = ("market", "category", "price", "currency", "effective_from", "source")
RATE_CARDS = Path(__file__).with_name("rate_cards")
META_CARD = RATE_CARDS / "meta-2026-07-01.csv"
"""The rate card shipped as the default (see docs/pricing.md for where each row comes from)."""
META_FREE_IN_WINDOW = {"utility": "2026-10-01"}
"""Meta: utility templates delivered inside an open customer service window are free from 1 July 2025
until 30 September 2026; from 1 October 2026 Meta charges them ("Upcoming pricing updates for Meta
Business Agent, service and utility messages", developers.facebook.com, updated 1 July 2026)."""


def charged_in_window_from_ns(rules: Mapping[str, str | None], category: str) -> int | None:
    """UTC nanoseconds from which ``category`` (one of ``rules``: category -> first charged date
    YYYY-MM-DD, or None) is charged inside an open service window; None when it is free there for good."""
    until = rules[category]
    return None if until is None else int(pd.Timestamp(until, tz="UTC").value)


def free_in_window(category: str, at: float, rules: Mapping[str, str | None] = META_FREE_IN_WINDOW) -> bool:
    """Whether a ``category`` template delivered at ``at`` (epoch seconds) inside an open customer
    service window is free under ``rules`` (default: Meta's, ``META_FREE_IN_WINDOW``)."""
    if category not in rules:
        return False
    start = charged_in_window_from_ns(rules, category)
    return start is None or at * 1e9 < start


class RateCardError(WamktError, ValueError):
    """A rate card that cannot be used; the message names the file, row and field."""


@dataclass(frozen=True, eq=False)
class RateCard:
    """Prices by market, category and date, plus the rules that make a message free (compared by
    identity: two loads of one file are two cards).

    ``free_in_window``: category -> the first delivery date (YYYY-MM-DD) on which it is no longer free
    inside an open customer service window, or None for "free there for good" (Meta: utility, until
    2026-10-01; a tuple of categories means free for good);
    ``free_per_month``: messages free each calendar month before any price applies (Meta: none since
    July 2025; the 2024 guide's scenario: 1,000).
    """

    name: str
    rows: pd.DataFrame
    free_in_window: Mapping[str, str | None] | tuple[str, ...] = field(
        default_factory=lambda: dict(META_FREE_IN_WINDOW)
    )
    free_per_month: int = 0
    path: str = ""
    priced: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "priced", frozenset(self.rows["market"]))
        rules = self.free_in_window
        if not isinstance(rules, Mapping):
            rules = {category: None for category in rules}
        for category, until in rules.items():
            if category not in CATEGORIES:
                raise RateCardError(f"free_in_window: {category!r} is not one of {', '.join(CATEGORIES)}")
            if until is not None and pd.isna(pd.to_datetime(until, format="%Y-%m-%d", errors="coerce")):
                raise RateCardError(f"free_in_window: {category} until {until!r} is not a date YYYY-MM-DD")
        object.__setattr__(self, "free_in_window", dict(rules))

    def window_free_until_ns(self, category: str) -> int | None:
        """UTC nanoseconds from which ``category`` (one of ``free_in_window``) is charged inside an open
        service window; None when it is free there for good."""
        return charged_in_window_from_ns(self.free_in_window, category)

    @property
    def date(self) -> str:
        """The newest ``effective_from`` on the card (YYYY-MM-DD)."""
        return str(self.rows["effective_from"].max().date()) if len(self.rows) else ""

    @property
    def label(self) -> str:
        """How every cost names its prices, e.g. "Meta rate card 2026-07-01"."""
        return f"{self.name} {self.date}".strip()

    @property
    def currencies(self) -> tuple[str, ...]:
        return tuple(sorted(self.rows["currency"].unique()))

    def list_price(self, market: str, category: str, at: pd.Timestamp | str | None = None) -> tuple[float, str]:
        """(price, currency) of the first message of a month to ``market`` on ``at`` (default: now)."""
        when = pd.Timestamp(at if at is not None else pd.Timestamp.now(tz="UTC"))
        when = when.tz_localize("UTC") if when.tzinfo is None else when
        rows = self.rows[
            (self.rows["market"].isin([market, "*"]))
            & (self.rows["category"] == category)
            & (self.rows["min_monthly_volume"] <= 1)
        ]
        if rows.empty:
            raise RateCardError(f"{self.label} has no {category} price for {market}")
        in_force = rows[rows["effective_from"] <= when]
        row = (in_force if len(in_force) else rows).sort_values(["market", "effective_from"]).iloc[-1]
        return float(row["price"]), str(row["currency"])

    @classmethod
    def load(
        cls,
        path: str | Path | list[str | Path],
        name: str = "Meta rate card",
        free_in_window: Mapping[str, str | None] | tuple[str, ...] | None = None,
        free_per_month: int = 0,
    ) -> RateCard:
        """Read and check a card file (or several: an older card and the newer one that follows it);
        every bad row is reported with its file, line number and field."""
        paths = [Path(p) for p in (path if isinstance(path, list) else [path])]
        parts = []
        for one in paths:
            try:
                raw = pd.read_csv(one, dtype=str, keep_default_na=False)
            except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
                raise RateCardError(f"{one}: cannot read the rate card: {exc}") from None
            parts.append(parse_rows(raw, str(one)))
        rows = pd.concat(parts, ignore_index=True)
        _no_duplicates(rows, ", ".join(map(str, paths)))
        rules = dict(META_FREE_IN_WINDOW) if free_in_window is None else free_in_window
        return cls(
            name=name, rows=rows, free_in_window=rules, free_per_month=free_per_month, path=", ".join(map(str, paths))
        )


def parse_rows(raw: pd.DataFrame, where: str = "rate card") -> pd.DataFrame:
    """Typed rows of a card, or a :class:`RateCardError` listing every bad row and field."""
    missing = [c for c in COLUMNS if c not in raw.columns]
    if missing:
        raise RateCardError(f"{where}: missing column(s) {', '.join(missing)}; a card has {', '.join(COLUMNS)}")
    problems: list[str] = []
    for i, row in raw.iterrows():
        line = int(i) + 2  # the header is line 1

        def bad(fieldname: str, why: str, line: int = line) -> None:
            problems.append(f"{where} line {line}, field {fieldname!r}: {why}")

        if not str(row["market"]).strip():
            bad("market", "empty")
        if row["category"] not in CATEGORIES:
            bad("category", f"{row['category']!r} is not one of {', '.join(CATEGORIES)}")
        try:
            if float(row["price"]) < 0:
                bad("price", f"{row['price']!r} is negative")
        except ValueError:
            bad("price", f"{row['price']!r} is not a number")
        if str(row["currency"]).upper() not in VALUE_IN_EUR:
            bad("currency", f"{row['currency']!r} is not a known currency ({', '.join(VALUE_IN_EUR)})")
        if pd.isna(pd.to_datetime(row["effective_from"], format="%Y-%m-%d", errors="coerce")):
            bad("effective_from", f"{row['effective_from']!r} is not a date YYYY-MM-DD")
        if not str(row["source"]).strip():
            bad("source", "empty: say where the price comes from")
        volume = str(row.get("min_monthly_volume", "") or "").strip()
        if volume:
            if not volume.isdigit() or int(volume) < 1:
                bad("min_monthly_volume", f"{volume!r} is not a whole number from 1")
            elif int(volume) > 1 and row["category"] not in TIERED:
                bad("min_monthly_volume", f"Meta has volume tiers for {' and '.join(TIERED)} only")
    if problems:
        raise RateCardError("; ".join(problems))
    volume = raw["min_monthly_volume"] if "min_monthly_volume" in raw.columns else pd.Series("", index=raw.index)
    effective = pd.to_datetime(raw["effective_from"], format="%Y-%m-%d")
    rows = pd.DataFrame(
        {
            "market": raw["market"].str.strip(),
            "category": raw["category"],
            "price": raw["price"].astype(float),
            "currency": raw["currency"].str.upper(),
            "effective_from": effective.dt.tz_localize("UTC"),
            "effective_ns": effective.to_numpy(dtype="datetime64[ns]").astype("int64"),
            "source": raw["source"],
            "min_monthly_volume": pd.to_numeric(volume.replace("", "1")).astype("int64"),
        }
    )
    _no_duplicates(rows, where, line=True)
    return rows


def _no_duplicates(rows: pd.DataFrame, where: str, line: bool = False) -> None:
    dupes = rows.duplicated(["market", "category", "effective_from", "min_monthly_volume"], keep=False)
    if dupes.any():
        first = rows[dupes].iloc[0]
        lines = f" (lines {', '.join(str(i + 2) for i in rows.index[dupes])})" if line else ""
        raise RateCardError(
            f"{where}: two prices for {first['market']} {first['category']} from "
            f"{first['effective_from'].date()}{lines}"
        )
