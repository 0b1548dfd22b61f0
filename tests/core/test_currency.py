"""One reporting currency: rates, conversion of mixed-currency amounts, and where the rates come from."""

import pandas as pd
import pytest

from wamkt_nb.currency import CurrencyError, ExchangeRates, exchange_rates, parse_rates
from wamkt_nb.settings import SettingsError, load_settings

RATES = ExchangeRates("EUR", {"EUR": 1.0, "USD": 0.8, "CHF": 1.25})


def test_cross_rates_follow_from_values_in_eur():
    assert RATES.rate("eur") == 1.0 and RATES.rate("USD") == 0.8
    in_chf = ExchangeRates("CHF", RATES.value_in_eur)
    assert in_chf.rate("EUR") == pytest.approx(0.8) and in_chf.rate("USD") == pytest.approx(0.64)


def test_mixed_currencies_convert_row_by_row_and_blanks_are_the_reporting_currency():
    amounts = pd.Series([10.0, 10.0, 10.0, 10.0, 10.0])
    currencies = pd.Series(["EUR", "usd", " CHF ", None, ""], dtype="string")
    assert RATES.convert(amounts, currencies).tolist() == pytest.approx([10.0, 8.0, 12.5, 10.0, 10.0])
    assert RATES.convert(amounts, "USD").tolist() == [8.0] * 5
    frame = pd.DataFrame({"amount": [4.0, 4.0], "currency": ["CHF", "EUR"]})
    converted = RATES.convert_frame(frame)
    assert converted["amount"].tolist() == [5.0, 4.0] and set(converted["currency"]) == {"EUR"}
    assert frame["amount"].tolist() == [4.0, 4.0]  # the caller's frame is untouched


def test_unknown_or_bad_rates_are_named():
    with pytest.raises(CurrencyError, match="no exchange rate for SEK"):
        RATES.convert(pd.Series([1.0, 2.0]), pd.Series(["EUR", "SEK"]))
    with pytest.raises(CurrencyError, match="no exchange rate for JPY"):
        ExchangeRates("JPY", RATES.value_in_eur)
    with pytest.raises(CurrencyError, match="USD must be positive"):
        ExchangeRates("EUR", {"EUR": 1.0, "USD": 0.0})
    with pytest.raises(CurrencyError, match="'USD:0.8' is not CODE=number"):
        parse_rates("CHF=1.1, USD:0.8")


def test_rates_from_settings_environment_and_toml(tmp_path):
    s = load_settings(environ={"WAMKT_CURRENCY": "usd", "WAMKT_EXCHANGE_RATES": "usd=0.5, sek=0.1"})
    assert s.currency == "USD" and s.exchange_rates == (("SEK", 0.1), ("USD", 0.5))
    assert s.rates.rate("EUR") == 2.0 and s.rates.rate("SEK") == pytest.approx(0.2)
    assert s.rates.rate("CHF") == pytest.approx(exchange_rates().rate("CHF") * 2)  # defaults stay for the rest
    cfg = tmp_path / "wamkt.toml"
    cfg.write_text('[wamkt]\ncurrency = "EUR"\nexchange_rates = { USD = 0.9 }\n')
    assert load_settings(config_file=cfg, environ={}).rates.rate("USD") == 0.9
    with pytest.raises(SettingsError, match="exchange_rates: exchange rate 'USD' is not CODE=number"):
        load_settings(environ={"WAMKT_EXCHANGE_RATES": "USD"})
