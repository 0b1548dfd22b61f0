"""The compliance rules: who may receive this message now, and if not, the reason code why.

Everything is vectorised over the audience and driven by an explicit ``now`` (UTC epoch seconds);
the store supplies what happened elsewhere (opt-outs, service windows, other campaigns' marketing).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..bsuid import ANY_BSUID_PATTERN
from ..ledger.cap import template_recipients
from ..messages.templates import to_arrow
from ..store import Store
from .reasons import EXCLUDING, REASON_CODES
from .reservation import MARKETING_CAP_SECONDS, recently_marketed

SERVICE_WINDOW_SECONDS = 86_400.0
"""A customer's message opens a 24 h customer service window for free-form messages."""
INACTIVE_DAYS = 90.0


@dataclass(frozen=True)
class Policy:
    """The limits a campaign respects; every field is a setting the analyst may change.

    ``daily_limit`` is the business portfolio's messaging limit (unique users reached outside a
    service window per rolling 24 h; None = unlimited). Since October 2025 Meta sets it per
    portfolio and all its numbers share it, so a campaign sent from several numbers reaches this many
    users per 24 h in all, not per number (read it with
    :func:`wamkt_nb.campaigns.portfolio.portfolio_policy`). Quiet hours run from ``quiet_start`` to
    ``quiet_end`` local time.
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
    """Per recipient: the first exclusion reason ('' when allowed), whether a service window is open
    now and when it closes (NaN: never wrote).

    ``reason`` is categorical over :data:`reasons.REASON_CODES` ('' first), cheap for a million rows.
    """

    reason: pd.Series
    window_open: pd.Series
    window_closes_at: pd.Series


def check_rules(
    audience: pd.DataFrame,
    *,
    category: str,
    message_type: str,
    now: float,
    store: Store | None = None,
    campaign_id: str = "",
    policy: Policy = Policy(),
) -> RuleResult:
    """Apply every exclusion rule (see :data:`reasons.EXCLUDING`, first match wins).

    Every ``message_type`` but ``"template"`` (free-form text, media, ...) needs an open service window.
    Marketing rules (opt-out, +1 numbers, the 24 h cap) apply to ``category == "marketing"``.
    """
    n = len(audience)
    none = np.zeros(n, dtype=bool)
    phone = to_arrow(audience["phone"])
    marketing = category == "marketing"
    masks: dict[str, np.ndarray] = {"no_phone": ~(_valid_phones(phone) | _bsuids(phone))}
    flag = audience["opted_in"].fillna(False).to_numpy(dtype=bool) if "opted_in" in audience else np.ones(n, dtype=bool)
    masks["no_opt_in"], masks["opted_out"] = consent_exclusions(category, flag, consent_answers(store, phone))
    us = pc.or_(pc.starts_with(phone, "+1"), pc.starts_with(phone, "US."))  # a BSUID starts with the country
    masks["us_marketing"] = _bool(us) if marketing else none
    masks["holdout"] = audience["arm"].eq("holdout").fillna(False).to_numpy(bool) if "arm" in audience else none
    masks["inactive_90d"] = _inactive(audience) if marketing and not policy.include_inactive else none
    if marketing and store is not None:
        masks["marketing_cap_24h"] = _member(
            phone, recently_marketed(store, now, campaign_id, policy.marketing_cap_seconds)
        )
    else:
        masks["marketing_cap_24h"] = none
    closes_at = window_closes_at(store, phone, now, policy.service_window_seconds)
    window_open = closes_at > now
    masks["outside_service_window"] = ~window_open if needs_service_window(message_type) else none
    codes = np.select([masks[c] for c in EXCLUDING], [REASON_CODES.index(c) for c in EXCLUDING], default=0)
    reason = pd.Categorical.from_codes(codes.astype(np.int8), categories=list(REASON_CODES))
    return RuleResult(
        reason=pd.Series(reason, index=audience.index),
        window_open=pd.Series(window_open, index=audience.index),
        window_closes_at=pd.Series(closes_at, index=audience.index),
    )


def _valid_phones(phone: pa.Array) -> np.ndarray:
    """E.164: '+' and 6 to 15 digits."""
    digits = pc.utf8_slice_codeunits(phone, 1)
    length = pc.utf8_length(digits)
    ok = pc.and_(
        pc.and_(pc.starts_with(phone, "+"), pc.ascii_is_decimal(digits)),
        pc.and_(pc.greater_equal(length, 6), pc.less_equal(length, 15)),
    )
    return _bool(ok)


def _bsuids(address: pa.Array) -> np.ndarray:
    """Customers known by a BSUID alone: the customer key is then the BSUID (:mod:`wamkt_nb.identities`)."""
    return _bool(pc.match_substring_regex(address, ANY_BSUID_PATTERN))


def _bool(values: pa.Array) -> np.ndarray:
    return pc.fill_null(values, False).to_numpy(zero_copy_only=False).astype(bool)


def _member(phone: pa.Array, phones: set[str] | list[str]) -> np.ndarray:
    if not phones:
        return np.zeros(len(phone), dtype=bool)
    return _bool(pc.is_in(phone, value_set=pa.array(list(phones), pa.large_string())))


def _inactive(audience: pd.DataFrame) -> np.ndarray:
    if "interaction_recency" in audience:
        return audience["interaction_recency"].eq("inactive_90d").fillna(False).to_numpy(bool)
    if "days_since_last_interaction" in audience:
        days = audience["days_since_last_interaction"].to_numpy(dtype=float)
        return ~(days < INACTIVE_DAYS)  # no interaction at all counts as inactive
    return np.zeros(len(audience), dtype=bool)


def needs_service_window(message_type: str | None) -> bool:
    """Only approved templates may open a conversation; free-form (session) messages need a window."""
    return message_type != "template"


def consent_exclusions(category: str, opted_in: np.ndarray, consent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ``no_opt_in`` and ``opted_out`` masks from the import's opt-in flag and the latest consent
    answer (1 in, 0 out, NaN none): keyword / WhatsApp-settings answers override the import."""
    said_yes, said_no = consent == 1, consent == 0
    marketing = category == "marketing"
    if category == "service":  # the customer wrote to us: answering needs no opt-in
        no_opt_in = np.zeros(len(consent), dtype=bool)
    else:
        no_opt_in = ~(opted_in | said_yes) & ~(said_no & marketing)
    return no_opt_in, said_no & marketing


