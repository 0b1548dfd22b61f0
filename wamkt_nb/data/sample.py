"""Deterministic sample customers, orders and interactions with a realistic shape.

Mostly German customers (some AT/CH/NL/US/IN/BR), heavy-tailed spend, a core of frequent buyers,
customers who went quiet 30 or 90+ days ago, and activity peaking at 10-12 h and 20-22 h local
time. Everything is vectorised so 1,000,000 customers with ~10,000,000 orders take well under a
minute. The same ``seed`` and ``now`` give the same data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..clock import is_pinned, wall_time
from .schema import CustomerData

DAY = 86_400.0
HISTORY_DAYS = 548  # 18 months

# country: share, calling-code prefixes (E.164 without the national number), national digits, zones
_COUNTRIES = {
    "DE": (
        0.70,
        ["+49151", "+49152", "+49160", "+49170", "+49171", "+49172", "+49176", "+49177"],
        8,
        ["Europe/Berlin"],
    ),
    "AT": (0.08, ["+43664", "+43676", "+43699"], 7, ["Europe/Vienna"]),
    "CH": (0.06, ["+4179", "+4178", "+4176"], 7, ["Europe/Zurich"]),
    "NL": (0.06, ["+3161", "+3162", "+3165"], 7, ["Europe/Amsterdam"]),
    "US": (
        0.04,
        ["+1212", "+1312", "+1415", "+1617", "+1713"],
        7,
        ["America/New_York", "America/Chicago", "America/Los_Angeles"],
    ),
    "IN": (0.03, ["+9198", "+9199", "+9197"], 8, ["Asia/Kolkata"]),
    "BR": (0.03, ["+55119", "+55219"], 8, ["America/Sao_Paulo"]),
}
_LANGUAGE = {"DE": "de", "AT": "de", "CH": "de", "NL": "nl", "US": "en", "IN": "en", "BR": "pt"}
_CITIES = {
    "DE": [
        "Berlin",
        "Hamburg",
        "München",
        "Köln",
        "Frankfurt am Main",
        "Stuttgart",
        "Düsseldorf",
        "Leipzig",
        "Dortmund",
        "Essen",
        "Bremen",
        "Dresden",
        "Hannover",
        "Nürnberg",
    ],
    "AT": ["Wien", "Graz", "Linz", "Salzburg", "Innsbruck"],
    "CH": ["Zürich", "Genf", "Basel", "Bern", "Lausanne"],
    "NL": ["Amsterdam", "Rotterdam", "Den Haag", "Utrecht", "Eindhoven"],
    "US": ["New York", "Chicago", "San Francisco", "Boston", "Houston"],
    "IN": ["Mumbai", "Delhi", "Bengaluru", "Chennai", "Pune"],
    "BR": ["São Paulo", "Rio de Janeiro", "Belo Horizonte", "Curitiba"],
}
_FIRST = {
    "de": [
        "Anna",
        "Lena",
        "Mia",
        "Emma",
        "Sophie",
        "Laura",
        "Julia",
        "Sarah",
        "Lisa",
        "Hannah",
        "Lukas",
        "Leon",
        "Jonas",
        "Finn",
        "Paul",
        "Felix",
        "Maximilian",
        "Jan",
        "Tim",
        "Jürgen",
        "Özlem",
        "Mehmet",
        "Katharina",
        "Stefan",
        "Andreas",
        "Sabine",
        "Thomas",
        "Monika",
    ],
    "nl": ["Daan", "Sem", "Lotte", "Sanne", "Bram", "Fleur", "Ruben", "Eva", "Thijs", "Noor"],
    "en": [
        "James",
        "Emily",
        "Michael",
        "Olivia",
        "Priya",
        "Rahul",
        "Ananya",
        "Arjun",
        "Sarah",
        "David",
        "Jessica",
        "Daniel",
    ],
    "pt": ["João", "Maria", "Ana", "Pedro", "Lucas", "Juliana", "Gabriel", "Camila"],
}
_LAST = {
    "de": [
        "Müller",
        "Schmidt",
        "Schneider",
        "Fischer",
        "Weber",
        "Meyer",
        "Wagner",
        "Becker",
        "Schulz",
        "Hoffmann",
        "Koch",
        "Richter",
        "Klein",
        "Wolf",
        "Schröder",
        "Yılmaz",
        "Nowak",
    ],
    "nl": ["de Jong", "Jansen", "de Vries", "van den Berg", "Bakker", "Visser", "Smit"],
    "en": ["Smith", "Johnson", "Brown", "Sharma", "Patel", "Gupta", "Williams", "Miller"],
    "pt": ["Silva", "Santos", "Oliveira", "Souza", "Costa", "Pereira"],
}
# Local hour weights: activity peaks at 10-12 h and 20-22 h, little at night.
_HOUR_WEIGHTS = np.array(
    [
        0.3,
        0.2,
        0.1,
        0.1,
        0.1,
        0.2,
        0.5,
        1.0,
        1.4,
        1.7,
        3.2,
        3.4,
        1.9,
        1.7,
        1.5,
        1.5,
        1.6,
        1.7,
        1.9,
        2.2,
        3.3,
        3.5,
        1.5,
        0.7,
    ]
)
_HOUR_P = _HOUR_WEIGHTS / _HOUR_WEIGHTS.sum()
_KINDS = np.array(["read", "click", "inbound", "reply"])
_KIND_P = np.array([0.52, 0.14, 0.19, 0.15])


def default_now() -> pd.Timestamp:
    """Today at midnight UTC (today by ``WAMKT_NOW`` when set): stable within a day, so repeated demo
    runs agree."""
    return pd.Timestamp(wall_time(), unit="s", tz="UTC").normalize()


def session_now(hour: float = 14.0) -> pd.Timestamp:
    """When a notebook session plays: ``WAMKT_NOW`` when it is set (a run tried at a daytime or a
    nighttime hour), otherwise today at ``hour`` UTC (14 h: daytime for most of the sample's
    customers), the same on every run of a day."""
    if is_pinned():
        return pd.Timestamp(wall_time(), unit="s", tz="UTC")
    return default_now() + pd.Timedelta(hours=hour)


def generate(
    n_customers: int = 1_000,
    seed: int = 42,
    now: pd.Timestamp | str | None = None,
    orders_per_customer: float = 10.0,
    interactions_per_customer: float = 8.0,
) -> CustomerData:
    """Sample customer data over the 18 months before ``now``."""
    if n_customers < 1:
        raise ValueError("n_customers must be at least 1")
    now_ts = pd.Timestamp(now if now is not None else default_now())
    now_ts = now_ts.tz_localize("UTC") if now_ts.tzinfo is None else now_ts.tz_convert("UTC")
    now_s = now_ts.value / 1e9
    rng = np.random.default_rng(seed)
    customers, life = _customers(n_customers, rng, now_s)
    orders = _orders(customers, life, rng, now_s, orders_per_customer)
    interactions = _interactions(customers, life, rng, now_s, interactions_per_customer)
    return CustomerData(customers=customers, orders=orders, interactions=interactions)


def _customers(n: int, rng: np.random.Generator, now_s: float) -> tuple[pd.DataFrame, dict]:
    codes = list(_COUNTRIES)
    shares = np.array([_COUNTRIES[c][0] for c in codes])
    country = np.array(codes)[rng.choice(len(codes), size=n, p=shares / shares.sum())]
    phone = np.empty(n, dtype=object)
    timezone = np.empty(n, dtype=object)
    city = np.empty(n, dtype=object)
    for code in codes:
        idx = np.flatnonzero(country == code)
        if not len(idx):
            continue
        _, prefixes, digits, zones = _COUNTRIES[code]
        space = 10**digits
        # An affine bijection on [0, space) keeps numbers unique and spread out.
        national = (np.arange(len(idx), dtype=np.int64) * 7_919_317 + 1_234_567) % space
        if code == "US":  # NANP exchange codes start with 2-9
            national = 2_000_000 + national % 8_000_000
        pre = np.array(prefixes)[rng.integers(0, len(prefixes), len(idx))]
        phone[idx] = [p + str(v).zfill(digits) for p, v in zip(pre, national, strict=True)]
        timezone[idx] = np.array(zones)[rng.integers(0, len(zones), len(idx))]
        city[idx] = np.array(_CITIES[code])[rng.integers(0, len(_CITIES[code]), len(idx))]
    language = np.vectorize(_LANGUAGE.get, otypes=[object])(country)
    first = np.empty(n, dtype=object)
    last = np.empty(n, dtype=object)
    for lang in _FIRST:
        idx = np.flatnonzero(language == lang)
        first[idx] = np.array(_FIRST[lang], dtype=object)[rng.integers(0, len(_FIRST[lang]), len(idx))]
        last[idx] = np.array(_LAST[lang], dtype=object)[rng.integers(0, len(_LAST[lang]), len(idx))]
    no_name = rng.random(n) < 0.015  # a few customers never told us their name
    first[no_name] = None
    last[no_name] = None
    name = np.where(no_name, None, first.astype(str) + " " + last.astype(str))
    ids = pd.Series(np.arange(1, n + 1)).map("C{:07d}".format)
    email = np.where(
        no_name | (rng.random(n) < 0.1),
        None,
        pd.Series(first).str.lower().str.cat([ids.str[1:]], sep=".").to_numpy(dtype=object),
    )
    email = np.array([e + "@example.com" if e is not None else None for e in email], dtype=object)

    history_start = now_s - HISTORY_DAYS * DAY
    # 55 % joined before the history window, the rest during it.
    signup = np.where(
        rng.random(n) < 0.55,
        history_start - rng.uniform(0, 730, n) * DAY,
        rng.uniform(history_start, now_s - DAY, n),
    )
    # Latent activity: 12 % core frequent buyers, 38 % regulars, 50 % occasional.
    kind = rng.choice(3, size=n, p=[0.12, 0.38, 0.50])
    rate = np.array([2.0, 0.55, 0.15])[kind] * rng.gamma(4.0, 0.25, n)  # orders per month
    # Churn: 55 % still active, 15 % quiet for 30-90 days, 30 % gone for 90+ days.
    churn = rng.choice(
        3,
        size=n,
        p=[0.55, 0.15, 0.30],
    )
    churn[kind == 0] = np.where(rng.random((kind == 0).sum()) < 0.85, 0, churn[kind == 0])
    quiet_days = np.select(
        [churn == 0, churn == 1], [rng.uniform(0, 6, n), rng.uniform(31, 89, n)], rng.uniform(91, 540, n)
    )
    last_active = np.maximum(now_s - quiet_days * DAY, signup + DAY)
    last_active = np.minimum(last_active, now_s)
    opted_in = rng.random(n) < 0.93
    opt_in_at = np.where(opted_in, signup + rng.uniform(0, 30, n) * DAY, np.nan)
    opt_in_at = np.minimum(opt_in_at, now_s)

    customers = pd.DataFrame(
        {
            "customer_id": ids.astype("string"),
            "name": pd.array(name, dtype="string"),
            "first_name": pd.array(first, dtype="string"),
            "last_name": pd.array(last, dtype="string"),
            "phone": pd.array(phone, dtype="string"),
            "email": pd.array(email, dtype="string"),
            "language": pd.array(language, dtype="string"),
            "timezone": pd.array(timezone, dtype="string"),
            "country": pd.array(country, dtype="string"),
            "city": pd.array(city, dtype="string"),
            "opted_in": opted_in,
            "opt_in_at": _to_utc(opt_in_at),
            "signup_at": _to_utc(signup),
        }
    )
    life = {"start": np.maximum(signup, history_start), "end": last_active, "rate": rate}
    return customers, life


def _events(
    customers: pd.DataFrame,
    life: dict,
    rng: np.random.Generator,
    now_s: float,
    weight: np.ndarray,
    per_customer: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-customer event counts proportional to ``weight`` x active months; local-peaked times (UTC s)."""
    months = np.maximum(life["end"] - life["start"], 0) / (30.44 * DAY)
    expected = weight * months
    scale = per_customer * len(customers) / max(expected.sum(), 1e-9)
    counts = rng.poisson(expected * scale)
    owner = np.repeat(np.arange(len(customers)), counts)
    start, end = life["start"][owner], life["end"][owner]
    # Bias towards the end of each customer's active span, so recency matches last_active.
    frac = 1.0 - rng.random(len(owner)) ** 1.6
    day = np.floor((start + frac * (end - start)) / DAY)
    local = day * DAY + rng.choice(24, size=len(owner), p=_HOUR_P) * 3600 + rng.uniform(0, 3600, len(owner))
    utc = _local_to_utc(local, customers["timezone"].to_numpy(dtype=object)[owner])
    return owner, np.minimum(utc, now_s - 1)


