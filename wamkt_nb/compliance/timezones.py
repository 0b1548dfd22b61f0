"""Each recipient's own time zone and local clock, vectorised per distinct zone.

The ``timezone`` column wins; otherwise the zone comes from the phone number (phonenumbers'
timezone data), looked up once per number prefix rather than once per customer.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd
import phonenumbers
from phonenumbers import timezone as phone_tz

from ..bsuid import bsuid_country, is_any_bsuid

_PREFIX = 7  # "+" and 6 digits: country code plus the area code that decides the zone
FALLBACK_ZONE = "UTC"


@lru_cache(maxsize=65_536)
def zone_for_phone(phone: str) -> str:
    """The first IANA zone phonenumbers knows for ``phone`` (for a BSUID: of its country's example
    number); UTC when it cannot tell."""
    if is_any_bsuid(phone):
        example = phonenumbers.example_number(bsuid_country(phone))
        phone = "" if example is None else phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
    try:
        zones = phone_tz.time_zones_for_number(phonenumbers.parse(phone))
    except phonenumbers.NumberParseException:
        return FALLBACK_ZONE
    zone = next((z for z in zones if z != phone_tz.UNKNOWN_TIMEZONE), FALLBACK_ZONE)
    return zone if _known(zone) else FALLBACK_ZONE


def recipient_zones(audience: pd.DataFrame) -> pd.Series:
    """Every recipient's IANA zone (categorical): ``timezone`` where valid, else from ``phone``."""
    n = len(audience)
    if "timezone" in audience:
        codes, uniques = pd.factorize(audience["timezone"].array)
    else:
        codes, uniques = np.full(n, -1, dtype=np.int64), pd.Index([], dtype=object)
    names = [str(z) for z in uniques]
    valid = np.array([_known(z) for z in names] + [False], dtype=bool)
    ok = valid[np.where(codes >= 0, codes, len(names))]
    if not ok.all():
        phones = audience["phone"].astype("str").fillna("")
        missing = np.flatnonzero(~ok)
        prefixes = phones.iloc[missing].str.slice(0, _PREFIX)
        first_of_prefix = phones.iloc[missing].groupby(prefixes.to_numpy(), sort=False).first()
        derived = {p: zone_for_phone(full) for p, full in first_of_prefix.items()}
        zone_of_prefix = prefixes.map(derived).fillna(FALLBACK_ZONE).to_numpy(dtype=object)
        extra, extra_codes = np.unique(zone_of_prefix, return_inverse=True)
        lookup = {z: i for i, z in enumerate(names)}
        for z in extra:
            lookup.setdefault(z, len(names))
            if lookup[z] == len(names):
                names.append(z)
        codes = codes.copy()
        codes[missing] = np.array([lookup[z] for z in extra], dtype=np.int64)[extra_codes]
    zones = pd.Series(pd.Categorical.from_codes(codes, categories=names), index=audience.index)
    return zones.cat.remove_unused_categories()  # drops the invalid names that were replaced


def utc_offsets(zones: pd.Series, at: pd.Series | np.ndarray | float) -> np.ndarray:
    """Seconds to add to UTC epoch ``at`` (a scalar or one per row) to get each row's local time.

    Offsets are looked up once per zone and UTC hour in the range of ``at``, so DST is honoured.
    """
    if isinstance(zones.dtype, pd.CategoricalDtype):
        codes, uniques = zones.cat.codes.to_numpy(), list(zones.cat.categories)
    else:
        codes, uniques = pd.factorize(zones.array)
    n = len(zones)
    if n == 0:
        return np.zeros(0)
    at_arr = np.broadcast_to(np.asarray(at, dtype=float), (n,))
    hour = np.floor(at_arr / 3600).astype(np.int64)
    first, last = int(hour.min()), int(hour.max())
    if last - first > 24 * 400:
        raise ValueError("times more than 400 days apart: plan them in separate runs")
    hours = range(first, last + 1)
    table = np.array([[_hour_offset(z, h) for h in hours] for z in uniques]).reshape(len(uniques), -1)
    return table[codes, hour - first]


def local_hours(zones: list[str], at: float) -> np.ndarray:
    """Each zone's local clock hour (0-24, fractional) at UTC epoch ``at``; for a few rows at a time."""
    hour = int(at // 3600)
    offsets = np.array([_hour_offset(z, hour) for z in zones], dtype=float)
    return ((at + offsets) % 86_400.0) / 3600.0


@lru_cache(maxsize=65_536)
def _hour_offset(zone: str, utc_hour: int) -> float:
    """The UTC offset of ``zone`` at the start of one UTC hour (a change at half past, as in
    St. John's, shows from the next hour)."""
    moment = datetime.fromtimestamp(utc_hour * 3600.0, tz=UTC)
    return moment.astimezone(ZoneInfo(zone)).utcoffset().total_seconds()


@lru_cache(maxsize=1024)
def _known(zone: object) -> bool:
    if not isinstance(zone, str) or not zone:
        return False
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True
