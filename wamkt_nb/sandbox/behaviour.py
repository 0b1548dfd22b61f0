"""How simulated customers react to a message: pure probability functions over their features.

Every default is calibrated so that ``wamkt calibrate`` (``bench/calibration.py``), which plays a
10,000-customer history through the real pipeline, measures the published figures of the WhatsApp
marketing guide, 2024 in our dashboards; ``docs/figures.md`` lists each figure, the field that
reproduces it and the last calibration result. Segment differences are not labels: the read and
conversion chances rise with what a segment selects on (interaction recency, purchase frequency,
average order value), so a segment reads more because its customers do. ``variant_uplift`` plants
a known true effect for A/B tests. All of it is data the analyst can edit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .draws import Draws

MEDIA_KINDS = frozenset({"image", "document", "video", "audio", "sticker"})


@dataclass
class BehaviourParams:
    """The knobs of the customer model (probabilities are 0..1, delays in simulated seconds).

    Each field's docstring names the published figure (WhatsApp marketing guide, 2024) it is
    calibrated to reproduce; see ``docs/figures.md`` for how the calibration run measures it.
    """

    delivery_text: float = 0.998
    """Text (and text-only template) messages that reach the phone once sent. Together with the
    sandbox's 0.5 % numbers not on WhatsApp and 1 % stopped marketing it gives the 98 % delivery of
    plain text (delivered of attempted, as the dashboards count it)."""
    delivery_media: float = 0.94
    """Messages with an image, document, video (or such a header) that reach the phone: 90-95 %
    delivery with media (about 92.5 % of attempted after the same losses as text)."""
    read_intercept: float = 1.86
    """Log-odds of reading for a customer who interacted today, never ordered, at an ordinary hour
    (fitted so an unsegmented send reads 45 %, see ``read_recency``)."""
    read_recency: float = -2.19
    """Log-odds per ``log(1 + days since the last interaction / 7)`` (negative: quiet customers read
    less). Fitted with the other ``read_*`` weights so unsegmented sends read 45 % and customers
    selected by interaction frequency (active 7 days) 72 %."""
    read_frequency: float = 0.413
    """Log-odds per ``log(1 + orders per month)``: customers selected by purchase frequency read 58 %."""
    read_order_value: float = 2.514
    """Log-odds per ``log(average order value / 50)`` (0 without orders): customers selected by
    average order value (50+) read 63 %."""
    never_interacted_days: float = 365.0
    """Days of silence assumed for a customer with no recorded interaction (reads like a long-quiet one)."""
    personal_read_logit: float = 1.82
    """Log-odds added when the text is 20-30 characters and starts with the first name: read rate
    58 % -> 79 % (measured on customers selected by purchase frequency, who read 58 % otherwise)."""
    personal_length: tuple[int, int] = (20, 30)
    """The length of a personal message: 20-30 characters with the name at the start (58 % -> 79 %)."""
    peak_hours: tuple[int, ...] = (10, 11, 20, 21)
    """Local hours of the activity peaks 10-12 h and 20-22 h."""
    peak_read_factor: float = 1.67
    """Read chance multiplier in the peak hours: read rates there are 20-25 % above the average of
    messages sent across the day (8-22 h)."""
    night_hours: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6)
    """Local hours when hardly anyone reads (the guide's activity curve is lowest at night)."""
    night_read_factor: float = 0.8
    """Read chance multiplier at night (no published figure; quiet hours keep campaigns out of it)."""
    max_read: float = 0.97
    """Upper bound of any read chance (the guide: WhatsApp open rates reach up to 98 %)."""
    reply_given_read: dict[str, float] = field(
        default_factory=lambda: {"marketing": 0.03, "utility": 0.24, "authentication": 0.01, "service": 0.35}
    )
    """Reply chance once read, by category: order notifications get 15-20 % replies and pure
    promotions 1-3 % (of delivered, after the read rate)."""
    call_to_action_reply: float = 0.15
    """Reply chance once read for marketing text with a call to action ("Reply YES to get a discount
    code"), which the guide recommends to keep replies above the 5 % spam line."""
    call_to_action_words: tuple[str, ...] = ("JA", "YES", "antworte", "reply", "Rabatt")
    """Words that make a marketing text a call to action (the guide's example: "Reply YES to get a
    discount code")."""
    reply_delays: tuple[tuple[float, float, float], ...] = (
        (0.65, 5.0, 180.0),
        (0.23, 180.0, 1_800.0),
        (0.12, 1_800.0, 21_600.0),
    )
    """Delay from reading to replying as a mixture (share, min s, max s): 65 % of replies within
    3 minutes and 12 % after 30 minutes of the customer reading the message."""
    reply_texts: dict[str, float] = field(
        default_factory=lambda: {
            "JA": 0.30,
            "Rabatt": 0.25,
            "Danke!": 0.17,
            "Wann kommt meine Bestellung?": 0.12,
            "Info": 0.08,
            "STOP": 0.08,
        }
    )
    """What customers reply, with weights (keywords the demo's auto-replies answer; no published figure)."""
    block_given_read: dict[str, float] = field(
        default_factory=lambda: {"active_7d": 0.002, "recent_30d": 0.004, "dormant_30d": 0.01, "inactive_90d": 0.03}
    )
    """Block/report chance after reading marketing, by interaction recency: feeds the quality rating
    (Meta may ask a frequent sender to prove its complaint rate is acceptable; no published rate)."""
    base_conversion: float = 0.307
    """Order chance once read for a customer with the reference features (see ``conversion_*``):
    fitted so unsegmented marketing converts about 6 % of delivered messages (6 % untargeted)."""
    conversion_recency: float = 0.225
    """Log of the conversion multiplier per ``log(1 + days since the last interaction / 7)``:
    customers selected by interaction frequency convert 48 % more than unsegmented sends."""
    conversion_frequency: float = -0.075
    """Log of the conversion multiplier per ``log(1 + orders per month)``: customers selected by
    purchase frequency convert 22 % more than unsegmented sends."""
    conversion_order_value: float = -0.171
    """Log of the conversion multiplier per ``log(average order value / 50)``: customers selected by
    average order value convert 35 % more than unsegmented sends."""
    utility_conversion: float = 0.01
    """Order chance once read for utility and authentication messages (no published figure)."""
    order_value_default: float = 45.0
    """Order value for a customer without orders (just under the guide's "under 50" band)."""
    order_value_sigma: float = 0.35
    """Log-normal spread of an order around the customer's average order value (no published figure)."""
    conversion_delay: tuple[float, float] = (600.0, 86_400.0)
    """Seconds from reading to ordering (within the dashboards' 7-day attribution window)."""
    sent_delay: tuple[float, float] = (0.3, 2.0)
    """Seconds from accept to sent (queueing at Meta; no published figure)."""
    delivered_delay: tuple[float, float] = (1.0, 30.0)
    """Seconds from sent to delivered (no published figure)."""
    delivered_webhook_missing: float = 0.005
    """Share of delivered messages whose "delivered" webhook never comes (Meta may send "read" first)."""
    read_delay_mean: float = 1_800.0
    """Mean seconds from delivery to reading (exponential; no published figure: it is why reply
    timing counts from the read, see docs/figures.md)."""
    shared_draws_days: float = 0.0
    """0 (the default): every message's read and order are drawn independently. Above 0: a customer's
    read and order draw is common to all her messages sent within the same period of this many days
    (periods counted from 1 January 1970 UTC) — her mood that period. Each message still reads and
    converts with exactly its own chance; only messages to the same customer in one period move
    together (she reads every message at least as likely to be read as one she read). No published
    figure: the calibration run uses it as common random numbers, so its segment comparison's
    segment and baseline campaigns draw the same customers' luck and the conversion uplifts'
    sampling noise largely cancels (docs/figures.md, "Sampling error")."""
    shared_draws_strata: int = 1
    """With ``shared_draws_days``: over each block of this many consecutive periods (counted from 1970)
    a customer's shared draws are stratified, one in each 1/strata slice of [0, 1) in random order, so
    over the block she reads and buys about as often as her chances say (each single draw is still
    uniform). No published figure: the calibration run stratifies over its comparison rounds, which
    leaves the expected rates unchanged and cuts the uplifts' sampling noise (docs/figures.md)."""
    click_given_read: float = 0.25
    """Chance that a customer who read a message with a tracked link clicks it (once per message).
    A modelling assumption, not a calibrated figure: vendors' WhatsApp click-through benchmarks
    range from 4-5 % to about 15 % of messages (docs/figures.md); 25 % of readers is about 11-15 %
    of delivered messages at the sandbox's read rates."""
    tap_given_read: dict[str, float] = field(
        default_factory=lambda: {"marketing": 0.08, "utility": 0.30, "authentication": 0.01, "service": 0.35}
    )
    """Chance that a reader of a template with quick-reply buttons taps one (then it is the reply:
    the customer taps instead of typing), by category. A modelling assumption, not a calibrated
    figure: tapping is easier than typing, so it sits above ``reply_given_read`` (no published
    tap rate; docs/figures.md)."""
    copy_code_given_read: float = 0.2
    """Chance that a reader of a template with a copy-code button copies the code (Meta reports no
    copy; the sandbox counts it as ``coupon_copies``). A modelling assumption, not a published figure."""
    click_delay: tuple[float, float] = (5.0, 900.0)
    """Seconds from reading to clicking (uniform; no published figure)."""
    fetch_link_previews: bool = True
    """Whether the recipient's WhatsApp fetches each tracked link on delivery to draw its preview
    (user agent ``WhatsApp/2.x``): the redirect endpoint records it and does not count it as a click."""
    variant_uplift: dict[str, float] = field(default_factory=dict)
    """Planted relative conversion uplift for A/B tests, by template name or callback-data token (a
    known true effect, not a published figure)."""
    variant_read_uplift: dict[str, float] = field(default_factory=dict)
    """Planted relative read uplift for A/B tests, by template name or callback-data token (a known
    true effect, not a published figure)."""


DEFAULT_PARAMS = BehaviourParams()


def _get(features: Mapping[str, Any], name: str, default: Any = None) -> Any:
    value = features.get(name, default) if hasattr(features, "get") else default
    kind = type(value)
    if kind is float:  # the common case, read several times per message: NaN is the only missing float
        return default if value != value else value
    if kind is str:
        return value
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
    """Chance a sent message reaches the phone: text vs media (or media header), see the fields."""
    params = params or DEFAULT_PARAMS
    return params.delivery_media if kind in MEDIA_KINDS else params.delivery_text


def is_personal(text: str, first_name: str | None, params: BehaviourParams) -> bool:
    """20-30 characters and the customer's first name at the start (the guide's 58 % -> 79 % case)."""
    low, high = params.personal_length
    return bool(first_name) and low <= len(text) <= high and text.strip().startswith(str(first_name))


def hour_factor(local_hour: int, params: BehaviourParams) -> float:
    """Read multiplier of the customer's local hour: peak hours (10-12 h, 20-22 h) more, nights less."""
    if local_hour in params.peak_hours:
        return params.peak_read_factor
    if local_hour in params.night_hours:
        return params.night_read_factor
    return 1.0


SCORE_FEATURES = ("days_since_last_interaction", "orders_per_month", "avg_order_value")
"""The features :func:`customer_scores` reads (with ``BehaviourParams.never_interacted_days``)."""


def customer_scores(features: Mapping[str, Any], params: BehaviourParams) -> tuple[float, float, float]:
    """The three features the model reads: quietness ``log(1 + days since last interaction / 7)``,
    purchase frequency ``log(1 + orders per month)`` and order value ``log(avg order value / 50)``
    (0 without orders)."""
    days_name, frequency_name, value_name = SCORE_FEATURES
    days = float(_get(features, days_name, params.never_interacted_days))
    frequency = float(_get(features, frequency_name, 0.0))
    value = _get(features, value_name)
    return (
        math.log1p(max(days, 0.0) / 7.0),
        math.log1p(max(frequency, 0.0)),
        math.log(float(value) / 50.0) if value is not None and float(value) > 0 else 0.0,
    )


def read_probability(
    features: Mapping[str, Any],
    text: str,
    local_hour: int,
    params: BehaviourParams | None = None,
    uplift: float = 0.0,
    scores: tuple[float, float, float] | None = None,
) -> float:
    """Chance a delivered message is read: logistic in the customer's features and the copy, times the hour.

    ``scores``: :func:`customer_scores` of ``features`` when the caller keeps them (the sandbox
    works them out once per customer), else they are worked out here."""
    params = params or DEFAULT_PARAMS
    quiet, frequency, value = scores or customer_scores(features, params)
    logit = (
        params.read_intercept
        + params.read_recency * quiet
        + params.read_frequency * frequency
        + params.read_order_value * value
    )
    if is_personal(text, _get(features, "first_name"), params):
        logit += params.personal_read_logit
    p = 1.0 / (1.0 + math.exp(-logit)) * hour_factor(local_hour, params) * (1.0 + uplift)
    return max(0.0, min(params.max_read, p))


def has_call_to_action(text: str, params: BehaviourParams) -> bool:
    return any(w.lower() in text.lower() for w in params.call_to_action_words)


def reply_probability(
    features: Mapping[str, Any], text: str, category: str, params: BehaviourParams | None = None
) -> float:
    """Chance of a reply once read: order news most, promotions least, more with a call to action."""
    params = params or DEFAULT_PARAMS
    p = params.reply_given_read.get(category, params.reply_given_read["marketing"])
    if category == "marketing" and has_call_to_action(text, params):
        p = max(p, params.call_to_action_reply)
    return max(0.0, min(1.0, p))


def conversion_probability(
    features: Mapping[str, Any],
    category: str,
    params: BehaviourParams | None = None,
    uplift: float = 0.0,
    scores: tuple[float, float, float] | None = None,
) -> float:
    """Chance a read marketing message leads to an order: rises with recency, purchase frequency and
    order value (``scores`` as for :func:`read_probability`)."""
    params = params or DEFAULT_PARAMS
    if category not in ("marketing", "service"):
        return params.utility_conversion
    quiet, frequency, value = scores or customer_scores(features, params)
    p = (
        params.base_conversion
        * math.exp(
            params.conversion_recency * quiet
            + params.conversion_frequency * frequency
            + params.conversion_order_value * value
        )
        * (1.0 + uplift)
    )
    return max(0.0, min(1.0, p))


def block_probability(features: Mapping[str, Any], category: str, params: BehaviourParams) -> float:
    """Chance a read marketing message gets the sender blocked or reported (higher for dormant customers)."""
    if category != "marketing":
        return 0.0
    return params.block_given_read.get(_get(features, "interaction_recency", "inactive_90d"), 0.0)


def click_probability(params: BehaviourParams | None = None) -> float:
    """Chance a reader clicks the tracked link of a message (see ``click_given_read``)."""
    return max(0.0, min(1.0, (params or DEFAULT_PARAMS).click_given_read))


def tap_probability(category: str, params: BehaviourParams | None = None) -> float:
    """Chance a reader taps one of the template's quick-reply buttons (see ``tap_given_read``)."""
    params = params or DEFAULT_PARAMS
    return max(0.0, min(1.0, params.tap_given_read.get(category, params.tap_given_read["marketing"])))


def copy_code_probability(params: BehaviourParams | None = None) -> float:
    """Chance a reader copies the coupon code of a copy-code button (see ``copy_code_given_read``)."""
    return max(0.0, min(1.0, (params or DEFAULT_PARAMS).copy_code_given_read))


def sample_reply_delay(rng: Draws, params: BehaviourParams) -> float:
    """Seconds from read to reply, drawn from the delay mixture."""
    r = rng.random() * sum(share for share, _, _ in params.reply_delays)
    for share, low, high in params.reply_delays:
        if r < share:
            return rng.uniform(low, high)
        r -= share
    _, low, high = params.reply_delays[-1]
    return rng.uniform(low, high)


def sample_reply_text(rng: Draws, params: BehaviourParams) -> str:
    texts = list(params.reply_texts)
    return rng.choices(texts, weights=[params.reply_texts[t] for t in texts])[0]


def sample_order_value(features: Mapping[str, Any], rng: Draws, params: BehaviourParams) -> float:
    """An order value around the customer's average order value (log-normal spread)."""
    mean = float(_get(features, "avg_order_value", params.order_value_default))
    return round(mean * math.exp(rng.gauss(-(params.order_value_sigma**2) / 2, params.order_value_sigma)), 2)
