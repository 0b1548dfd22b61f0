"""Ledger figures computed by the database: per group, the count of every funnel stage, of replies,
clicks and attributed orders, the attributed revenue per currency, and failures by Meta code.

Each query is one ``GROUP BY`` that returns a small frame (a row per campaign, segment or error
code), so a dashboard over millions of ledger rows never pulls the rows through Python. The SQL runs
unchanged on SQLite and PostgreSQL.

The rules are those of ``analytics.funnel.enrich`` on in-memory frames (a property test keeps the
two equal on random ledgers):

* a later stage implies the earlier ones (a ``read`` webhook may come without ``delivered``);
* a message went ``out`` at the first known of ``sent_at``, ``accepted_at``, ``delivered_at``,
  ``read_at``;
* a reply is an inbound message from the recipient's phone answered to the latest accepted message
  out to that phone at or before it, within the reply window;
* an order counts for the latest delivered message out to its customer at or before it, within the
  attribution window;
* a send is clicked when a person (not a bot or preview) clicked one of its tracked links.

Reply and order attribution seek one index entry per inbound message or order (the indexes of
migration core/007 on the ``out`` time); for a selection of some campaigns, only per inbound
message or order that follows one of their messages within the window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..store import Store
from .states import AT_LEAST, HELD_BY_META, NOT_ATTEMPTED_STATES

UNSEGMENTED = "unsegmented"
"""The segment of a campaign sent to no named segment."""

OUT_AT = "COALESCE(s.sent_at, s.accepted_at, s.delivered_at, s.read_at)"
"""When the message went out (the expression the indexes of migration core/007 hold)."""

GROUPS = {
    "campaign_id": "c.campaign_id",
    "campaign_name": "c.name",
    "segment": f"COALESCE(NULLIF(c.segment_name, ''), '{UNSEGMENTED}')",
    "category": "c.category",
}
"""What the figures may be grouped by, and the SQL of each."""

COUNTS = (
    "recipients",
    "attempted",
    "accepted",
    "sent",
    "delivered",
    "read",
    "clicked",
    "replied",
    "converted",
    "orders",
    "failed",
    "held",
    "excluded",
)
"""The count columns of :func:`stage_counts`, after the group columns."""


def _states(states: Sequence[str]) -> str:
    return ", ".join(f"'{s}'" for s in states)


def _stage_flags() -> dict[str, str]:
    """SQL conditions of each stage: a state at or past it, or the time of it or of a later stage
    (the states at or past a stage include those past every later one)."""
    order = ("accepted", "sent", "delivered", "read")
    flags = {}
    for k, stage in enumerate(order):
        times = [f"s.{later}_at" for later in order[k:]]
        first_time = f"COALESCE({', '.join(times)})" if len(times) > 1 else times[0]  # SQLite: 2+ arguments
        flags[stage] = f"(s.state IN ({_states(AT_LEAST[stage])}) OR {first_time} IS NOT NULL)"
    return flags


STAGE = _stage_flags()
HELD = f"(s.state = 'failed' AND COALESCE(s.error_code, 0) = {HELD_BY_META})"
FAILED = f"(s.state = 'failed' AND COALESCE(s.error_code, 0) <> {HELD_BY_META})"
ATTEMPTED = f"(s.state NOT IN ({_states(NOT_ATTEMPTED_STATES)}))"


@dataclass(frozen=True)
class Selection:
    """Which sends a figure counts: one campaign, one segment, some campaigns (``campaigns``: those
    whose figures ``ledger.rollups`` recomputes), messages out in ``[since, until)`` (epoch seconds;
    a bound excludes messages that never went out). None: no restriction."""

    campaign: str | None = None
    segment: str | None = None
    since: float | None = None
    until: float | None = None
    campaigns: tuple[str, ...] | None = None

    def campaign_where(self, campaign_id: str = "c.campaign_id") -> tuple[str, dict[str, Any]]:
        """The ``WHERE`` clause of the campaign, segment and campaigns restrictions on the column
        ``campaign_id`` (of the campaigns, or of the sends) and its parameters."""
        terms: list[str] = ["TRUE"]
        params: dict[str, Any] = {}
        if self.campaign is not None:
            terms.append(f"{campaign_id} = :campaign")
            params["campaign"] = self.campaign
        if self.segment is not None:
            terms.append(
                f"{campaign_id} IN (SELECT c.campaign_id FROM campaigns c WHERE {GROUPS['segment']} = :segment)"
            )
            params["segment"] = self.segment
        if self.campaigns is not None:
            names = [f"campaign_{k}" for k in range(len(self.campaigns))]
            terms.append(f"{campaign_id} IN ({', '.join(':' + n for n in names)})" if names else "FALSE")
            params.update(zip(names, self.campaigns, strict=True))
        return " AND ".join(terms), params

    @property
    def restricts_campaigns(self) -> bool:
        """Whether only some campaigns are selected."""
        return self.campaign is not None or self.segment is not None or self.campaigns is not None

    def where(self) -> tuple[str, dict[str, Any]]:
        """The ``WHERE`` clause on the sends ``s`` and its parameters."""
        where, params = self.campaign_where("s.campaign_id")
        terms = [where]
        if self.since is not None:
            terms.append(f"{OUT_AT} >= :since")
            params["since"] = float(self.since)
        if self.until is not None:
            terms.append(f"{OUT_AT} < :until")
            params["until"] = float(self.until)
        return " AND ".join(terms), params


EVERY_SEND = Selection()
"""No restriction: every send of every campaign."""


def _latest_out(table: str, key: str, time: str, window: str, reached: str = "") -> str:
    """The send id of the latest message out to ``table``'s ``key`` at or before its ``time`` and
    no more than the parameter ``window`` seconds before it (``reached``: a further condition)."""
    return (
        f"(SELECT s.send_id FROM sends s WHERE s.{key} = {table}.{key} AND {OUT_AT} <= {table}.{time}"
        f" AND {OUT_AT} >= {table}.{time} - :{window}{f' AND {reached}' if reached else ''}"
        f" ORDER BY {OUT_AT} DESC, s.send_id DESC LIMIT 1)"
    )


# A message with an out time was accepted (its time columns are set from acceptance on), so the
# reply's seek needs no further condition and reads the index alone; an order needs a delivery.
def _replies(selection: Selection) -> str:
    """The sends replied to; for a selection of campaigns, only inbound messages that follow one of
    their messages within the reply window are attributed (the others cannot count for them)."""
    candidates = ""
    if selection.restricts_campaigns:
        where, _params = selection.campaign_where("s.campaign_id")
        candidates = (
            " WHERE i.wamid IN (SELECT f.wamid FROM sends s CROSS JOIN inbound_messages f WHERE "
            f"{where} AND f.phone = s.phone AND f.timestamp >= {OUT_AT} AND f.timestamp <= {OUT_AT} + :reply_window)"
        )
    return f"""
