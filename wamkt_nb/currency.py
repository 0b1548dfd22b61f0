"""Amounts in one reporting currency: shops take orders in several currencies, Meta bills in USD.

Rates are data the analyst sets (``WAMKT_CURRENCY``, ``WAMKT_EXCHANGE_RATES`` or ``wamkt.toml``),
not a live feed: finance teams report with their own agreed rates. The defaults are approximate
reference rates of late 2025, good enough for a demo, not for the books.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import WamktError

VALUE_IN_EUR: Mapping[str, float] = {
    "EUR": 1.0,
    "USD": 0.86,
    "CHF": 1.07,
    "GBP": 1.14,
    "INR": 0.0098,
    "BRL": 0.16,
    "PLN": 0.235,
    "SEK": 0.091,
    "DKK": 0.134,
    "NOK": 0.085,
    "CZK": 0.041,
}
"""What one unit of each currency is worth in EUR; cross rates follow from it."""


class CurrencyError(WamktError, ValueError):
    """An amount in a currency without a rate: naming it beats silently adding apples to pears."""


@dataclass(frozen=True)
class ExchangeRates:
    """Converts into ``currency`` with ``value_in_eur`` (one unit of each currency in EUR)."""

    currency: str = "EUR"
    value_in_eur: Mapping[str, float] = field(default_factory=lambda: dict(VALUE_IN_EUR))

    def __post_init__(self) -> None:
        for code, value in self.value_in_eur.items():
            if not value > 0:
                raise CurrencyError(f"exchange rate of {code} must be positive, not {value!r}")
        if self.currency not in self.value_in_eur:
            raise CurrencyError(
                f"no exchange rate for {self.currency}, the reporting currency: add it to "
                f"WAMKT_EXCHANGE_RATES (e.g. {self.currency}=<value of one {self.currency} in EUR>)"
            )

    def rate(self, code: str) -> float:
        """Units of the reporting currency per one unit of ``code``."""
        code = code.upper()
        if code == self.currency:
            return 1.0
        if code not in self.value_in_eur:
            raise CurrencyError(
                f"no exchange rate for {code}: add it to WAMKT_EXCHANGE_RATES "
                f"(e.g. {code}=<value of one {code} in EUR>)"
            )
        return self.value_in_eur[code] / self.value_in_eur[self.currency]

    def convert(self, amounts: pd.Series, currencies: pd.Series | str | None) -> pd.Series:
        """``amounts`` in the reporting currency; ``currencies`` per row (blank = reporting currency)."""
        values = amounts.astype("float64")
        if currencies is None or isinstance(currencies, str):
            return values * self.rate(currencies or self.currency)
        distinct = pd.unique(currencies)  # a handful of codes among millions of rows
        factors = [self.rate(str(c).strip() if pd.notna(c) and str(c).strip() else self.currency) for c in distinct]
        if len(set(factors)) == 1:  # the usual case: one currency, often the reporting one (no copy then)
            return values if factors[0] == 1.0 else values * factors[0]
        codes, uniques = pd.factorize(currencies, use_na_sentinel=False)
        by_code = {c: f for c, f in zip(distinct, factors, strict=True)}
        return values * np.array([by_code[c] for c in uniques], dtype="float64")[codes]

    def convert_frame(self, frame: pd.DataFrame, amount: str = "amount", currency: str = "currency") -> pd.DataFrame:
        """A copy of ``frame`` whose ``amount`` is in the reporting currency and ``currency`` says so."""
        converted = self.convert(frame[amount], frame[currency] if currency in frame.columns else None)
        out = frame.assign(**{amount: converted})
        if currency in frame.columns:
            out[currency] = pd.array(np.full(len(out), self.currency), dtype=frame[currency].dtype)
        return out


def parse_rates(text: str) -> dict[str, float]:
    """``"USD=0.86, CHF=1.07"`` → ``{"USD": 0.86, "CHF": 1.07}`` (values in EUR per unit)."""
    rates: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        code, sep, value = part.partition("=")
        try:
            if not sep:
                raise ValueError
            rates[code.strip().upper()] = float(value)
        except ValueError:
            raise CurrencyError(f"exchange rate {part!r} is not CODE=number (e.g. USD=0.86)") from None
    return rates


def exchange_rates(currency: str = "EUR", overrides: Mapping[str, float] | None = None) -> ExchangeRates:
    """The default rates with the analyst's ``overrides``, reporting in ``currency``."""
    return ExchangeRates(
        currency.upper(), {**VALUE_IN_EUR, **{k.upper(): float(v) for k, v in (overrides or {}).items()}}
    )
