"""Named price scenarios beside Meta's card, and the provider comparison.

"WhatsApp marketing guide, 2024": 1,000 free messages a month, then 0.005-0.01 USD a message
(marketing at the top), and its table of providers (Twilio, MessageBird, Zenvia). It describes
Meta's conversation-era prices, so it stays a scenario to compare with, never the default.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from ..currency import ExchangeRates
from ..settings import load_settings
from .card import META_CARD, RATE_CARDS, RateCard, RateCardError

GUIDE_2024 = "WhatsApp marketing guide, 2024"


@dataclass(frozen=True)
class Provider:
    """A provider's basic package as the 2024 guide lists it (USD)."""

    name: str
    monthly_fee: float
    per_message: float
    free_messages: int
    verification_days: str

    def monthly_cost(self, messages: int) -> float:
        return self.monthly_fee + max(messages - self.free_messages, 0) * self.per_message


GUIDE_PROVIDERS = (
    Provider("Twilio", 0.0, 0.005, 0, "5-7"),
    Provider("MessageBird", 50.0, 0.0045, 1_000, "3-5"),
    Provider("Zenvia", 30.0, 0.006, 500, "2-3"),
)


def load_card(path: str | Path = META_CARD) -> RateCard:
    """A Meta rate card file, read again only when the file changed."""
    try:
        changed = Path(path).stat().st_mtime_ns
    except OSError as exc:
        raise RateCardError(f"{path}: cannot read the rate card: {exc}") from None
    return _read_card(str(path), changed)


@lru_cache(maxsize=8)
def _read_card(path: str, changed: int) -> RateCard:
    return RateCard.load(path)


@lru_cache(maxsize=1)
def guide_2024() -> RateCard:
    """The 2024 guide's figures as a card: 1,000 free a month, 0.01 USD marketing, 0.005 utility and
    authentication, utility free inside the customer service window."""
    return RateCard.load(
        RATE_CARDS / "guide-2024.csv", name=GUIDE_2024, free_in_window=("utility",), free_per_month=1_000
    )


def default_card() -> RateCard:
    """The card named by the settings (``WAMKT_RATE_CARD``), else the Meta card shipped with wamkt_nb."""
    path = load_settings().rate_card
    return load_card(Path(path).expanduser() if path else META_CARD)


def compare_providers(
    messages: int,
    card: RateCard,
    rates: ExchangeRates,
    market: str = "DE",
    category: str = "marketing",
    at: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Monthly cost of ``messages`` in ``rates.currency``: Meta direct at ``card``'s price for
    ``market``, the 2024 guide's Meta scenario and its providers, side by side with their sources."""
    usd = rates.rate("USD")
    rows = [
        _direct(f"Meta Cloud API direct, {market}", card, card.label, messages, market, category, at, rates),
        _direct(
            "Meta Cloud API direct (2024 scenario)", guide_2024(), GUIDE_2024, messages, market, category, at, rates
        ),
    ]
    rows += [
        {
            "provider": p.name,
            "monthly_fee": p.monthly_fee * usd,
            "per_message": p.per_message * usd,
            "free_messages": p.free_messages,
            "verification_days": p.verification_days,
            "monthly_cost": p.monthly_cost(messages) * usd,
            "source": GUIDE_2024,
        }
        for p in GUIDE_PROVIDERS
    ]
    table = pd.DataFrame(rows)
    table["monthly_cost"] = table["monthly_cost"].round(2)
    table["currency"] = rates.currency
    return table


def _direct(
    provider: str,
    card: RateCard,
    source: str,
    messages: int,
    market: str,
    category: str,
    at: pd.Timestamp | None,
    rates: ExchangeRates,
) -> dict:
    """One comparison row: ``messages`` a month straight through Meta at ``card``'s price."""
    price, currency = card.list_price(market, category, at)
    per_message = price * rates.rate(currency)
    return {
        "provider": provider,
        "monthly_fee": 0.0,
        "per_message": per_message,
        "free_messages": card.free_per_month,
        "verification_days": "",
        "monthly_cost": max(messages - card.free_per_month, 0) * per_message,
        "source": source,
    }
