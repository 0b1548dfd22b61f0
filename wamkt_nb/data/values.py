"""Parsing of single source values (text, yes/no, timestamps, amounts, countries, languages).

Each parser works on a whole column and returns the parsed values plus a reason (or NA) per row,
so a loader can reject exactly the rows whose value is unusable and say why. Each distinct
value is parsed once (``_each``): a million rows with a few hundred distinct countries or yes/no
spellings cost a few hundred parses.
"""

from __future__ import annotations

import math
import re
import zoneinfo
from collections.abc import Callable
from functools import lru_cache

import numpy as np
import pandas as pd

_TRUE = {"1", "true", "yes", "y", "ja", "j", "x", "wahr", "optin", "optedin", "ok", "✓", "✔", "granted", "1.0"}
_FALSE = {"0", "false", "no", "n", "nein", "falsch", "optout", "optedout", "-", "denied", "0.0"}
_COUNTRY_NAMES = {
    "deutschland": "DE",
    "germany": "DE",
    "osterreich": "AT",
    "oesterreich": "AT",
    "austria": "AT",
    "schweiz": "CH",
    "switzerland": "CH",
    "niederlande": "NL",
    "netherlands": "NL",
    "holland": "NL",
    "usa": "US",
    "unitedstates": "US",
    "vereinigtestaaten": "US",
    "indien": "IN",
    "india": "IN",
    "brasilien": "BR",
    "brazil": "BR",
    "frankreich": "FR",
    "france": "FR",
    "italien": "IT",
    "italy": "IT",
    "spanien": "ES",
    "spain": "ES",
    "polen": "PL",
    "poland": "PL",
    "belgien": "BE",
    "belgium": "BE",
    "turkei": "TR",
    "tuerkei": "TR",
    "turkey": "TR",
    "grossbritannien": "GB",
    "unitedkingdom": "GB",
    "uk": "GB",
    "england": "GB",
}
_LANGUAGE_NAMES = {
    "deutsch": "de",
    "german": "de",
    "englisch": "en",
    "english": "en",
    "niederlandisch": "nl",
    "dutch": "nl",
    "nederlands": "nl",
    "portugiesisch": "pt",
    "portuguese": "pt",
    "franzosisch": "fr",
    "french": "fr",
    "spanisch": "es",
    "spanish": "es",
    "italienisch": "it",
    "italian": "it",
    "turkisch": "tr",
    "turkish": "tr",
    "polnisch": "pl",
    "polish": "pl",
}
_COUNTRY_LANGUAGE = {
    "DE": "de",
    "AT": "de",
    "CH": "de",
    "LI": "de",
    "NL": "nl",
    "BE": "nl",
    "FR": "fr",
    "ES": "es",
    "MX": "es",
    "AR": "es",
    "IT": "it",
    "PT": "pt",
    "BR": "pt",
    "PL": "pl",
    "TR": "tr",
}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ISO_DAY_FIRST = ("%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y", "%d.%m.%y", "%d/%m/%Y")


def text(values: pd.Series) -> pd.Series:
    """Stripped strings; empty strings, None and NaN become NA. Integral floats lose '.0'."""

    def one(v: object) -> object:
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA or v is pd.NaT:
            return pd.NA
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        s = str(v).strip()
        return s if s else pd.NA

    if pd.api.types.infer_dtype(values, skipna=False) == "string":  # text only (CSV): vectorised
        stripped = values.astype("string").str.strip()
        return stripped.mask(stripped == "")
    return pd.Series(_each(values, one), index=values.index, dtype="string")


def yes_no(values: pd.Series, label: str) -> tuple[pd.Series, pd.Series]:
    """Booleans from yes/no/ja/nein/1/0/x/true (empty -> False); anything else gets a reason."""

    def one(v: object) -> tuple[bool, object]:
        if isinstance(v, (bool, np.bool_)):
            return bool(v), pd.NA
        folded = re.sub(r"[\s_\-]", "", str(v).strip().lower()) if not pd.isna(v) else ""
        if folded in _TRUE:
            return True, pd.NA
        if folded in _FALSE or folded == "":
            return False, pd.NA
        return False, f"{label} value {v!r} is not yes/no"

    flags, reasons = _unzip(_each(values, one), len(values))
    return (pd.Series(flags, index=values.index, dtype=bool), pd.Series(reasons, index=values.index, dtype="string"))


def timestamps(values: pd.Series, label: str) -> tuple[pd.Series, pd.Series]:
    """UTC timestamps from ISO text, German dates ('25.11.2026 14:00'), datetimes or epoch seconds.

    Times without a zone are taken as UTC.
    """
    raw_text = text(values)
    out = pd.to_datetime(raw_text, format="ISO8601", utc=True, errors="coerce").astype("datetime64[ns, UTC]")
    reasons = pd.Series(pd.NA, index=values.index, dtype="string")
    for index in raw_text.index[out.isna() & raw_text.notna()]:
        try:
            ts = _one_timestamp(values[index])
        except (ValueError, TypeError, OverflowError, ArithmeticError):  # e.g. out of pandas' range
            ts = None
        if ts is None:
            reasons[index] = f"{label} {str(values[index])[:40]!r} is not a date/time"
        else:
            out[index] = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return out, reasons


