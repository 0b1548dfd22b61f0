"""The compliance rules: who may receive this message now, and if not, the reason code why.

Everything is vectorised over the audience and driven by an explicit ``now`` (UTC epoch seconds);
the store supplies what happened elsewhere (opt-outs, service windows, other campaigns' marketing).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..store import Store
from .reasons import EXCLUDING
from .reservation import MARKETING_CAP_SECONDS, SENT_STATES, recently_marketed

SERVICE_WINDOW_SECONDS = 86_400.0
INACTIVE_DAYS = 90.0


@dataclass(frozen=True)
class Policy:
    """The limits a campaign respects; every field is a setting the analyst may change.

    ``daily_limit`` is the messaging tier (unique users reached outside a service window per 24 h;
    None = unlimited). Quiet hours run from ``quiet_start`` to ``quiet_end`` local time.
    """

    include_inactive: bool = False
    quiet_start: float = 22.0
    quiet_end: float = 8.0
    daily_limit: int | None = 2_000
    marketing_cap_seconds: float = MARKETING_CAP_SECONDS
    service_window_seconds: float = SERVICE_WINDOW_SECONDS

    def __post_init__(self) -> None:
        for name in ("quiet_start", "quiet_end"):
            if not 0 <= getattr(self, name) < 24:
                raise ValueError(f"{name} must be an hour from 0 to 24, not {getattr(self, name)!r}")
        if self.daily_limit is not None and self.daily_limit < 1:
            raise ValueError("daily_limit must be at least 1 (or None for unlimited)")

    def in_quiet_hours(self, local_hour: np.ndarray) -> np.ndarray:
        if self.quiet_start == self.quiet_end:
            return np.zeros(len(local_hour), dtype=bool)
        if self.quiet_start > self.quiet_end:  # over midnight, e.g. 22-8
            return (local_hour >= self.quiet_start) | (local_hour < self.quiet_end)
        return (local_hour >= self.quiet_start) & (local_hour < self.quiet_end)


@dataclass
class RuleResult:
    """Per recipient: the first exclusion reason ('' when allowed) and whether a service window is open."""

    reason: pd.Series
    window_open: pd.Series


def check_rules(audience: pd.DataFrame, *, category: str, message_type: str, now: float,
                store: Store | None = None, campaign_id: str = "", policy: Policy = Policy()) -> RuleResult:
    """Apply every exclusion rule (see :data:`reasons.EXCLUDING`, first match wins).

    ``message_type`` ``"text"`` (free-form) needs an open service window; templates do not.
    Marketing rules (opt-out, +1 numbers, the 24 h cap) apply to ``category == "marketing"``.
    """
    n = len(audience)
    idx = audience.index
    phone = audience["phone"].astype("str")
    marketing = category == "marketing"
    masks: dict[str, np.ndarray] = {}
    masks["no_phone"] = ~phone.str.match(r"^\+\d{6,15}$").fillna(False).to_numpy(dtype=bool)

    flag = (audience["opted_in"].fillna(False).to_numpy(dtype=bool) if "opted_in" in audience
            else np.ones(n, dtype=bool))
    consent = _consent(store, phone)  # keyword / WhatsApp-settings answers override the import
    said_yes, said_no = consent == 1, consent == 0
    if category == "service":  # the customer wrote to us: answering needs no opt-in
        masks["no_opt_in"] = np.zeros(n, dtype=bool)
    else:
        masks["no_opt_in"] = ~(flag | said_yes) & ~(said_no & marketing)
    masks["opted_out"] = said_no & marketing
    masks["us_marketing"] = (phone.str.startswith("+1").fillna(False).to_numpy(dtype=bool)
                             if marketing else np.zeros(n, dtype=bool))
    masks["holdout"] = (audience["arm"].astype("str").fillna("").to_numpy(dtype=object) == "holdout"
                        if "arm" in audience else np.zeros(n, dtype=bool))
    masks["inactive_90d"] = (_inactive(audience) if marketing and not policy.include_inactive
                             else np.zeros(n, dtype=bool))
    if marketing and store is not None:
        taken = recently_marketed(store, now, campaign_id, policy.marketing_cap_seconds)
        masks["marketing_cap_24h"] = phone.isin(taken).to_numpy(dtype=bool)
    else:
        masks["marketing_cap_24h"] = np.zeros(n, dtype=bool)
    window_open = _window_open(store, phone, now, policy.service_window_seconds)
    masks["outside_service_window"] = (~window_open if message_type == "text" else np.zeros(n, dtype=bool))
    reason = np.select([masks[c] for c in EXCLUDING], list(EXCLUDING), default="")
    return RuleResult(reason=pd.Series(reason, index=idx, dtype="str"),
                      window_open=pd.Series(window_open, index=idx))


def _inactive(audience: pd.DataFrame) -> np.ndarray:
    if "interaction_recency" in audience:
        return (audience["interaction_recency"].astype("str") == "inactive_90d").fillna(False).to_numpy(bool)
    if "days_since_last_interaction" in audience:
        days = audience["days_since_last_interaction"].to_numpy(dtype=float)
        return ~(days < INACTIVE_DAYS)  # no interaction at all counts as inactive
    return np.zeros(len(audience), dtype=bool)


def _consent(store: Store | None, phone: pd.Series) -> np.ndarray:
    """The latest consent answer per recipient: 1 in, 0 out, NaN unknown (all NaN without a store)."""
    rows = store.query("SELECT phone, marketing FROM consent") if store is not None else []
    if not rows:
        return np.full(len(phone), np.nan)
    return phone.map(pd.Series({r[0]: float(r[1]) for r in rows})).to_numpy(dtype=float)


def _window_open(store: Store | None, phone: pd.Series, now: float, seconds: float) -> np.ndarray:
    if store is None:
        return np.zeros(len(phone), dtype=bool)
    rows = store.query("SELECT phone FROM service_windows WHERE last_inbound_at > ? AND last_inbound_at <= ?",
                       (now - seconds, now))
    return phone.isin({r[0] for r in rows}).to_numpy(dtype=bool)


def reached_last_24h(store: Store | None, now: float) -> int:
    """Unique users who got a business-initiated (template) message in the last 24 h: the tier's use."""
    if store is None:
        return 0
    row = store.query(
        "SELECT COUNT(DISTINCT phone) FROM sends WHERE message_type = 'template' AND state IN "
        f"({', '.join(repr(s) for s in SENT_STATES)}) "
        "AND COALESCE(accepted_at, sent_at, updated_at) > ? AND COALESCE(accepted_at, sent_at, updated_at) <= ?",
        (now - 86_400.0, now))
    return int(row[0][0])
