"""How simulated customers react to a message: pure probability functions over their features.

The defaults reproduce the seed's figures (98 % delivery for text, 90-95 % with media, read rate
58 % -> 79 % for 20-30 character messages that start with the name, +20-25 % at 10-12 h and
20-22 h, 65 % of replies within 3 minutes and 12 % after 30, 6 % vs 18 % conversion).
``variant_uplift`` plants a known true effect for A/B tests. All of it is data the analyst can edit.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any, Mapping

import pandas as pd

MEDIA_KINDS = frozenset({"image", "document", "video", "audio", "sticker"})


@dataclass
class BehaviourParams:
    """The knobs of the customer model (probabilities are 0..1, delays in simulated seconds)."""

    delivery_text: float = 0.98
    delivery_media: float = 0.925
    base_read: float = 0.58
    personal_read: float = 0.79  # 20-30 chars starting with the first name
    personal_length: tuple[int, int] = (20, 30)
    peak_hours: tuple[int, ...] = (10, 11, 20, 21)
    peak_read_factor: float = 1.225
    night_hours: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6)
    night_read_factor: float = 0.8
    own_hour_read_factor: float = 1.15  # within an hour of the customer's own most active hour
    # Interaction recency (days since last interaction) -> read factor.
    recency_read_factors: tuple[tuple[float, float], ...] = ((7, 1.15), (30, 1.0), (90, 0.75))
    inactive_read_factor: float = 0.45
    frequency_read_step: float = 0.02  # per interaction in the last 30 days, up to 10
    max_read: float = 0.97
    # Reply probability given a read, by category; a call to action raises marketing replies.
    reply_given_read: dict[str, float] = field(default_factory=lambda: {
        "marketing": 0.03, "utility": 0.18, "authentication": 0.01, "service": 0.35})
    call_to_action_reply: float = 0.10
    call_to_action_words: tuple[str, ...] = ("JA", "YES", "antworte", "reply", "Rabatt")
    # Reply delay mixture: (share, min seconds, max seconds); 65 % < 3 min, 12 % after 30 min.
    reply_delays: tuple[tuple[float, float, float], ...] = (
        (0.65, 5.0, 180.0), (0.23, 180.0, 1_800.0), (0.12, 1_800.0, 21_600.0))
    reply_texts: dict[str, float] = field(default_factory=lambda: {
        "JA": 0.30, "Rabatt": 0.25, "Danke!": 0.17, "Wann kommt meine Bestellung?": 0.12,
        "Info": 0.08, "STOP": 0.08})
    # Blocking/reporting after reading a marketing message, by interaction recency (feeds quality).
    block_given_read: dict[str, float] = field(default_factory=lambda: {
        "active_7d": 0.002, "recent_30d": 0.004, "dormant_30d": 0.01, "inactive_90d": 0.03})
    # Conversion given a read.
    base_conversion: float = 0.06
    conversion_by_value_band: dict[str, float] = field(default_factory=lambda: {
        "over_200": 1.5, "50_200": 1.15, "under_50": 0.9, "none": 0.5})
    conversion_by_recency: dict[str, float] = field(default_factory=lambda: {
        "active_7d": 2.0, "recent_30d": 1.0, "dormant_30d": 0.6, "inactive_90d": 0.3})
    utility_conversion: float = 0.01
    order_value_default: float = 45.0
    order_value_sigma: float = 0.35
    conversion_delay: tuple[float, float] = (600.0, 86_400.0)
    # Delays from accept to sent / delivered / read (simulated seconds).
    sent_delay: tuple[float, float] = (0.3, 2.0)
    delivered_delay: tuple[float, float] = (1.0, 30.0)
    delivered_webhook_missing: float = 0.02  # Meta may send "read" without "delivered" first
    read_delay_mean: float = 1_800.0
    # Known true effects for A/B tests: key = template name or a token of biz_opaque_callback_data.
    variant_uplift: dict[str, float] = field(default_factory=dict)  # relative, on conversion
    variant_read_uplift: dict[str, float] = field(default_factory=dict)  # relative, on read


DEFAULT_PARAMS = BehaviourParams()


def _get(features: Mapping[str, Any], name: str, default: Any = None) -> Any:
    value = features.get(name, default) if hasattr(features, "get") else default
    if value is None or (not isinstance(value, (str, tuple, list)) and pd.isna(value)):
        return default
    return value


def variant_key_uplift(table: Mapping[str, float], template_name: str | None, callback_data: str | None) -> float:
    """The planted uplift for a message: matched on template name or a ``:``/``|``/``=`` token of the callback data."""
    if not table:
        return 0.0
    if template_name and template_name in table:
        return table[template_name]
    if callback_data:
        for token in callback_data.replace("|", ":").replace("=", ":").split(":"):
            if token in table:
                return table[token]
    return 0.0


def delivery_probability(kind: str, params: BehaviourParams | None = None) -> float:
    """Chance the message reaches the phone: text 98 %, media (or media header) 90-95 %."""
    params = params or DEFAULT_PARAMS
    return params.delivery_media if kind in MEDIA_KINDS else params.delivery_text


def is_personal(text: str, first_name: str | None, params: BehaviourParams) -> bool:
    """20-30 characters and the customer's first name at the start (the seed's 58 % -> 79 % case)."""
    low, high = params.personal_length
    return bool(first_name) and low <= len(text) <= high and text.strip().startswith(str(first_name))


def hour_factor(local_hour: int, params: BehaviourParams, most_active_hour: float | None = None) -> float:
    """Peak hours (10-12 h, 20-22 h) read more, nights less; the customer's own active hour adds a bonus."""
    factor = 1.0
    if local_hour in params.peak_hours:
        factor = params.peak_read_factor
    elif local_hour in params.night_hours:
        factor = params.night_read_factor
    if most_active_hour is not None and min(abs(local_hour - most_active_hour),
                                            24 - abs(local_hour - most_active_hour)) <= 1:
        factor *= params.own_hour_read_factor
    return factor


