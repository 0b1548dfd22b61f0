"""Retargeting conditions: what a customer did with a campaign ("read, no reply within 7 days").

A condition ``Condition("campaign:<id>", state, days)`` (``campaign:*``: any campaign; ``days`` None:
ever) holds when at least one of the customer's messages of that campaign is in ``state`` and, with
``days``, went out within the last ``days`` days. The states:

``got`` (Meta accepted it), ``not_delivered``, ``delivered_not_read``, ``read_no_reply``, ``replied``,
``clicked``, ``converted``, ``held_by_meta`` (131049) and ``failed`` (any other failure); their
facts come from the ledger (:func:`wamkt_nb.ledger.engagement.engagement_facts`).

Both evaluators see the same thing: :func:`with_engagement` adds one time column per campaign and
state to the features (the latest message of that customer in that state; missing: none), and
:func:`expand` rewrites each engagement condition into a condition on that column (``within_last``
or ``is_set``), so pandas and every SQL dialect evaluate it with the code they already share. A
warehouse table needs the same columns (``engagement_columns`` gives them).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from ..ledger.engagement import engagement_facts
from ..store import Store
from .rules import And, Condition, Node, Not, Or, SegmentRuleError, walk

FIELD_PREFIX = "campaign:"
ANY_CAMPAIGN = "*"
COLUMN_PREFIX = "engagement:"
STATES: dict[str, str] = {
    "got": "got",
    "not_delivered": "not delivered",
    "delivered_not_read": "delivered, not read",
    "read_no_reply": "read, no reply",
    "replied": "replied",
    "clicked": "clicked a link",
    "converted": "bought",
    "held_by_meta": "held by Meta",
    "failed": "failed",
}
"""Engagement states (the operators of an engagement condition) and how people read them."""


def engagement_condition(campaign: str | None, state: str, within_days: float | None = None) -> Condition:
    """The condition "``state`` in ``campaign`` (None: any campaign), within the last ``within_days``"."""
    cond = Condition(FIELD_PREFIX + (ANY_CAMPAIGN if campaign is None else str(campaign)), state, within_days)
    _check(cond, "rule")
    return cond


def is_engagement(cond: Condition) -> bool:
    return cond.field.startswith(FIELD_PREFIX)


def campaign_of(cond: Condition) -> str | None:
    """The campaign id of an engagement condition (None: any campaign)."""
    campaign = cond.field[len(FIELD_PREFIX) :]
    return None if campaign == ANY_CAMPAIGN else campaign


def column_name(campaign: str | None, state: str) -> str:
    """The features column with the latest time a customer's message of ``campaign`` was in ``state``."""
    return f"{COLUMN_PREFIX}{ANY_CAMPAIGN if campaign is None else campaign}:{state}"


def _check(cond: Condition, path: str) -> None:
    if cond.op not in STATES:
        raise SegmentRuleError(
            f"{path} (field {cond.field!r}, op {cond.op!r}): not an engagement state (allowed: {', '.join(STATES)})"
        )
    v = cond.value
    if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v) or v < 0):
        raise SegmentRuleError(
            f"{path} (field {cond.field!r}, op {cond.op!r}, value {v!r}): "
            "expects a number of days >= 0, or nothing for ever"
        )
    if not campaign_of(cond) and cond.field != FIELD_PREFIX + ANY_CAMPAIGN:
        raise SegmentRuleError(f"{path} (field {cond.field!r}): names no campaign")


def expand(rule: Node) -> Node:
    """``rule`` with every engagement condition as a condition on its :func:`column_name` column."""
    if not any(is_engagement(c) for _, c in walk(rule)):
        return rule
    return _expand(rule, "rule")


def _expand(node: Node, path: str) -> Node:
    if isinstance(node, Condition):
        if not is_engagement(node):
            return node
        _check(node, path)
        column = column_name(campaign_of(node), node.op)
        return Condition(column, "is_set") if node.value is None else Condition(column, "within_last", node.value)
    if isinstance(node, Not):
        return Not(_expand(node.child, f"{path}.not"))
    key = "and" if isinstance(node, And) else "or"
    children = [_expand(c, f"{path}.{key}[{i}]") for i, c in enumerate(node.children)]
    return And(*children) if isinstance(node, And) else Or(*children)


