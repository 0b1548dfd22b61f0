"""An editable price book: what a campaign costs, per message and per provider.

Defaults are the seed's: 1,000 free messages per month, then 0.005-0.01 USD per message (marketing
at the top, utility and authentication at the bottom, service free), and the provider comparison
(Twilio, MessageBird, Zenvia). Everything is data: change it in code, from a dict, or a JSON file.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..store import Store


@dataclass(frozen=True)
class Provider:
    """A provider's basic package (seed table)."""

    name: str
    monthly_fee: float
    per_message: float
    free_messages: int
    verification_days: str

    def monthly_cost(self, messages: int) -> float:
        return self.monthly_fee + max(messages - self.free_messages, 0) * self.per_message


DEFAULT_PROVIDERS = (
    Provider("Twilio", 0.0, 0.005, 0, "5-7"),
    Provider("MessageBird", 50.0, 0.0045, 1_000, "3-5"),
    Provider("Zenvia", 30.0, 0.006, 500, "2-3"),
)


@dataclass(frozen=True)
class PriceBook:
    """Prices per delivered message by category (USD), with optional per-country overrides.

    ``country_prices`` maps an ISO country code to its own category → price mapping. Messages inside
    an open service window are free when ``free_in_window`` (service replies and utility templates).
    """

    currency: str = "USD"
    free_per_month: int = 1_000
    prices: Mapping[str, float] = field(default_factory=lambda: {
        "marketing": 0.01, "utility": 0.005, "authentication": 0.005, "service": 0.0})
    country_prices: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    free_in_window: tuple[str, ...] = ("service", "utility")
    range_per_message: tuple[float, float] = (0.005, 0.01)
    providers: tuple[Provider, ...] = DEFAULT_PROVIDERS

    def __post_init__(self) -> None:
        for cat, price in self.prices.items():
            if price < 0:
                raise ValueError(f"price for {cat!r} is negative")
        if self.free_per_month < 0:
            raise ValueError("free_per_month cannot be negative")

    def price(self, category: str, country: str | None = None) -> float:
        table = self.country_prices.get(country or "", {})
        if category in table:
            return float(table[category])
        if category not in self.prices:
            raise KeyError(f"no price for category {category!r}; known: {', '.join(self.prices)}")
        return float(self.prices[category])

    def with_price(self, category: str, price: float) -> "PriceBook":
        return replace(self, prices={**self.prices, category: float(price)})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "PriceBook":
        data = dict(data)
        if "providers" in data:
            data["providers"] = tuple(p if isinstance(p, Provider) else Provider(**p) for p in data["providers"])
        for key in ("free_in_window", "range_per_message"):
            if key in data:
                data[key] = tuple(data[key])
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown price book field(s): {', '.join(sorted(unknown))}")
        return cls(**data)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> "PriceBook":
        try:
            return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not valid JSON: {exc}") from None


def message_costs(book: PriceBook, category: str, country: pd.Series | None, window_open: np.ndarray,
                  billable: np.ndarray, order: np.ndarray, used_this_month: int = 0) -> np.ndarray:
    """Estimated cost of each message; the month's free quota goes to the earliest ``order`` first.

    ``billable`` marks messages that will be sent (excluded ones cost nothing).
    """
    n = len(billable)
    if country is not None and book.country_prices:
        table = {c: book.price(category, c) for c in country.dropna().unique()}
        cost = country.map(table).fillna(book.price(category)).to_numpy(dtype=float)
    else:
        cost = np.full(n, book.price(category))
    if category in book.free_in_window:
        cost = np.where(window_open, 0.0, cost)
    cost = np.where(billable, cost, 0.0)
    free_left = max(book.free_per_month - used_this_month, 0)
    if free_left:
        paid = np.flatnonzero(cost > 0)
        first = paid[np.argsort(order[paid], kind="stable")][:free_left]
        cost[first] = 0.0
    return cost


def billed_this_month(store: Store, now: float) -> int:
    """Template messages already sent this calendar month (UTC), which used up the free quota."""
    start = pd.Timestamp(now, unit="s", tz="UTC").normalize().replace(day=1).timestamp()
    row = store.query("SELECT COUNT(*) FROM sends WHERE message_type = 'template' AND billable IS NOT 0 "
                      "AND COALESCE(sent_at, accepted_at) >= ? AND COALESCE(sent_at, accepted_at) <= ?",
                      (start, now))
    return int(row[0][0])


def compare_providers(messages: int, book: PriceBook = PriceBook(), category: str = "marketing") -> pd.DataFrame:
    """Monthly cost of ``messages`` through each provider and through Meta's own price book."""
    rows = [{"provider": p.name, "monthly_fee": p.monthly_fee, "per_message": p.per_message,
             "free_messages": p.free_messages, "verification_days": p.verification_days,
             "monthly_cost": round(p.monthly_cost(messages), 2)} for p in book.providers]
    direct = book.price(category)
    rows.append({"provider": "Meta Cloud API (direct)", "monthly_fee": 0.0, "per_message": direct,
                 "free_messages": book.free_per_month, "verification_days": "",
                 "monthly_cost": round(max(messages - book.free_per_month, 0) * direct, 2)})
    return pd.DataFrame(rows).sort_values("monthly_cost", kind="stable").reset_index(drop=True)
