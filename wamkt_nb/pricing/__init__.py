"""Meta's dated rate card and price scenarios: one function prices every message (see docs/pricing.md)."""

from .card import META_CARD, RATE_CARDS, RateCard, RateCardError
from .cost import chargeable, message_costs, unpriced, unpriced_note
from .markets import main_market, market_of, region_codes
from .scenarios import GUIDE_2024, GUIDE_PROVIDERS, Provider, compare_providers, default_card, guide_2024, load_card

__all__ = [
    "META_CARD",
    "RATE_CARDS",
    "RateCard",
    "RateCardError",
    "chargeable",
    "message_costs",
    "unpriced",
    "unpriced_note",
    "main_market",
    "market_of",
    "region_codes",
    "GUIDE_2024",
    "GUIDE_PROVIDERS",
    "Provider",
    "compare_providers",
    "default_card",
    "guide_2024",
    "load_card",
]
