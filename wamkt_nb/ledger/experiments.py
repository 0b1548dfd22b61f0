"""The SQL of A/B experiment outcomes on the ledger: who was exposed, per arm and per customer.

Who counts (intention to treat): every recipient of a message arm whose message was attempted
(:data:`~.states.EXPOSED_STATES`) and every holdout member held back only for being in the
holdout. The statistics on these frames live in :mod:`wamkt_nb.abtest`.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ..store import Store
from ..store.dialect import Dialect
from .states import EXPOSED_STATES, HOLDOUT

METRICS = ("read", "reply", "conversion")
_STATES = ", ".join(f"'{s}'" for s in EXPOSED_STATES)
_EXPOSED = f"""
  SELECT s.send_id, s.customer_id, s.phone, s.arm, s.read_at, s.delivered_at,
         COALESCE(s.sent_at, s.accepted_at, s.delivered_at, s.held_at, s.planned_at) AS ref_at
  FROM sends s
  WHERE s.campaign_id = :campaign AND s.arm IS NOT NULL AND s.arm != ''
    AND ((s.arm = '{HOLDOUT}' AND s.reason = '{HOLDOUT}') OR s.state IN ({_STATES}))
"""
_SQL = {
    "read": f"""
      SELECT arm, COUNT(*) AS users, SUM(CASE WHEN read_at IS NOT NULL THEN 1 ELSE 0 END) AS successes, 0.0 AS revenue
      FROM ({_EXPOSED}) e WHERE arm != '{HOLDOUT}' GROUP BY arm ORDER BY arm""",
    "reply": f"""
      SELECT e.arm, COUNT(*) AS users,
             SUM(CASE WHEN e.delivered_at IS NOT NULL AND EXISTS (
               SELECT 1 FROM inbound_messages i
               WHERE i.phone = e.phone AND i.timestamp >= e.delivered_at
                 AND i.timestamp <= e.delivered_at + :reply_seconds) THEN 1 ELSE 0 END) AS successes,
             0.0 AS revenue
      FROM ({_EXPOSED}) e WHERE e.arm != '{HOLDOUT}' GROUP BY e.arm ORDER BY e.arm""",
    "conversion": f"""
      SELECT e.arm, COUNT(*) AS users, SUM(CASE WHEN c.orders > 0 THEN 1 ELSE 0 END) AS successes,
             COALESCE(SUM(c.revenue), 0.0) AS revenue, {{joined_unpriced}} AS unpriced
      FROM ({_EXPOSED}) e
      LEFT JOIN (
        SELECT x.send_id, COUNT(*) AS orders, SUM(o.amount * fx.rate) AS revenue,
               {{joined_currencies}} AS unpriced
        FROM ({_EXPOSED}) x JOIN conversions o
          ON o.customer_id = x.customer_id AND o.at >= x.ref_at
         AND o.at < x.ref_at + :attribution_seconds
        LEFT JOIN fx ON fx.currency = upper(trim(o.currency))
        GROUP BY x.send_id) c ON c.send_id = e.send_id
      GROUP BY e.arm ORDER BY e.arm""",
}


def _conversion_sql(dialect: Dialect) -> str:
    """``_SQL["conversion"]`` with its text aggregates as ``dialect`` spells them."""
    return _SQL["conversion"].format(
        joined_unpriced=dialect.joined("c.unpriced"),
        joined_currencies=dialect.joined("CASE WHEN fx.rate IS NULL THEN o.currency END"),
    )


def _with_rates(sql: str, rates: Sequence[tuple[str, float | None]]) -> tuple[str, dict[str, object]]:
    """``sql`` behind a ``fx(currency, rate)`` table of ``rates`` (code, rate), values as parameters."""
    rows = ", ".join(f"(:fx_code_{i}, :fx_rate_{i})" for i in range(len(rates)))
    params: dict[str, object] = {}
    for i, (code, rate) in enumerate(rates):
        params[f"fx_code_{i}"], params[f"fx_rate_{i}"] = code, rate
    return f"WITH fx(currency, rate) AS (VALUES {rows})\n{sql}", params


def arm_frame(
    store: Store,
    campaign_id: str,
    metric: str,
    *,
    reply_seconds: float,
    attribution_seconds: float,
    rates: Sequence[tuple[str, float | None]] = (),
) -> pd.DataFrame:
    """Per arm: ``arm``, ``users``, ``successes``, ``revenue`` (conversion: in the currency ``rates``
    (code, rate) convert to, plus ``unpriced``, the order currencies without a rate)."""
    params: dict[str, object] = {
        "campaign": campaign_id,
        "reply_seconds": reply_seconds,
        "attribution_seconds": attribution_seconds,
    }
    sql = _SQL[metric]
    if metric == "conversion":
        sql = _conversion_sql(store.dialect)
        sql, fx = _with_rates(sql, rates)
        params |= fx
    return store.read_frame(sql, params)


def experiment_campaigns(store: Store) -> pd.DataFrame:
    """Campaigns that are experiments: id, name, key, status, created time (epoch s), arms (comma
    separated) and recipients."""
    return store.read_frame(
        f"""
        SELECT c.campaign_id, c.name, c.experiment_key, c.status, c.created_at,
               {store.dialect.joined("DISTINCT s.arm")} AS arms, COUNT(s.send_id) AS recipients
        FROM campaigns c LEFT JOIN sends s ON s.campaign_id = c.campaign_id
        WHERE c.experiment_key IS NOT NULL AND c.experiment_key != ''
        GROUP BY c.campaign_id ORDER BY c.created_at DESC
        """
    )


# Per-customer outcome y (as in ``_SQL``) and the same customer's pre-period covariate x: orders,
# reads of earlier messages, or inbound messages in the ``pre_seconds`` before this message.
_UNIT_Y = {
    "read": "e.read_at IS NOT NULL",
    "reply": """e.delivered_at IS NOT NULL AND EXISTS (
                 SELECT 1 FROM inbound_messages i WHERE i.phone = e.phone AND i.timestamp >= e.delivered_at
                   AND i.timestamp <= e.delivered_at + :reply_seconds)""",
    "conversion": """EXISTS (SELECT 1 FROM conversions o WHERE o.customer_id = e.customer_id
                   AND o.at >= e.ref_at AND o.at < e.ref_at + :attribution_seconds)""",
}
_UNIT_X = {
    "read": """(SELECT COUNT(*) FROM sends p WHERE p.customer_id = e.customer_id AND p.read_at IS NOT NULL
                AND p.read_at < e.ref_at AND p.read_at >= e.ref_at - :pre_seconds)""",
    "reply": """(SELECT COUNT(*) FROM inbound_messages i WHERE i.phone = e.phone
                 AND i.timestamp < e.ref_at AND i.timestamp >= e.ref_at - :pre_seconds)""",
    "conversion": """(SELECT COUNT(*) FROM conversions o WHERE o.customer_id = e.customer_id
                      AND o.at < e.ref_at AND o.at >= e.ref_at - :pre_seconds)""",
}
# Guardrails, per message-arm recipient within ``window_seconds`` after the message: an opt-out
# (the phone's marketing consent withdrawn), or a block as the business sees one (Meta does not
# report blocks): a later message to the phone failing with 131026 "Message Undeliverable", a code
# Meta also uses for other causes, shared by both arms (see docs/contracts.md).
GUARDRAILS = ("opt_out", "block")
_GUARDRAIL_Y = {
    "opt_out": """EXISTS (SELECT 1 FROM consent k WHERE k.phone = e.phone AND k.marketing = 0
                  AND k.changed_at >= e.ref_at AND k.changed_at < e.ref_at + :window_seconds)""",
    "block": """EXISTS (SELECT 1 FROM sends f WHERE f.phone = e.phone AND f.error_code = 131026
                AND f.failed_at > e.ref_at AND f.failed_at < e.ref_at + :window_seconds)""",
}


def unit_frame(
    store: Store, campaign_id: str, metric: str, *, pre_seconds: float, reply_seconds: float, attribution_seconds: float
) -> pd.DataFrame:
    """One row per customer in the experiment: ``arm``, ``customer_id``, ``y`` (the outcome) and ``x``
    (its pre-period covariate); holdout members only for ``conversion``."""
    where = "" if metric == "conversion" else f"WHERE e.arm != '{HOLDOUT}'"
    return store.read_frame(
        f"SELECT e.arm, e.customer_id, CASE WHEN {_UNIT_Y[metric]} THEN 1 ELSE 0 END AS y, {_UNIT_X[metric]} AS x "
        f"FROM ({_EXPOSED}) e {where} ORDER BY e.arm, e.send_id",
        {
            "campaign": campaign_id,
            "reply_seconds": reply_seconds,
            "attribution_seconds": attribution_seconds,
            "pre_seconds": pre_seconds,
        },
    )


def guardrail_frame(store: Store, campaign_id: str, guardrail: str, *, window_seconds: float) -> pd.DataFrame:
    """Per message arm: ``arm``, ``users``, ``successes`` (recipients with the guardrail event)."""
    return store.read_frame(
        f"SELECT e.arm, COUNT(*) AS users, SUM(CASE WHEN {_GUARDRAIL_Y[guardrail]} THEN 1 ELSE 0 END) AS successes "
        f"FROM ({_EXPOSED}) e WHERE e.arm != '{HOLDOUT}' GROUP BY e.arm ORDER BY e.arm",
        {"campaign": campaign_id, "window_seconds": window_seconds},
    )
