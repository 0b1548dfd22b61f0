"""Every state a send can be in, their order, and the named subsets other modules ask about.

One definition each: the sender, the webhook side, compliance, the inbox, A/B outcomes, analytics
and the widgets all take their subsets from here.
"""

from __future__ import annotations

STATES = ("planned", "in_flight", "accepted", "sent", "delivered", "read", "failed", "excluded", "unknown", "cancelled")
"""Every ledger state, in the order reports list them."""

STATE_RANK: dict[str, int] = {
    "planned": 0,
    "in_flight": 1,
    "accepted": 2,
    "unknown": 2,
    "sent": 3,
    "delivered": 4,
    "read": 5,
}
"""Rank of every state a status may move; ``failed``, ``excluded``, ``cancelled`` are absent (final)."""

FINAL_STATES = frozenset({"accepted", "sent", "delivered", "read", "failed", "excluded", "cancelled"})
"""States the sender never touches again (``unknown`` is final only under the never-resend policy)."""
OPEN_STATES = frozenset({"planned", "in_flight", "unknown"})
"""States the sender still has to settle."""

ACCEPTED_STATES = ("accepted", "sent", "delivered", "read")
"""Accepted by Meta: the message went out and its recipient counts as reached by the campaign."""
CAP_STATES = ("in_flight", "accepted", "unknown", "sent", "delivered", "read")
"""States in which a message may have reached the customer: they count toward the 24 h marketing cap."""
NOT_ATTEMPTED_STATES = ("planned", "excluded", "cancelled")
"""No request was made for the row."""
ATTEMPTED_STATES = tuple(s for s in STATES if s not in NOT_ATTEMPTED_STATES)
"""A request was made (or is being made) for the row."""
EXPOSED_STATES = tuple(s for s in ATTEMPTED_STATES if s != "in_flight")
"""Attempts whose request is over: A/B outcomes count their recipients as exposed."""
AT_LEAST: dict[str, tuple[str, ...]] = {
    "accepted": ACCEPTED_STATES,
    "sent": ("sent", "delivered", "read"),
    "delivered": ("delivered", "read"),
    "read": ("read",),
}
"""The states at or past each delivery stage (a later stage implies the earlier ones)."""

HOLDOUT = "holdout"
"""The A/B arm that gets no message; its rows are ``excluded`` with this reason until evaluated."""

HELD_BY_META = 131049
"""Meta's per-user marketing limit: the message was held back, not failed; retry no sooner than 24 h.
A ``failed`` row with this code is "held by Meta"; every other ``failed`` row is a failure of ours."""
HELD_LABEL = "held by Meta"
"""How reports name a 131049 outcome, apart from failures."""
THROTTLED = 130429
"""Meta's throughput answer: the sender slows down and does not count it as an attempt."""

TIME_COLUMN = {"sent": "sent_at", "delivered": "delivered_at", "read": "read_at", "failed": "failed_at"}
"""The column that keeps the time of each status Meta reports."""
