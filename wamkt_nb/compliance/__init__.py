"""Compliance: who may get a message, when, and the reason code for everyone who may not."""

from .reasons import DEFERRING, EXCLUDING, REASON_CODES, REASONS, explain
from .reservation import (
    MARKETING_CAP_SECONDS,
    marketing_taken,
    recently_marketed,
    release_marketing,
    reserve_marketing,
)
from .rules import Policy, RuleResult, check_rules, needs_service_window, reached_last_24h
from .schedule import apply_daily_limit, planned_times
from .sendtime import SendTimeCheck, Verdict
from .timezones import recipient_zones, utc_offsets, zone_for_phone

__all__ = [
    "DEFERRING",
    "EXCLUDING",
    "MARKETING_CAP_SECONDS",
    "REASONS",
    "REASON_CODES",
    "Policy",
    "RuleResult",
    "SendTimeCheck",
    "Verdict",
    "apply_daily_limit",
    "check_rules",
    "explain",
    "marketing_taken",
    "needs_service_window",
    "planned_times",
    "reached_last_24h",
    "recently_marketed",
    "recipient_zones",
    "release_marketing",
    "reserve_marketing",
    "utc_offsets",
    "zone_for_phone",
]