def _orders(customers, life, rng, now_s, per_customer) -> pd.DataFrame:
    owner, at = _events(customers, life, rng, now_s, life["rate"], per_customer)
    aov = rng.lognormal(np.log(42.0), 0.65, len(customers))  # each customer's typical basket
    amount = np.round(aov[owner] * rng.lognormal(0.0, 0.35, len(owner)) + 4.99, 2)
    order = np.argsort(at, kind="stable")
    owner, at, amount = owner[order], at[order], amount[order]
    ids = pd.Series(np.arange(1, len(owner) + 1), dtype="int64").astype("string")
    return pd.DataFrame(
        {
            "order_id": ("O" + ids.str.zfill(8)).astype("string"),
            "customer_id": customers["customer_id"].to_numpy()[owner],
            "ordered_at": _to_utc(at),
            "amount": amount,
            "currency": pd.array(np.full(len(owner), "EUR"), dtype="string"),
        }
    ).astype({"customer_id": "string"})


def _interactions(customers, life, rng, now_s, per_customer) -> pd.DataFrame:
    weight = 0.4 + life["rate"]
    owner, at = _events(customers, life, rng, now_s, weight, per_customer)
    kind = _KINDS[rng.choice(len(_KINDS), size=len(owner), p=_KIND_P)]
    order = np.argsort(at, kind="stable")
    return pd.DataFrame(
        {
            "customer_id": customers["customer_id"].to_numpy()[owner[order]],
            "at": _to_utc(at[order]),
            "kind": pd.Categorical(kind[order], categories=list(_KINDS)),
        }
    ).astype({"customer_id": "string"})


def _local_to_utc(local_s: np.ndarray, zones: np.ndarray) -> np.ndarray:
    """Wall-clock seconds in each row's time zone to UTC epoch seconds (DST-aware, per zone)."""
    out = np.empty(len(local_s))
    for zone in pd.unique(zones):
        idx = np.flatnonzero(zones == zone)
        naive = pd.DatetimeIndex((local_s[idx] * 1e9).astype("int64").view("datetime64[ns]"))
        aware = naive.tz_localize(zone, ambiguous=np.ones(len(idx), dtype=bool), nonexistent="shift_forward")
        out[idx] = aware.tz_convert("UTC").asi8 / 1e9
    return out


def _to_utc(seconds: np.ndarray) -> pd.Series:
    nanos = np.where(np.isnan(seconds), np.iinfo("int64").min, np.nan_to_num(seconds) * 1e9)
    return pd.Series(pd.DatetimeIndex(nanos.astype("int64").view("datetime64[ns]")).tz_localize("UTC"))