reply_hits AS MATERIALIZED (
  SELECT {_latest_out("i", "phone", "timestamp", "reply_window")} AS send_id FROM inbound_messages i{candidates}
), replies AS MATERIALIZED (
  SELECT DISTINCT send_id FROM reply_hits WHERE send_id IS NOT NULL
)"""


def _orders(selection: Selection) -> str:
    """The orders attributed to sends; for a selection of campaigns, only orders that follow one
    of their delivered messages within the attribution window are attributed."""
    candidates = ""
    if selection.restricts_campaigns:
        where, _params = selection.campaign_where("s.campaign_id")
        candidates = (
            " WHERE o.order_id IN (SELECT f.order_id FROM sends s CROSS JOIN conversions f WHERE "
            f"{where} AND f.customer_id = s.customer_id AND f.at >= {OUT_AT}"
            f" AND f.at <= {OUT_AT} + :attribution_window AND {STAGE['delivered']})"
        )
    return f"""
order_hits AS MATERIALIZED (
  SELECT o.amount, o.currency, {_latest_out("o", "customer_id", "at", "attribution_window", STAGE["delivered"])}
  AS send_id FROM conversions o{candidates}
), attributed AS MATERIALIZED (
  SELECT send_id, amount, currency FROM order_hits WHERE send_id IS NOT NULL
), orders AS MATERIALIZED (
  SELECT send_id, COUNT(*) AS n FROM attributed GROUP BY send_id
)"""


_CLICKS = """
human_clicks AS MATERIALIZED (
  SELECT DISTINCT campaign_id, customer_id FROM link_clicks WHERE human = 1
)"""


def check_groups(by: Sequence[str]) -> None:
    """Refuse group columns that are not keys of :data:`GROUPS`."""
    unknown = [b for b in by if b not in GROUPS]
    if unknown:
        raise ValueError(f"cannot group ledger figures by {', '.join(unknown)}; use {', '.join(GROUPS)}")


def _keys(by: Sequence[str]) -> tuple[str, str]:
    """The select list and the ``GROUP BY`` list of the group columns ``by``."""
    check_groups(by)
    select = "".join(f"{GROUPS[b]} AS {b}, " for b in by)
    return select, ", ".join(GROUPS[b] for b in by)


def _windows(reply_window: float, attribution_window: float) -> dict[str, float]:
    return {"reply_window": float(reply_window), "attribution_window": float(attribution_window)}


def _count(condition: str) -> str:
    return f"SUM(CASE WHEN {condition} THEN 1 ELSE 0 END)"


def stage_counts(
    store: Store,
    by: Sequence[str] = ("campaign_id",),
    selection: Selection = EVERY_SEND,
    reply_window: float = 86_400.0,
    attribution_window: float = 7 * 86_400.0,
) -> pd.DataFrame:
    """Per group of the selected sends (``by``: keys of :data:`GROUPS`; none: one row for all, zeros
    when nothing is selected): the :data:`COUNTS`. ``orders`` counts attributed orders,
    ``converted`` the sends with one; windows in seconds."""
    select, group = _keys(by)
    where, params = selection.where()
    scanned = {
        "recipients": "COUNT(*)",
        "attempted": _count(ATTEMPTED),
        **{stage: _count(STAGE[stage]) for stage in ("accepted", "sent", "delivered", "read")},
        "failed": _count(FAILED),
        "held": _count(HELD),
        "excluded": _count("s.state = 'excluded'"),
    }
    # One scan of the sends counts the stages per campaign; the replied, converted and clicked sends
    # (a few percent) are counted per campaign from the attribution by key lookups, not joined to
    # every row; the per-campaign rows are then summed per group.
    parts = {
        "scan": "SELECT s.campaign_id, "
        + ", ".join(f"{expr} AS {name}" for name, expr in scanned.items())
        + f" FROM sends s WHERE {where} GROUP BY s.campaign_id",
        "replied": "SELECT s.campaign_id, COUNT(*) AS replied FROM replies r JOIN sends s ON s.send_id = r.send_id"
        f" WHERE {where} GROUP BY s.campaign_id",
        "converted": "SELECT s.campaign_id, COUNT(*) AS converted, SUM(o.n) AS orders FROM orders o"
        f" JOIN sends s ON s.send_id = o.send_id WHERE {where} GROUP BY s.campaign_id",
        # CROSS JOIN: SQLite keeps this order (the few clicks seek their sends by customer), where
        # it would otherwise scan every send; PostgreSQL plans it as any inner join
        "clicked": "SELECT s.campaign_id, COUNT(*) AS clicked FROM human_clicks k CROSS JOIN sends s"
        f" WHERE s.customer_id = k.customer_id AND s.campaign_id = k.campaign_id AND {where}"
        " GROUP BY s.campaign_id",
    }
    sources = {name: "scan" for name in scanned} | {
        "replied": "replied",
        "converted": "converted",
        "orders": "converted",
        "clicked": "clicked",
    }
    sql = (
        f"WITH {_replies(selection)}, {_orders(selection)}, {_CLICKS}, "
        + ", ".join(f"{name} AS MATERIALIZED ({part})" for name, part in parts.items())
        + f" SELECT {select}"
        + ", ".join(f"COALESCE(SUM({sources[name]}.{name}), 0) AS {name}" for name in COUNTS)
        + " FROM scan JOIN campaigns c ON c.campaign_id = scan.campaign_id"
        + "".join(f" LEFT JOIN {name} ON {name}.campaign_id = scan.campaign_id" for name in parts if name != "scan")
        + (f" GROUP BY {group} ORDER BY {group}" if by else "")
    )
    frame = store.read_frame(sql, {**params, **_windows(reply_window, attribution_window)})
    frame = frame.reindex(columns=[*by, *COUNTS]).fillna({name: 0 for name in COUNTS})
    return frame.astype({name: "int64" for name in COUNTS})


def attributed_revenue(
    store: Store,
    by: Sequence[str] = ("campaign_id",),
    selection: Selection = EVERY_SEND,
    attribution_window: float = 7 * 86_400.0,
) -> pd.DataFrame:
    """Per group of the selected sends and order currency: the revenue of the orders attributed to
    them (``amount``), in that currency; groups without orders are absent."""
    select, group = _keys(by)
    where, params = selection.where()
    sql = (
        f"WITH {_orders(selection)} SELECT {select}a.currency AS currency, SUM(a.amount) AS amount"
        " FROM attributed a JOIN sends s ON s.send_id = a.send_id"
        " JOIN campaigns c ON c.campaign_id = s.campaign_id"
        f" WHERE {where} GROUP BY {group + ', ' if by else ''}a.currency"
        f" ORDER BY {group + ', ' if by else ''}a.currency"
    )
    frame = store.read_frame(sql, {**params, "attribution_window": float(attribution_window)})
    return frame.reindex(columns=[*by, "currency", "amount"]).astype({"amount": "float64"})


def failure_counts(store: Store, by: Sequence[str] = (), selection: Selection = EVERY_SEND) -> pd.DataFrame:
    """Failed sends per group and Meta error code (-1: none recorded): ``held`` says whether the code
    is Meta holding the message back (131049) rather than a failure; ``count`` how many."""
    select, group = _keys(by)
    where, params = selection.where()
    sql = (
        f"SELECT {select}COALESCE(s.error_code, -1) AS error_code, {_count(HELD)} AS held, COUNT(*) AS count"
        " FROM sends s JOIN campaigns c ON c.campaign_id = s.campaign_id"
        f" WHERE s.state = 'failed' AND {where}"
        f" GROUP BY {group + ', ' if by else ''}COALESCE(s.error_code, -1)"
    )
    frame = store.read_frame(sql, params).reindex(columns=[*by, "error_code", "held", "count"])
    return frame.astype({"error_code": "int64", "count": "int64"}).assign(held=frame["held"].astype(int) > 0)


def attempted_counts(store: Store, by: Sequence[str] = (), selection: Selection = EVERY_SEND) -> pd.DataFrame:
    """Per group of the selected sends: how many were attempted (``attempted``), nothing else
    (the base of failure shares, without the attribution of :func:`stage_counts`)."""
    select, group = _keys(by)
    where, params = selection.where()
    sql = (
        f"SELECT {select}{_count(ATTEMPTED)} AS attempted FROM sends s"
        f" JOIN campaigns c ON c.campaign_id = s.campaign_id WHERE {where}" + (f" GROUP BY {group}" if by else "")
    )
    frame = store.read_frame(sql, params).reindex(columns=[*by, "attempted"])
    return frame.fillna({"attempted": 0}).astype({"attempted": "int64"})