def amounts(values: pd.Series, label: str = "amount") -> tuple[pd.Series, pd.Series]:
    """Money amounts from numbers or text like '1.234,56 €', 'EUR 12.50', '12,5'; >= 0."""

    def one(v: object) -> tuple[float, object]:
        if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
            number = float(v)
        else:
            s = re.sub(r"[^\d,.\-]", "", str(v) if not pd.isna(v) else "")
            if not re.search(r"\d", s):
                return np.nan, f"{label} {v!r} is not a number" if not pd.isna(v) and str(
                    v
                ).strip() else f"{label} is empty"
            if "," in s and "." in s:  # the later one is the decimal separator
                s = s.replace(".", "").replace(",", ".") if s.rfind(",") > s.rfind(".") else s.replace(",", "")
            elif "," in s:  # German decimal comma
                s = s.replace(",", ".") if s.count(",") == 1 else s.replace(",", "")
            try:
                number = float(s)
            except ValueError:
                return np.nan, f"{label} {v!r} is not a number"
        if np.isnan(number):
            return np.nan, f"{label} is empty"
        if not math.isfinite(number):
            return np.nan, f"{label} {v!r} is not a number"
        if number < 0:
            return np.nan, f"{label} {v!r} is negative (refunds are not orders)"
        return round(number, 2), pd.NA

    numbers, reasons = _unzip(_each(values, one), len(values))
    return (
        pd.Series(numbers, index=values.index, dtype="float64"),
        pd.Series(reasons, index=values.index, dtype="string"),
    )


def country_codes(values: pd.Series) -> pd.Series:
    """ISO alpha-2 codes from codes or English/German names; NA when unknown."""

    def one(v: object) -> object:
        if pd.isna(v):
            return pd.NA
        s = str(v).strip()
        if len(s) == 2 and s.isalpha():
            return s.upper()
        key = re.sub(r"[^a-z]", "", s.lower().replace("ö", "o").replace("ü", "u").replace("ä", "a").replace("ß", "ss"))
        return _COUNTRY_NAMES.get(key, pd.NA)

    return pd.Series(_each(values, one), index=values.index, dtype="string")


def language_codes(values: pd.Series) -> pd.Series:
    """Two-letter language codes from 'de', 'de-DE', 'Deutsch', 'English'; NA when unknown."""

    def one(v: object) -> object:
        if pd.isna(v):
            return pd.NA
        s = str(v).strip().lower()
        if re.fullmatch(r"[a-z]{2}([-_][a-z]{2})?", s):
            return s[:2]
        key = re.sub(r"[^a-z]", "", s.replace("ö", "o").replace("ü", "u").replace("ä", "a"))
        return _LANGUAGE_NAMES.get(key, pd.NA)

    return pd.Series(_each(values, one), index=values.index, dtype="string")


def default_language(country: pd.Series) -> pd.Series:
    return country.map(lambda c: _COUNTRY_LANGUAGE.get(c, "en") if not pd.isna(c) else "en").astype("string")


def emails(values: pd.Series) -> pd.Series:
    """Lower-cased addresses; anything that is not an address becomes NA."""
    cleaned = text(values).str.lower()
    return cleaned.where(cleaned.str.match(_EMAIL).fillna(False).astype(bool)).astype("string")


def time_zones(values: pd.Series) -> pd.Series:
    """IANA zone names kept when they exist; NA otherwise."""
    known = _zones()
    return text(values).map(lambda z: z if not pd.isna(z) and z in known else pd.NA).astype("string")


def _each(values: pd.Series, one: Callable[[object], object]) -> list:
    """``one(v)`` for every value, computed once per distinct value (keyed by type too: True, 1
    and 1.0 are equal keys but different cells); unhashable values (JSON lists) each on their own."""
    cache: dict[tuple[type, object], object] = {}
    out = []
    for value in values.tolist():
        key = (type(value), value)
        try:
            result = cache[key]
        except KeyError:
            result = cache[key] = one(value)
        except TypeError:
            result = one(value)
        out.append(result)
    return out


def _unzip(pairs: list[tuple[object, object]], n: int) -> tuple[list, list]:
    if not n:
        return [], []
    first, second = zip(*pairs, strict=True)
    return list(first), list(second)


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _one_timestamp(raw: object) -> pd.Timestamp | None:
    if isinstance(raw, (int, float, np.integer, np.floating)) and not isinstance(raw, bool):
        seconds = float(raw)
        return pd.Timestamp(seconds / 1000 if seconds > 1e11 else seconds, unit="s", tz="UTC")
    if isinstance(raw, pd.Timestamp) or hasattr(raw, "year"):
        return pd.Timestamp(raw)
    s = str(raw).strip()
    if re.fullmatch(r"\d{9,13}(\.\d+)?", s):
        return _one_timestamp(float(s))
    for fmt in _ISO_DAY_FIRST:
        try:
            return pd.Timestamp(pd.to_datetime(s, format=fmt))
        except (ValueError, TypeError):
            continue
    try:
        return pd.Timestamp(pd.to_datetime(s, format="ISO8601"))
    except (ValueError, TypeError):
        pass
    try:
        return pd.Timestamp(pd.to_datetime(s, dayfirst=True))
    except (ValueError, TypeError, OverflowError):
        return None
