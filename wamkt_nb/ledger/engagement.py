"""What each recipient did with each campaign message: the facts retargeting segments select on.

One row per attempted send (a request was made and is over: :data:`~.states.EXPOSED_STATES`):
``campaign_id``, ``customer_id``, ``at`` (when it went out, epoch s) and one flag per fact:

* ``got``: Meta accepted the message (:data:`~.states.ACCEPTED_STATES`; the customer was reached);
* ``delivered`` / ``read``: Meta reported the stage (a later stage implies the earlier ones);
* ``replied``: an inbound message from the recipient's phone within ``reply_seconds`` after delivery
  (the A/B ``reply`` outcome's definition, :mod:`.experiments`), or after the read receipt when the
  delivery receipt never came (Meta may send ``read`` alone; a reader who answered is no "no reply");
* ``clicked``: a person (not a link preview or bot) opened one of the message's tracked links;
* ``converted``: an order of the customer within ``attribution_seconds`` after the message;
* ``held``: Meta held it back (131049); ``failed``: any other failure.

Holdout rows and rows never attempted are absent: nothing reached those customers.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ..store import Store
from .states import ACCEPTED_STATES, EXPOSED_STATES, HELD_BY_META

FACTS = ("got", "delivered", "read", "replied", "clicked", "converted", "held", "failed")
"""The flags of :func:`engagement_facts`, in the order of its columns."""

_HELD = f"s.state = 'failed' AND COALESCE(s.error_code, 0) = {HELD_BY_META}"
"""A row Meta held back (as :data:`~.held.HELD_SQL`, on the alias ``s``)."""


def _sql_list(states: Sequence[str]) -> str:
    """A fixed list of state names (constants, never input) as SQL literals."""
    return ", ".join(f"'{s}'" for s in states)


_SQL = f"""
SELECT s.campaign_id, s.customer_id,
       COALESCE(s.sent_at, s.accepted_at, s.delivered_at, s.failed_at, s.planned_at, s.updated_at) AS at,
       CASE WHEN s.state IN ({_sql_list(ACCEPTED_STATES)}) THEN 1 ELSE 0 END AS got,
       CASE WHEN s.delivered_at IS NOT NULL OR s.state IN ('delivered', 'read') THEN 1 ELSE 0 END AS delivered,
       CASE WHEN s.read_at IS NOT NULL OR s.state = 'read' THEN 1 ELSE 0 END AS read,
       CASE WHEN EXISTS (
             SELECT 1 FROM inbound_messages i WHERE i.phone = s.phone
               AND i.timestamp >= COALESCE(s.delivered_at, s.read_at)
               AND i.timestamp <= COALESCE(s.delivered_at, s.read_at) + :reply_seconds) THEN 1 ELSE 0 END AS replied,
       CASE WHEN EXISTS (SELECT 1 FROM link_clicks k WHERE k.recipient_key = s.recipient_key AND k.human = 1)
            THEN 1 ELSE 0 END AS clicked,
       CASE WHEN EXISTS (
             SELECT 1 FROM conversions o WHERE o.customer_id = s.customer_id
               AND o.at >= COALESCE(s.sent_at, s.accepted_at, s.delivered_at, s.planned_at)
               AND o.at < COALESCE(s.sent_at, s.accepted_at, s.delivered_at, s.planned_at) + :attribution_seconds)
            AND s.state IN ({_sql_list(ACCEPTED_STATES)}) THEN 1 ELSE 0 END AS converted,
       CASE WHEN {_HELD} THEN 1 ELSE 0 END AS held,
       CASE WHEN s.state = 'failed' AND NOT ({_HELD}) THEN 1 ELSE 0 END AS failed
FROM sends s
WHERE s.state IN ({_sql_list(EXPOSED_STATES)})
"""


def engagement_facts(
    store: Store,
    campaign_ids: Sequence[str] | None = None,
    *,
    reply_seconds: float = 86_400.0,
    attribution_seconds: float = 7 * 86_400.0,
) -> pd.DataFrame:
    """Per attempted send of ``campaign_ids`` (None: every campaign) its time and fact flags (bool)."""
    sql = _SQL
    params: dict[str, object] = {"reply_seconds": reply_seconds, "attribution_seconds": attribution_seconds}
    if campaign_ids is not None:
        ids = list(dict.fromkeys(str(c) for c in campaign_ids))
        if not ids:
            return pd.DataFrame(
                {
                    c: pd.Series(dtype=t)
                    for c, t in [("campaign_id", object), ("customer_id", object), ("at", float)]
                    + [(f, bool) for f in FACTS]
                }
            )
        marks = ", ".join(f":campaign_{i}" for i in range(len(ids)))
        sql += f" AND s.campaign_id IN ({marks})"
        params |= {f"campaign_{i}": c for i, c in enumerate(ids)}
    frame: pd.DataFrame = store.read_frame(sql + " ORDER BY s.send_id", params)
    frame["at"] = frame["at"].astype(float)
    for fact in FACTS:
        frame[fact] = frame[fact].astype(bool)
    return frame