def needed(rule: Node | None) -> list[tuple[str | None, str]]:
    """The (campaign, state) pairs a rule's engagement conditions refer to."""
    if rule is None:
        return []
    return list(dict.fromkeys((campaign_of(c), c.op) for _, c in walk(rule) if is_engagement(c)))


def state_flags(facts: pd.DataFrame) -> pd.DataFrame:
    """Per send (a row of the ledger's engagement facts) whether it is in each state."""
    delivered, read = facts["delivered"].to_numpy(bool), facts["read"].to_numpy(bool)
    replied = facts["replied"].to_numpy(bool)
    return pd.DataFrame(
        {
            "got": facts["got"].to_numpy(bool),
            "not_delivered": ~delivered,
            "delivered_not_read": delivered & ~read,
            "read_no_reply": read & ~replied,
            "replied": replied,
            "clicked": facts["clicked"].to_numpy(bool),
            "converted": facts["converted"].to_numpy(bool),
            "held_by_meta": facts["held"].to_numpy(bool),
            "failed": facts["failed"].to_numpy(bool),
        },
        index=facts.index,
    )


def engagement_columns(facts: pd.DataFrame, pairs: Iterable[tuple[str | None, str]] | None = None) -> pd.DataFrame:
    """One UTC time column per (campaign, state) pair, indexed by customer id: the latest send of the
    customer in that campaign (None: any) and state; missing when none. ``pairs`` None: every
    campaign in ``facts`` and any campaign, each with every state."""
    if pairs is None:
        campaigns = [None, *pd.unique(facts["campaign_id"].astype(str))]
        pairs = [(c, s) for c in campaigns for s in STATES]
    flags = state_flags(facts)
    at = pd.Series((facts["at"].to_numpy(float) * 1e6).round().astype("int64"), index=facts.index)
    customers = facts["customer_id"].astype(str)
    campaign_ids = facts["campaign_id"].astype(str).to_numpy()
    out = {}
    for campaign, state in dict.fromkeys(pairs):
        keep = flags[state].to_numpy() & (True if campaign is None else campaign_ids == campaign)
        latest = at[keep].groupby(customers[keep]).max()
        out[column_name(campaign, state)] = pd.to_datetime(latest.astype("int64"), unit="us", utc=True).astype(
            "datetime64[us, UTC]"
        )
    frame = pd.DataFrame(out)
    frame.index.name = "customer_id"
    return frame


def with_engagement(
    features: pd.DataFrame, facts: pd.DataFrame, rule: Node | None = None, id_column: str = "customer_id"
) -> pd.DataFrame:
    """``features`` with the engagement columns ``rule`` needs (None: all of them), missing where a
    customer has no such message."""
    pairs = needed(rule) if rule is not None else None
    columns = engagement_columns(facts, pairs)
    joined = columns.reindex(features[id_column].astype(str).to_numpy())
    out = features.copy()
    for name in columns.columns:
        out[name] = joined[name].set_axis(features.index)
    return out


def add_engagement(
    store: Store, features: pd.DataFrame, rule: Node | None, id_column: str = "customer_id", **windows: float
) -> pd.DataFrame:
    """``features`` with the engagement columns ``rule`` needs, read from the store's ledger
    (``features`` itself when it needs none). ``windows``: ``reply_seconds``, ``attribution_seconds``."""
    pairs = needed(rule)
    if not pairs:
        return features
    campaigns = None if any(c is None for c, _ in pairs) else [c for c, _ in pairs if c is not None]
    return with_engagement(features, engagement_facts(store, campaigns, **windows), rule, id_column)


def engagement_fields(columns: Iterable[str]) -> list[str]:
    """The engagement condition fields a frame's engagement columns allow: any campaign first."""
    campaigns = dict.fromkeys(
        c[len(COLUMN_PREFIX) :].rsplit(":", 1)[0] for c in map(str, columns) if c.startswith(COLUMN_PREFIX)
    )
    if not campaigns:
        return []
    return [FIELD_PREFIX + ANY_CAMPAIGN] + [FIELD_PREFIX + c for c in campaigns if c != ANY_CAMPAIGN]


def describe_engagement(cond: Condition) -> str:
    """E.g. "read, no reply to spring-sale in the last 7 days"."""
    campaign = campaign_of(cond)
    state = STATES.get(cond.op, cond.op)
    target = "any campaign" if campaign is None else campaign
    text = f"{state} ({target})"
    return text if cond.value is None else f"{text} in the last {_days(cond.value)} days"


def _days(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
