"""Each recipient's own time zone and local clock, vectorised per distinct zone.

The ``timezone`` column wins; otherwise the zone comes from the phone number (phonenumbers'
timezone data), looked up once per number prefix rather than once per customer.
"""

from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd
import phonenumbers
from phonenumbers import timezone as phone_tz

_PREFIX = 8  # "+49151" + 2 digits: enough to pick the zone of any geographic number plan
FALLBACK_ZONE = "UTC"


@lru_cache(maxsize=4096)
def zone_for_phone(phone: str) -> str:
    """The first IANA zone phonenumbers knows for ``phone``; UTC when it cannot tell."""
    try:
        zones = phone_tz.time_zones_for_number(phonenumbers.parse(phone))
    except phonenumbers.NumberParseException:
        return FALLBACK_ZONE
    zone = next((z for z in zones if z != phone_tz.UNKNOWN_TIMEZONE), FALLBACK_ZONE)
    return zone if _known(zone) else FALLBACK_ZONE


def recipient_zones(audience: pd.DataFrame) -> pd.Series:
    """Every recipient's IANA zone: ``timezone`` where valid, else derived from ``phone``."""
    n = len(audience)
    zones = (audience["timezone"].astype("str") if "timezone" in audience
             else pd.Series(pd.NA, index=audience.index, dtype="str"))
    codes, uniques = pd.factorize(zones)
    valid = np.array([_known(z) for z in uniques], dtype=bool)
    ok = (codes >= 0) & (valid[np.maximum(codes, 0)] if len(valid) else np.zeros(n, bool))
    if ok.all():
        return zones
    phones = audience["phone"].astype("str").fillna("")
    missing = ~ok
    prefixes = phones[missing].str.slice(0, _PREFIX)
    first_of_prefix = phones[missing].groupby(prefixes.to_numpy(), sort=False).first()
    derived = {p: zone_for_phone(full) for p, full in first_of_prefix.items()}
    out = zones.copy()
    out[missing] = prefixes.map(derived).fillna(FALLBACK_ZONE).to_numpy()
    return out


def utc_offsets(zones: pd.Series, at: pd.Series | np.ndarray | float) -> np.ndarray:
    """Seconds to add to UTC epoch ``at`` (a scalar or one per row) to get each row's local time.

    Offsets are looked up once per zone and distinct UTC hour, so DST changes are honoured.
    """
    codes, uniques = pd.factorize(zones)
    at_arr = np.broadcast_to(np.asarray(at, dtype=float), (len(zones),))
    out = np.zeros(len(zones))
    for i, zone in enumerate(uniques):
        rows = np.flatnonzero(codes == i)
        hours, inverse = np.unique(np.floor(at_arr[rows] / 3600) * 3600, return_inverse=True)
        tz = ZoneInfo(zone)
        out[rows] = np.array([_offset(tz, h) for h in hours])[inverse]
    return out


def local_hours(zones: pd.Series, at: pd.Series | float) -> np.ndarray:
    """The local hour (0-23, fractional) for each row at UTC epoch ``at``."""
    at_arr = np.broadcast_to(np.asarray(at, dtype=float), (len(zones),))
    local = at_arr + utc_offsets(zones, at_arr)
    return (local % 86_400) / 3600


def _offset(tz: ZoneInfo, epoch: float) -> float:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).astimezone(tz).utcoffset().total_seconds()


@lru_cache(maxsize=1024)
def _known(zone: object) -> bool:
    if not isinstance(zone, str) or not zone:
        return False
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True