def consent_answers(store: Store | None, phones: pa.Array | list[str]) -> np.ndarray:
    """The latest consent answer per recipient: 1 in, 0 out, NaN unknown (all NaN without a store).

    Up to :data:`LOOKUP_ROWS` phones are looked up by key, more by one read of the whole table.
    """
    rows = _rows_for(store, "SELECT phone, marketing FROM consent", phones)
    return _per_phone(phones, rows, 0.0)


def window_closes_at(
    store: Store | None, phones: pa.Array | list[str], now: float, seconds: float = SERVICE_WINDOW_SECONDS
) -> np.ndarray:
    """When each recipient's service window closes (their last message by ``now`` + ``seconds``);
    NaN when they never wrote. Open at ``t`` means ``closes_at > t``."""
    rows = _rows_for(
        store, "SELECT phone, last_inbound_at FROM service_windows WHERE last_inbound_at <= ?", phones, (now,)
    )
    return _per_phone(phones, rows, seconds)


def window_open(store: Store | None, phone: str, now: float, seconds: float = SERVICE_WINDOW_SECONDS) -> bool:
    """Whether a free-form (session) message may be sent to ``phone`` at ``now``."""
    return bool(window_closes_at(store, [phone], now, seconds)[0] > now)


def _per_phone(phones: pa.Array | list[str], rows: list, add: float) -> np.ndarray:
    """The value of ``(phone, value)`` ``rows`` for each of ``phones`` (plus ``add``), NaN if absent."""
    if not rows:
        return np.full(len(phones), np.nan)
    if not isinstance(phones, pa.Array):  # a few rows (the sender's batch): a dict beats arrow's setup
        found = {r[0]: float(r[1]) + add for r in rows}
        return np.array([found.get(p, np.nan) for p in phones], dtype=float)
    phone = phones
    keys = pa.array([r[0] for r in rows], pa.large_string())
    values = np.array([float(r[1]) + add for r in rows])
    pos = pc.index_in(phone, value_set=keys).to_numpy(zero_copy_only=False)
    pos = np.nan_to_num(pos.astype(float), nan=-1).astype(np.int64)
    return np.where(pos >= 0, values[np.maximum(pos, 0)], np.nan)


LOOKUP_ROWS = 2_000
"""Up to this many recipients, store facts are read by key (the sender's batches); above, by one scan."""


def _rows_for(store: Store | None, sql: str, phones: pa.Array | list[str], params: tuple = ()) -> list:
    if store is None:
        return []
    if len(phones) > LOOKUP_ROWS:
        return store.query(sql, params)
    where = " AND " if " WHERE " in sql else " WHERE "
    wanted = phones.to_pylist() if isinstance(phones, pa.Array) else list(phones)
    return store.query(
        sql + where + f"phone IN ({store.dialect.values_of('TEXT')})", (*params, orjson.dumps(wanted).decode())
    )


def reached_last_24h(store: Store | None, now: float) -> int:
    """Unique users who got a business-initiated (template) message in the last 24 h: the tier's use."""
    if store is None:
        return 0
    return template_recipients(store, now - 86_400.0, now)
