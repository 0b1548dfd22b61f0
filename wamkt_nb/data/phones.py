"""Phone numbers to E.164 (``+491511234567``) with ``phonenumbers`` and a default region.

National forms ("0151 1234567"), international forms ("+49 (151) 123-4567", "0049151...")
and bare country-code forms ("491511234567") all normalise to the same E.164 string; anything
that is not a valid number comes back with a reason instead.

A cell is read as exactly the number it holds (``phone_text``): Excel and JSON numbers, a
spreadsheet's "4915112345678.0" and scientific notation keep their digits, and a cell whose digits
are not all there (a fraction, "4.91511E+12" cut short by a narrow column, a negative number) is
rejected with its reason; a number is never turned into a different one.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from functools import cache

import numpy as np
import pandas as pd
import phonenumbers
import phonenumbers.timezone

from .readers import LoadError

DEFAULT_REGION = "DE"


def region_code(region: str) -> str:
    """``region`` as the upper-case code phonenumbers knows ("de" -> "DE"). An unknown one is a
    LoadError: phonenumbers would read every number without +country code as unparsable."""
    code = str(region).strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise LoadError(f"unknown phone region {region!r}: give a two-letter country code such as DE, AT or US")
    return code


_JUNK = re.compile(r"[\s().\-/\u2010-\u2015]")
_LETTERS = re.compile(r"[^\d+]")
_IS_POSSIBLE = phonenumbers.ValidationResult.IS_POSSIBLE
_E164_DIGITS = 15
_SPREADSHEET_NUMBER = re.compile(r"(\+?\d+)\.0+", re.ASCII)  # "4915112345678.0": a number cell written as text
_DECIMAL = re.compile(r"\+?\d{7,}[.,]\d{1,3}", re.ASCII)  # "4915112345678.5": not a phone's separator
_SCIENTIFIC = re.compile(r"([+-]?)(\d+)(?:[.,](\d*))?[eE]\+?(\d{1,4})", re.ASCII)
_CANONICAL = re.compile(r"\+[1-9]\d{1,14}", re.ASCII)
_TOO_LONG = "too long for E.164 (more than 15 digits)"


def normalize_phone(
    raw: object, default_region: str = DEFAULT_REGION, strict: bool = False
) -> tuple[str | None, str | None]:
    """``(e164, None)`` for a usable number, ``(None, reason)`` otherwise.

    Numbers ``phonenumbers`` knows as valid win; with ``strict=False`` a number of possible length
    for its country is accepted too (its metadata lags behind new number ranges).
    """
    text, reason = phone_text(raw)
    if text is None:
        return None, reason
    return _normalize_text(text, region_code(default_region), strict)


def _normalize_text(text: str, default_region: str, strict: bool) -> tuple[str | None, str | None]:
    """``normalize_phone`` of a cell already read by ``phone_text``."""
    if _CANONICAL.fullmatch(text) and _valid_e164(text):
        return text, None
    compact = _JUNK.sub("", text.strip())
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
            reason = _TOO_LONG
        elif candidate[0] == "+" and compact[0] != "+" and e164 != candidate:
            # the "+" was a guess: a reading that also drops digits ("117162000000" as +1 (1) 716...)
            # would be a different number
            reason = "not a valid number with or without a country code"
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
    """E.164 numbers and reject reasons for a whole column, parsing each distinct value once.

    The cells are read one by one (never through a column-wide conversion, which would turn a
    column of integers with one blank cell into floats). A text column (CSV) is factorised first:
    each distinct text is parsed once without a dictionary of a million entries.
    """
    default_region = region_code(default_region)
    if isinstance(values.dtype, pd.StringDtype) and not values.isna().any():
        codes, distinct = pd.factorize(values)
        pairs = [normalize_phone(text, default_region, strict) for text in distinct.tolist()]
        phones = np.array([p for p, _ in pairs] + [None], dtype=object)[codes]
        reasons = np.array([r for _, r in pairs] + [None], dtype=object)[codes]
        return (
            pd.Series(phones, index=values.index, dtype="string"),
            pd.Series(reasons, index=values.index, dtype="string"),
        )
    results: dict[str, tuple[str | None, str | None]] = {}
    phones, reasons = [], []
    for value in values.tolist():
        text, reason = phone_text(value)
        if text is not None:
            if text not in results:
                results[text] = _normalize_text(text, default_region, strict)
            phone, reason = results[text]
        else:
            phone = None
        phones.append(phone)
        reasons.append(reason)
    return (
        pd.Series(phones, index=values.index, dtype="string"),
        pd.Series(reasons, index=values.index, dtype="string"),
    )


def phone_text(value: object) -> tuple[str | None, str | None]:
    """``(text, None)``: the cell as text holding exactly its number; ``(None, reason)`` otherwise.

    Numbers (int, float, Decimal, NumPy) become their digits; text like "4915112345678.0" or
    "4.915112345678E+12" becomes the digits it spells when all of them are there. Other text is
    returned as it is, for ``normalize_phone`` to read.
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return None, "phone is empty"
    if isinstance(value, (bool, np.bool_)):
        return None, "phone is a yes/no value, not a number"
    if isinstance(value, (int, np.integer)):
        return _whole_number(int(value))
    if isinstance(value, (float, np.floating, Decimal)):
        if value != value:  # NaN: an empty cell
            return None, "phone is empty"
        if not math.isfinite(value):
            return None, f"phone {value} is not a number"
        if value != int(value):
            return None, f"phone {value} has decimals: not a phone number"
        return _whole_number(int(value))
    text = value if isinstance(value, str) else str(value)
    stripped = text.strip()
    if not stripped:
        return None, "phone is empty"
    if "." not in stripped and "e" not in stripped and "E" not in stripped:
        return text, None
    spreadsheet = _SPREADSHEET_NUMBER.fullmatch(stripped)
    if spreadsheet:
        return spreadsheet.group(1), None
    if _DECIMAL.fullmatch(stripped):
        return None, f"phone {stripped} has decimals: not a phone number"
    scientific = _SCIENTIFIC.fullmatch(stripped)
    if scientific:
        return _scientific_digits(stripped, *scientific.groups())
    return text, None


