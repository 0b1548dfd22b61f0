"""Which of Meta's pricing markets a WhatsApp number belongs to.

Meta prices a message by the recipient's country calling code (and, for +1, the area code). Some
countries are markets of their own (Germany, India, ...); the others fall into regional rows
("Rest of Western Europe", ...) and everything unlisted into "Other". The grouping below is Meta's
"Country calling codes" table (developers.facebook.com/documentation/business-messaging/whatsapp/
pricing, see docs/pricing.md). A rate card decides which countries stand alone: a card row for a
country's ISO code wins over its regional row, so a newer card that splits a country out of its
region needs no code change.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import phonenumbers

NORTH_AMERICA = "North America"
OTHER = "Other"

REGIONS: dict[str, tuple[str, ...]] = {
    NORTH_AMERICA: ("US", "CA"),
    "Rest of Africa": (
        "DZ",
        "AO",
        "BJ",
        "BW",
        "BF",
        "BI",
        "CM",
        "TD",
        "CG",
        "ER",
        "ET",
        "GA",
        "GM",
        "GH",
        "GW",
        "CI",
        "KE",
        "LS",
        "LR",
        "LY",
        "MG",
        "MW",
        "ML",
        "MR",
        "MA",
        "MZ",
        "NA",
        "NE",
        "RW",
        "SN",
        "SL",
        "SO",
        "SS",
        "SD",
        "SZ",
        "TZ",
        "TG",
        "TN",
        "UG",
        "ZM",
        "ZW",
    ),
    "Rest of Asia Pacific": (
        "AF",
        "AU",
        "BD",
        "KH",
        "CN",
        "HK",
        "JP",
        "LA",
        "MN",
        "NP",
        "NZ",
        "PG",
        "PH",
        "SG",
        "LK",
        "TW",
        "TJ",
        "TH",
        "TM",
        "UZ",
        "VN",
    ),
    "Rest of Central & Eastern Europe": (
        "AL",
        "AM",
        "AZ",
        "BY",
        "BG",
        "HR",
        "CZ",
        "GE",
        "GR",
        "HU",
        "LV",
        "LT",
        "MD",
        "MK",
        "PL",
        "RO",
        "RS",
        "SK",
        "SI",
        "UA",
    ),
    "Rest of Western Europe": ("AT", "BE", "DK", "FI", "IE", "NO", "PT", "SE", "CH"),
    "Rest of Latin America": ("BO", "CR", "DO", "EC", "SV", "GT", "HT", "HN", "JM", "NI", "PA", "PY", "PR", "UY", "VE"),
    "Rest of Middle East": ("BH", "IQ", "JO", "KW", "LB", "OM", "QA", "YE"),
}
"""Meta's regional markets and the countries (ISO 3166 codes) in each; Zimbabwe moved from Other to
Rest of Africa on 2025-10-01."""

OWN_MARKETS = (
    "AR",
    "BR",
    "CL",
    "CO",
    "EG",
    "FR",
    "DE",
    "IN",
    "ID",
    "IL",
    "IT",
    "MY",
    "MX",
    "NL",
    "NG",
    "PK",
    "PE",
    "RU",
    "SA",
    "ZA",
    "ES",
    "TR",
    "AE",
    "GB",
)
"""Countries that are a market of their own on Meta's card (no regional fallback)."""

REGION_OF: dict[str, str] = {country: region for region, members in REGIONS.items() for country in members}


def region_codes(phones: pd.Series) -> pd.Series:
    """ISO country code of each E.164 number ("" when it cannot be read), via ``phonenumbers``."""
    ids, regions = distinct_regions(phones)
    return pd.Series(regions[ids] if len(ids) else np.array([], dtype=object), index=phones.index, dtype=object)


def distinct_regions(phones: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``(ids, regions)``: the country of each number is ``regions[ids]`` ("" when unreadable).

    The calling code alone names the country for all but a few shared codes (+1, +7, +44, ...), so
    it is read once per distinct 4-digit head; only numbers under a shared code are parsed, once per
    code and the next 4 digits (for +1 the area code): a million sends cost one factorize.
    """
    text = phones.astype("string").fillna("")
    head_ids, heads = pd.factorize(text.str.slice(0, 5))
    by_head = [_calling_code(str(h)) for h in heads]
    regions = np.array([region for region, _ in by_head] + [""], dtype=object)
    ids = np.asarray(head_ids, dtype=np.int64)
    shared = np.flatnonzero(regions[ids] == _SHARED)
    if len(shared):
        width = np.array([1 + n + 4 for _, n in by_head])[ids[shared]]
        numbers = text.to_numpy(dtype=object)[shared]
        key_ids, _ = pd.factorize(pd.Series([t[:w] for t, w in zip(numbers, width, strict=True)]))
        _, first = np.unique(key_ids, return_index=True)
        ids[shared] = len(regions) + key_ids
        regions = np.append(regions, np.array([_region(str(numbers[i])) for i in first], dtype=object))
    return ids, regions


_SHARED = "?"


def _calling_code(head: str) -> tuple[str, int]:
    """(country, digits of the calling code) from a number's first digits; country "?" when the
    calling code is shared by several countries, "" when there is none. A BSUID (``US.1349…``)
    names its country itself."""
    if len(head) >= 3 and head[:2].isalpha() and head[:2].isupper() and head[2] == ".":
        return head[:2], 0
    digits = head.lstrip("+")
    for n in (1, 2, 3):
        regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(int(digits[:n])) if digits[:n].isdigit() else None
        if regions:
            return (regions[0] if len(regions) == 1 else _SHARED), n
    return "", 0


def _region(number: str) -> str:
    try:
        parsed = phonenumbers.parse(number if number.startswith("+") else "+" + number, None)
    except phonenumbers.NumberParseException:
        return ""
    return (
        phonenumbers.region_code_for_number(parsed)
        or phonenumbers.region_code_for_country_code(parsed.country_code)
        or ""
    )


def market_of(region: str, priced: frozenset[str] | set[str]) -> str:
    """Meta's market for a country: itself when the card prices it (or Meta lists it alone), else its
    regional row, else "Other"."""
    if region in priced or region in OWN_MARKETS:
        return region
    return REGION_OF.get(region, OTHER)


def main_market(phones: pd.Series, priced: frozenset[str] | set[str], sample: int = 10_000) -> str:
    """The market most of ``phones`` are in (from the first ``sample``), e.g. for a one-market quote."""
    regions = region_codes(phones.head(sample))
    top = regions[regions != ""].mode()
    return market_of(str(top.iat[0]), priced) if len(top) else OTHER
