"""Keyword auto-replies: rules stored in the database, matched case- and accent-insensitively."""

from ..webhooks.text import normalize_text
from .engine import AutoReplier, Decision, decide, decide_message, language_lookup, try_message
from .repository import delete_rule, load_rules, save_rule
from .rules import ACTIONS, MATCH_TYPES, AutoReplyRuleError, Rule, first_match

__all__ = [
    "ACTIONS",
    "AutoReplier",
    "Decision",
    "MATCH_TYPES",
    "Rule",
    "AutoReplyRuleError",
    "decide",
    "decide_message",
    "delete_rule",
    "language_lookup",
    "first_match",
    "load_rules",
    "normalize_text",
    "save_rule",
    "try_message",
]
