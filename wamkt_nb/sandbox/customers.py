"""The simulated customers: who they are (features), whether they can receive, their service window."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from ..data.features import build_features
from ..data.schema import CustomerData

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
    """One simulated customer's identity, features and live state."""

    customer_id: str
    wa_id: str
    phone: str
    name: str
    timezone: str
    features: dict[str, Any]
    on_whatsapp: bool = True
    marketing_stopped: bool = False
    blocked: bool = False
    last_inbound_at: float | None = None
    counts: dict[str, int] = field(default_factory=dict)

    def local_hour(self, epoch: float) -> int:
        return datetime.fromtimestamp(epoch, zone(self.timezone)).hour

    def window_open(self, now: float, hours: float) -> bool:
        return self.last_inbound_at is not None and now - self.last_inbound_at < hours * 3600.0

    def state(self) -> dict[str, Any]:
        return {"customer_id": self.customer_id, "wa_id": self.wa_id, "phone": self.phone, "name": self.name,
                "on_whatsapp": self.on_whatsapp, "marketing_stopped": self.marketing_stopped, "blocked": self.blocked,
                "last_inbound_at": self.last_inbound_at, **{f"n_{k}": v for k, v in self.counts.items()}}


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
    if not isinstance(customers, pd.DataFrame) or "phone" not in customers or "customer_id" not in customers:
        raise TypeError("customers must be CustomerData or a features DataFrame with customer_id and phone")
    return customers, {}


def _missing(value: Any) -> bool:
    return value is None or (not isinstance(value, (str, tuple, list)) and bool(pd.isna(value)))


def build_customers(customers: CustomerData | pd.DataFrame, now: float, seed: int, not_on_whatsapp_rate: float,
                    marketing_stopped_rate: float) -> dict[str, SimCustomer]:
    """Simulated customers by wa_id (digits of the E.164 phone); a seeded few are not on WhatsApp.

    Each keeps the features the customer model reads (``behaviour.customer_scores``: days since the
    last interaction, orders per month, average order value; the first name for name-first copy;
    the recency tag for blocking), as they were at ``now``."""
    feats, last_inbound = features_of(customers, now)
    rng = random.Random(seed)
    out: dict[str, SimCustomer] = {}
    keep = [c for c in ("first_name", "days_since_last_interaction", "orders_per_month", "avg_order_value",
                        "order_value_band", "interaction_recency") if c in feats.columns]
    records = feats[["customer_id", "phone", *[c for c in ("name", "timezone") if c in feats.columns], *keep]]
    for raw in records.to_dict("records"):
        row = {k: None if _missing(v) else v for k, v in raw.items()}
        phone = str(row["phone"])
        wa_id = phone.lstrip("+")
        cid = str(row["customer_id"])
        out[wa_id] = SimCustomer(
            customer_id=cid, wa_id=wa_id, phone=phone, name=str(row.get("name") or ""),
            timezone=str(row.get("timezone") or "UTC"), features={k: row[k] for k in keep},
            on_whatsapp=rng.random() >= not_on_whatsapp_rate,
            marketing_stopped=rng.random() < marketing_stopped_rate,
            last_inbound_at=last_inbound.get(cid),
        )
    return out
