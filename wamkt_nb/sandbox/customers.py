"""The simulated customers: who they are (features), whether they can receive, their service window.

Every simulated customer has a business-scoped user ID (BSUID), as Meta gives every WhatsApp user
since April 2026; a seeded share are username users whose webhooks carry no phone number
(``SandboxConfig.username_share``), and a customer loaded with a BSUID but no phone is one too.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from ..bsuid import is_bsuid
from ..data.features import build_features
from ..data.schema import CustomerData
from .behaviour import SCORE_FEATURES, BehaviourParams, customer_scores

INBOUND_KINDS = ("inbound", "reply")
_ZONES: dict[str, ZoneInfo] = {}


def zone(name: str | None) -> ZoneInfo:
    key = name or "UTC"
    if key not in _ZONES:
        try:
            _ZONES[key] = ZoneInfo(key)
        except (KeyError, ValueError):
            _ZONES[key] = ZoneInfo("UTC")
    return _ZONES[key]


@dataclass
class SimCustomer:
    """One simulated customer's identity, features and live state.

    ``wa_id``/``phone`` are None for a customer known only by BSUID; ``username`` is set for a
    username user, whose webhooks carry ``user_id`` and the username but no phone.
    """

    customer_id: str
    wa_id: str | None
    phone: str | None
    name: str
    timezone: str
    features: dict[str, Any]
    on_whatsapp: bool = True
    marketing_stopped: bool = False
    blocked: bool = False
    last_inbound_at: float | None = None
    counts: dict[str, int] = field(default_factory=dict)
    user_id: str = ""
    username: str | None = None
    _scores: tuple[tuple[Any, ...], tuple[float, float, float]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    @property
    def key(self) -> str:
        """How the sandbox files this customer: the phone's digits, else the BSUID."""
        return self.wa_id or self.user_id

    @property
    def shares_phone(self) -> bool:
        """Whether webhooks about this customer may carry the phone number (not for username users)."""
        return self.wa_id is not None and self.username is None

    def scores(self, params: BehaviourParams) -> tuple[float, float, float]:
        """:func:`~.behaviour.customer_scores` of this customer, kept with the inputs they came from
        and worked out again only when one of them differs (every message to the customer needs
        them, and in a run neither the features nor the parameters usually change)."""
        features = self.features
        inputs = (params.never_interacted_days, *[features.get(name) for name in SCORE_FEATURES])
        kept = self._scores
        if kept is None or kept[0] != inputs:
            kept = self._scores = (inputs, customer_scores(features, params))
        return kept[1]

    def local_hour(self, epoch: float) -> int:
        return datetime.fromtimestamp(epoch, zone(self.timezone)).hour

    def window_open(self, now: float, hours: float) -> bool:
        return self.last_inbound_at is not None and now - self.last_inbound_at < hours * 3600.0

    def state(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "wa_id": self.wa_id,
            "phone": self.phone,
            "name": self.name,
            "user_id": self.user_id,
            "username": self.username,
            "on_whatsapp": self.on_whatsapp,
            "marketing_stopped": self.marketing_stopped,
            "blocked": self.blocked,
            "last_inbound_at": self.last_inbound_at,
            **{f"n_{k}": v for k, v in self.counts.items()},
        }


def features_of(customers: CustomerData | pd.DataFrame, now: float) -> tuple[pd.DataFrame, dict[str, float]]:
    """Features per customer and the last inbound time per customer_id (when the history has it)."""
    if isinstance(customers, CustomerData):
        feats = build_features(customers, now)
        inter = customers.interactions
        inbound = inter[inter["kind"].isin(INBOUND_KINDS)]
        inbound = inbound[inbound["at"] <= pd.Timestamp(now, unit="s", tz="UTC")]
        latest = inbound.groupby("customer_id")["at"].max()
        last = (latest - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_dict() if len(latest) else {}
        return feats, {str(k): float(v) for k, v in last.items()}
    if (
        not isinstance(customers, pd.DataFrame)
        or "customer_id" not in customers
        or ("phone" not in customers and "bsuid" not in customers)
    ):
        raise TypeError("customers must be CustomerData or a features DataFrame with customer_id and phone or bsuid")
    return customers, {}


def _missing(value: Any) -> bool:
    return value is None or (not isinstance(value, (str, tuple, list)) and bool(pd.isna(value)))


def make_bsuid(seed: int, customer_id: str, country: str | None) -> str:
    """A stable BSUID in Meta's format (country code, '.', digits) for a customer without one."""
    digits = int.from_bytes(hashlib.blake2b(f"{seed}:{customer_id}".encode(), digest_size=8).digest(), "big")
    region = country if isinstance(country, str) and re.fullmatch(r"[A-Z]{2}", country) else "US"
    return f"{region}.{digits:020d}"


def make_username(name: str, customer_id: str) -> str:
    """A username like Meta shows one (``@first.name42``): personal data, masked like a phone."""
    handle = re.sub(r"[^a-z0-9]+", ".", name.lower()).strip(".") or "user"
    return f"@{handle[:20]}{int(hashlib.blake2b(customer_id.encode(), digest_size=2).hexdigest(), 16) % 100}"


def build_customers(
    customers: CustomerData | pd.DataFrame,
    now: float,
    seed: int,
    not_on_whatsapp_rate: float,
    marketing_stopped_rate: float,
    username_share: float = 0.0,
) -> dict[str, SimCustomer]:
    """Simulated customers by :attr:`SimCustomer.key` (phone digits, else BSUID); a seeded few are
    not on WhatsApp, a seeded ``username_share`` are username users (their own seed per customer, so
    the share changes nothing else).

    Each keeps the features the customer model reads (``behaviour.customer_scores``: days since the
    last interaction, orders per month, average order value; the first name for name-first copy;
    the recency tag for blocking), as they were at ``now``."""
    feats, last_inbound = features_of(customers, now)
    rng = random.Random(seed)
    out: dict[str, SimCustomer] = {}
    keep = [
        c
        for c in (
            "first_name",
            "days_since_last_interaction",
            "orders_per_month",
            "avg_order_value",
            "order_value_band",
            "interaction_recency",
        )
        if c in feats.columns
    ]
    ident = [c for c in ("phone", "bsuid", "username", "name", "timezone", "country") if c in feats.columns]
    records = feats[["customer_id", *ident, *keep]]
    for raw in records.to_dict("records"):
        row = {k: None if _missing(v) else v for k, v in raw.items()}
        cid = str(row["customer_id"])
        phone = str(row["phone"]) if row.get("phone") else None
        name = str(row.get("name") or "")
        user_id = str(row["bsuid"]) if is_bsuid(row.get("bsuid")) else make_bsuid(seed, cid, row.get("country"))
        username = row.get("username") or None
        if username is None and (phone is None or random.Random(f"{seed}:username:{cid}").random() < username_share):
            username = make_username(name, cid)
        customer = SimCustomer(
            customer_id=cid,
            wa_id=phone.lstrip("+") if phone else None,
            phone=phone,
            name=name,
            timezone=str(row.get("timezone") or "UTC"),
            features={k: row[k] for k in keep},
            on_whatsapp=rng.random() >= not_on_whatsapp_rate,
            marketing_stopped=rng.random() < marketing_stopped_rate,
            last_inbound_at=last_inbound.get(cid),
            user_id=user_id,
            username=username,
        )
        out[customer.key] = customer
    return out