def engagement_factor(features: Mapping[str, Any], params: BehaviourParams) -> float:
    """Recent and frequent interaction raises the read chance; 90+ days quiet lowers it."""
    days = _get(features, "days_since_last_interaction")
    recency = params.inactive_read_factor
    if days is not None:
        for limit, factor in params.recency_read_factors:
            if days <= limit:
                recency = factor
                break
    recent = min(10, int(_get(features, "interactions_30d", 0)))
    return recency * (1.0 + params.frequency_read_step * recent)


def read_probability(features: Mapping[str, Any], text: str, local_hour: int, params: BehaviourParams | None = None,
                     uplift: float = 0.0) -> float:
    """Chance a delivered message is read, from the customer's features, the text and the local hour."""
    params = params or DEFAULT_PARAMS
    base = params.personal_read if is_personal(text, _get(features, "first_name"), params) else params.base_read
    hours = hour_factor(local_hour, params, _get(features, "most_active_hour"))
    p = base * engagement_factor(features, params) * hours * (1.0 + uplift)
    return max(0.0, min(params.max_read, p))


def reply_probability(features: Mapping[str, Any], text: str, category: str,
                      params: BehaviourParams | None = None) -> float:
    """Chance of a reply once read: order news 15-20 %, promotions 1-3 %, more with a call to action."""
    params = params or DEFAULT_PARAMS
    p = params.reply_given_read.get(category, params.reply_given_read["marketing"])
    if category == "marketing" and any(w.lower() in text.lower() for w in params.call_to_action_words):
        p = max(p, params.call_to_action_reply)
    return max(0.0, min(1.0, p * min(1.5, engagement_factor(features, params))))


def conversion_probability(features: Mapping[str, Any], category: str, params: BehaviourParams | None = None,
                           uplift: float = 0.0) -> float:
    """Chance a read message leads to an order: 6 % untargeted, ~18 % for high value + active 7 d."""
    params = params or DEFAULT_PARAMS
    if category not in ("marketing", "service"):
        return params.utility_conversion
    band = _get(features, "order_value_band", "none")
    recency = _get(features, "interaction_recency", "inactive_90d")
    p = (params.base_conversion * params.conversion_by_value_band.get(band, 1.0)
         * params.conversion_by_recency.get(recency, 1.0) * (1.0 + uplift))
    return max(0.0, min(1.0, p))


def block_probability(features: Mapping[str, Any], category: str, params: BehaviourParams) -> float:
    """Chance a read marketing message gets the sender blocked or reported (higher for dormant customers)."""
    if category != "marketing":
        return 0.0
    return params.block_given_read.get(_get(features, "interaction_recency", "inactive_90d"), 0.0)


def sample_reply_delay(rng: random.Random, params: BehaviourParams) -> float:
    """Seconds from read to reply, drawn from the delay mixture."""
    r = rng.random() * sum(share for share, _, _ in params.reply_delays)
    for share, low, high in params.reply_delays:
        if r < share:
            return rng.uniform(low, high)
        r -= share
    _, low, high = params.reply_delays[-1]
    return rng.uniform(low, high)


def sample_reply_text(rng: random.Random, params: BehaviourParams) -> str:
    texts = list(params.reply_texts)
    return rng.choices(texts, weights=[params.reply_texts[t] for t in texts])[0]


def sample_order_value(features: Mapping[str, Any], rng: random.Random, params: BehaviourParams) -> float:
    """An order value around the customer's average order value (log-normal spread)."""
    mean = float(_get(features, "avg_order_value", params.order_value_default))
    return round(mean * math.exp(rng.gauss(-params.order_value_sigma ** 2 / 2, params.order_value_sigma)), 2)
