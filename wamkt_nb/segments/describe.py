"""Plain-language description of a rule, for the builder, saved-segment lists and reports."""

from __future__ import annotations

from typing import Any

from .engagement import describe_engagement, is_engagement
from .rules import And, Condition, Node, Not

FIELD_LABELS = {
    "order_count": "orders",
    "orders_per_month": "orders per month",
    "avg_order_value": "average order value",
    "total_spend": "total spend",
    "first_order_at": "first order",
    "last_order_at": "last order",
    "days_since_last_order": "days since last order",
    "last_interaction_at": "last interaction",
    "days_since_last_interaction": "days since last interaction",
    "interactions_7d": "interactions in 7 days",
    "interactions_30d": "interactions in 30 days",
    "interactions_90d": "interactions in 90 days",
    "read_rate": "read rate",
    "reply_rate": "reply rate",
    "most_active_hour": "most active hour",
    "purchase_frequency": "purchase frequency",
    "order_value_band": "order value band",
    "interaction_recency": "interaction recency",
    "opted_in": "opted in",
    "signup_at": "sign-up",
    "opt_in_at": "opted in on",
    "rfm_r": "RFM recency score",
    "rfm_f": "RFM frequency score",
    "rfm_m": "RFM monetary score",
    "rfm_score": "RFM score",
    "timezone": "time zone",
}
TAG_LABELS = {
    "frequent_buyer": "frequent buyers",
    "monthly_buyer": "monthly buyers",
    "quarterly_buyer": "quarterly buyers",
    "rare_buyer": "rare buyers",
    "aov_under_50": "average order under 50",
    "aov_50_200": "average order 50-200",
    "aov_over_200": "average order over 200",
    "active_7d": "interacted in the last 7 days",
    "dormant_30d": "no interaction for 30 days",
    "inactive_90d": "inactive 90 d",
}
_OP_WORDS = {
    "=": "is",
    "!=": "is not",
    ">": "more than",
    ">=": "at least",
    "<": "less than",
    "<=": "at most",
    "contains": "contains",
    "starts_with": "starts with",
    "ends_with": "ends with",
    "regex": "matches",
}


def describe(rule: Node, include_inactive: bool | None = None) -> str:
    """E.g. "frequent buyers and interacted in the last 7 days, excluding inactive 90 d"."""
    text = _node(rule, top=True) or "all customers"
    if include_inactive is None:
        return text
    return text + (", including inactive 90 d" if include_inactive else ", excluding inactive 90 d")


def _node(node: Node, top: bool = False) -> str:
    if isinstance(node, Condition):
        return _condition(node)
    if isinstance(node, Not):
        return f"not ({_node(node.child)})"
    if not node.children:
        return "" if isinstance(node, And) else "no one"
    parts = [_node(c) for c in node.children]
    if len(parts) > 1:  # keep "a or b" inside an AND readable
        parts = [
            f"({p})" if isinstance(c, Condition) and (" or " in p or " and " in p) else p
            for c, p in zip(node.children, parts, strict=True)
        ]
    text = (" and " if isinstance(node, And) else " or ").join(parts)
    return text if top or len(parts) == 1 else f"({text})"


def _condition(c: Condition) -> str:
    if is_engagement(c):
        return describe_engagement(c)
    label = FIELD_LABELS.get(c.field, c.field.replace("_", " "))
    op, v = c.op, c.value
    if op in ("has_any", "has_all", "has_none"):
        names = [TAG_LABELS.get(t, t) for t in v]
        if op == "has_none":
            return "neither " + " nor ".join(names) if len(names) > 1 else f"not {names[0]}"
        return (" or " if op == "has_any" else " and ").join(names)
    if op == "is_set":
        return f"{label} known" if c.field != "tags" else "has tags"
    if op == "is_empty":
        return f"{label} missing" if c.field != "tags" else "no tags"
    if op == "within_last":
        return f"{label} in the last {_fmt(v)} days"
    if op == "more_than_ago":
        return f"{label} more than {_fmt(v)} days ago"
    if op == "between":
        return f"{label} between {_fmt(v[0])} and {_fmt(v[1])}"
    if op in ("in", "not_in"):
        return f"{label} {'is one of' if op == 'in' else 'is none of'} {', '.join(_fmt(x) for x in v)}"
    if isinstance(v, str) and op in _TIME_WORDS and _looks_like_time(v):
        return f"{label} {_TIME_WORDS[op]} {v}"
    if isinstance(v, bool):
        return label if (v and op == "=") or (not v and op == "!=") else f"not {label}"
    return f"{label} {_OP_WORDS[op]} {_fmt(v)}"


_TIME_WORDS = {">": "after", ">=": "on or after", "<": "before", "<=": "on or before"}


def _looks_like_time(text: str) -> bool:
    return len(text) >= 10 and text[4] == "-" and text[7] == "-" and text[:4].isdigit()


def _fmt(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
