"""Phone numbers to E.164 (``+491511234567``) with ``phonenumbers`` and a default region.

National forms ("0151 1234567"), international forms ("+49 (151) 123-4567", "0049151...")
and bare country-code forms ("491511234567") all normalise to the same E.164 string; anything
that is not a valid number comes back with a reason instead.
"""

from __future__ import annotations

import re
from functools import lru_cache

import pandas as pd
import phonenumbers
import phonenumbers.timezone

DEFAULT_REGION = "DE"
_JUNK = re.compile(r"[\s().\-/\u2010-\u2015]")
_LETTERS = re.compile(r"[^\d+]")
_IS_POSSIBLE = phonenumbers.ValidationResult.IS_POSSIBLE


def normalize_phone(
    raw: object, default_region: str = DEFAULT_REGION, strict: bool = False
) -> tuple[str | None, str | None]:
    """``(e164, None)`` for a usable number, ``(None, reason)`` otherwise.

    Numbers ``phonenumbers`` knows as valid win; with ``strict=False`` a number of possible length
    for its country is accepted too (its metadata lags behind new number ranges).
    """
    if raw is None or (not isinstance(raw, str) and pd.isna(raw)):
        return None, "phone is empty"
    compact = _JUNK.sub("", str(_as_text(raw)).strip())
    if compact.lower().startswith(("whatsapp:", "tel:")):
        compact = compact.split(":", 1)[1]
    if not compact:
        return None, "phone is empty"
    if _LETTERS.search(compact):
        return None, "phone has characters other than digits"
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    # (text to parse, whether a number of merely possible length is trusted in that reading)
    candidates = [(compact, compact[0] in "+0")]
    if compact[0] not in "+0" and len(compact) >= 10:
        # "491511234567": a country code without "+". Where national numbers start with a trunk
        # "0" (DE, AT, ...), digits without it are international; elsewhere (US) national first.
        # Only the region's own country code is trusted without full validation.
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(default_region.upper())
        trunk_zero = metadata is not None and metadata.national_prefix == "0"
        own_code = compact.startswith(str(phonenumbers.country_code_for_region(default_region)))
        candidates.insert(0 if trunk_zero else 1, ("+" + compact, trunk_zero and own_code))
    reason = "not a phone number"
    for candidate, trusted in candidates:
        try:
            number = phonenumbers.parse(candidate, default_region)
        except phonenumbers.NumberParseException as exc:
            reason = f"not a phone number ({_parse_error(exc)})"
            continue
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        if len(e164) > 16:  # E.164 allows at most 15 digits
            reason = "too long for E.164 (more than 15 digits)"
        elif phonenumbers.is_valid_number(number) or (trusted and not strict and _plausible(number)):
            return e164, None
        else:
            reason = _invalid_reason(number)
    return None, reason


def _plausible(number: phonenumbers.PhoneNumber) -> bool:
    """A possible length for its country and long enough to be a mobile or landline number."""
    national = phonenumbers.national_significant_number(number)
    return len(national) >= 8 and phonenumbers.is_possible_number_with_reason(number) == _IS_POSSIBLE


def normalize_phones(
    values: pd.Series, default_region: str = DEFAULT_REGION, strict: bool = False
) -> tuple[pd.Series, pd.Series]:
    """E.164 numbers and reject reasons for a whole column, parsing each distinct value once."""
    keys = values.map(_as_text).astype("string")
    results = {v: normalize_phone(v, default_region, strict) for v in pd.unique(keys.dropna())}
    phone = keys.map(lambda v: results[v][0] if v in results else None)
    reason = keys.map(lambda v: results[v][1] if v in results else "phone is empty")
    return phone.astype("string"), reason.astype("string")


def phone_regions(phones: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Country code and time zone of E.164 numbers (phonenumbers' geodata).

    Looked up once per number prefix (country code and the next digits, 7 characters after the
    "+"), which decides both for every numbering plan in use; 100,000 numbers take a moment.
    """
    prefixes = phones.astype("string").str[:8]
    present = phones.dropna().astype("string")
    first_of_prefix = present.groupby(present.str[:8].to_numpy()).first()
    cache = {prefix: _region_zone(phone) for prefix, phone in first_of_prefix.items()}
    country = prefixes.map(lambda p: cache[p][0] if p in cache else pd.NA).astype("string")
    zone = prefixes.map(lambda p: cache[p][1] if p in cache else pd.NA).astype("string")
    return country, zone


def _region_zone(e164: str) -> tuple[object, object]:
    number = phonenumbers.parse(e164)
    region = phonenumbers.region_code_for_number(number)
    if region is None:  # numbers outside the metadata's ranges: the calling code's main country
        region = phonenumbers.region_code_for_country_code(number.country_code)
    zone = _known_zone(number) or (_country_zone(region) if region else None)
    return (region if region and region != "ZZ" else pd.NA), zone or pd.NA


def _known_zone(number: phonenumbers.PhoneNumber) -> str | None:
    zones = [z for z in phonenumbers.timezone.time_zones_for_number(number) if z != "Etc/Unknown"]
    return zones[0] if zones else None


@lru_cache(maxsize=None)
def _country_zone(region: str) -> str | None:
    """The zone of the country's example mobile number, e.g. DE -> Europe/Berlin."""
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    return _known_zone(example) if example is not None else None


def _as_text(value: object) -> object:
    """Numbers from Excel/JSON as digits ("4915112345678.0" would not parse)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value


def _parse_error(exc: phonenumbers.NumberParseException) -> str:
    return {
        phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: "unknown country code",
        phonenumbers.NumberParseException.NOT_A_NUMBER: "no digits",
        phonenumbers.NumberParseException.TOO_SHORT_NSN: "too short",
        phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
        phonenumbers.NumberParseException.TOO_LONG: "too long",
    }.get(exc.error_type, str(exc))


def _invalid_reason(number: phonenumbers.PhoneNumber) -> str:
    possible = phonenumbers.is_possible_number_with_reason(number)
    region = phonenumbers.region_code_for_number(number) or f"+{number.country_code}"
    return {
        phonenumbers.ValidationResult.TOO_SHORT: f"too short for {region}",
        phonenumbers.ValidationResult.TOO_LONG: f"too long for {region}",
        phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "unknown country code",
        phonenumbers.ValidationResult.INVALID_LENGTH: f"wrong length for {region}",
    }.get(possible, f"not a valid {region} number")
