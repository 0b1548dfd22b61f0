"""Reason codes: why a recipient is excluded or moved to later, in words an analyst can act on."""

from __future__ import annotations

REASONS: dict[str, str] = {
    "no_opt_in": "never opted in to WhatsApp messages from us",
    "opted_out": "opted out of marketing messages (STOP or WhatsApp settings)",
    "us_marketing": "+1 (US) number: Meta does not deliver marketing templates there",
    "inactive_90d": "no interaction for 90 days (include inactive customers on purpose to send)",
    "marketing_cap_24h": "already got (or has reserved) a marketing message in the last 24 h",
    "outside_service_window": "free-form text needs a message from the customer in the last 24 h; "
    "use an approved template",
    "holdout": "A/B holdout: receives nothing, to measure the campaign's effect",
    "no_phone": "no usable phone number",
    "missing_parameter": "a template variable has no value for this customer and no fallback: "
    "give the variable a fallback",
    "message_too_long": "the personalised message is longer than WhatsApp allows (4096 characters "
    "for text, 1024 for a template body)",
    "quiet_hours": "quiet hours in the customer's own time zone: planned for the next allowed time",
    "tier_limit": "beyond today's messaging limit (the business portfolio's unique users per 24 h): planned "
    "for a later day",
}
"""Every reason code with its explanation; codes ending in a deferral give outcome ``later``."""

EXCLUDING = (
    "no_phone",
    "no_opt_in",
    "opted_out",
    "us_marketing",
    "inactive_90d",
    "marketing_cap_24h",
    "outside_service_window",
    "holdout",
)
"""Exclusions in order of precedence: a recipient gets the first that applies. ``holdout`` comes
last, so holdout members are excluded for the same reasons as the message arms (an unbiased A/B
comparison counts only those a message would have reached)."""

MESSAGE_EXCLUDING = ("missing_parameter", "message_too_long")
"""Exclusions the dry-run decides from the rendered message, after the rules."""

DEFERRING = ("quiet_hours", "tier_limit")
"""Reasons that move a recipient to a later time instead of excluding them."""

REASON_CODES = ("", *EXCLUDING, *MESSAGE_EXCLUDING, *DEFERRING)
"""Every reason code, '' (no reason) first: the categories of the plan's ``reason`` column."""


def explain(code: str) -> str:
    """The plain-language meaning of a reason code ('' for none)."""
    return REASONS.get(code, code)