def _whole_number(number: int) -> tuple[str | None, str | None]:
    if number < 0:
        return None, "phone is a negative number"
    if number >= 10**_E164_DIGITS:
        return None, _TOO_LONG
    return str(number), None


def _scientific_digits(
    text: str, sign: str, whole: str, fraction: str | None, exponent: str
) -> tuple[str | None, str | None]:
    """The digits of "4.915112345678E+12"; a mantissa too short to hold every digit is a reject
    (a spreadsheet shows "4.91511E+12" in a narrow column and saves what it shows)."""
    fraction, shift = fraction or "", int(exponent)
    if sign == "-":
        return None, "phone is a negative number"
    if len(fraction.rstrip("0")) > shift:
        return None, f"phone {text} has decimals: not a phone number"
    if len(fraction) < shift:
        return None, (f"phone {text} is in scientific notation without all its digits: store the phone column as text")
    digits = (whole + fraction)[: len(whole) + shift].lstrip("0") or "0"
    return _whole_number(int(digits)) if len(digits) <= _E164_DIGITS + 1 else (None, _TOO_LONG)


def _valid_e164(text: str) -> bool:
    """Whether ``+<digits>`` is a number ``phonenumbers`` parses to itself and calls valid, judged
    with precompiled patterns (30x faster than parse + is_valid_number for a million numbers).

    Only the plain case is decided here: a calling code of one region, a national number that
    does not start with 0 or the region's national prefix. Anything else returns False and goes
    through ``phonenumbers`` itself.
    """
    for length in (1, 2, 3):
        rules = _region_rules(int(text[1 : 1 + length]))
        if rules is not None:
            break
    else:
        return False
    if not rules:
        return False
    national = text[1 + length :]
    prefix, valid = rules
    if len(national) < 2 or national[0] == "0" or (prefix is not None and prefix.match(national)):
        return False
    return valid.fullmatch(national) is not None


@cache
def _region_rules(country_code: int) -> tuple | None:
    """None: not a calling code; (): one ``_valid_e164`` leaves to ``phonenumbers``; else the
    region's national-prefix pattern and one pattern for a valid national number: the general
    description (a lookahead) and any number type (``_number_type_helper`` is not UNKNOWN), each
    description's lengths as a lookahead (the national number is all digits here, so
    ``(?=\\d{n}$)`` is "its length is n")."""
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country_code)
    if regions is None:
        return None
    if len(regions) != 1 or regions[0] == phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY:
        return ()
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(regions[0])
    if metadata is None or metadata.general_desc is None:
        return ()

    def desc(d: phonenumbers.PhoneNumberDesc | None) -> str | None:
        if d is None or not d.national_number_pattern:
            return None
        lengths = "|".join(rf"\d{{{n}}}$" for n in sorted(set(d.possible_length or ())))
        return f"(?=(?:{lengths})){_group(d.national_number_pattern)}" if lengths else _group(d.national_number_pattern)

    names = [
        "fixed_line",
        "premium_rate",
        "toll_free",
        "shared_cost",
        "voip",
        "personal_number",
        "pager",
        "uan",
        "voicemail",
    ]
    if not metadata.same_mobile_and_fixed_line_pattern:
        names.append("mobile")
    types = [p for p in (desc(getattr(metadata, name)) for name in names) if p is not None]
    general = desc(metadata.general_desc)
    if general is None or not types:
        return ()
    prefix = metadata.national_prefix_for_parsing
    valid = re.compile(f"(?=(?:{general})$)(?:{'|'.join(map(_group, types))})")
    return re.compile(prefix) if prefix else None, valid


def _group(pattern: str) -> str:
    return f"(?:{pattern})"


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


@cache
def _country_zone(region: str) -> str | None:
    """The zone of the country's example mobile number, e.g. DE -> Europe/Berlin."""
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    return _known_zone(example) if example is not None else None


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
