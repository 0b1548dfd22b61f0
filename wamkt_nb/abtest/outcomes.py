"""Per-arm counts of an experiment's outcome, read from the ledger.

Who counts (intention to treat): every recipient of a message arm whose message was attempted
(accepted, sent, delivered, read, failed or unknown) and every holdout member held back only
for being in the holdout. Both sides pass the same exclusions: the dry run's rules, and the
sender's checks at the planned time (opt-out, service window, quiet hours, the 24 h marketing cap)
mark a holdout member excluded with the reason whenever a message to them would have been, so
neither side loses people the other keeps (no biased comparison, no false sample-ratio alarm).
Outcomes:

* ``read``: the message's ``read_at`` is set (message arms only);
* ``reply``: an inbound message from the recipient's phone within ``reply_hours`` after delivery
  (message arms only);
* ``conversion``: an order in ``conversions`` within ``attribution_hours`` after the message was
  sent (holdout: after the sender found a message would have gone out, else its planned time),
  with the revenue.
"""

from __future__ import annotations

import pandas as pd

from ..currency import CurrencyError, ExchangeRates
from ..settings import reporting_rates
from .assignment import HOLDOUT
from .errors import AbTestError

METRICS = ("read", "reply", "conversion")
ATTEMPTED = ("accepted", "sent", "delivered", "read", "failed", "unknown")
_STATES = ", ".join(f"'{s}'" for s in ATTEMPTED)
_EXPOSED = f"""
  SELECT s.send_id, s.customer_id, s.phone, s.arm, s.read_at, s.delivered_at,
         COALESCE(s.sent_at, s.accepted_at, s.delivered_at, s.held_at, s.planned_at) AS ref_at
  FROM sends s
  WHERE s.campaign_id = :campaign AND s.arm IS NOT NULL AND s.arm != ''
    AND ((s.arm = '{HOLDOUT}' AND s.reason = '{HOLDOUT}') OR s.state IN ({_STATES}))
"""
_SQL = {
    "read": f"""
      SELECT arm, COUNT(*) AS users, SUM(read_at IS NOT NULL) AS successes, 0.0 AS revenue
      FROM ({_EXPOSED}) WHERE arm != '{HOLDOUT}' GROUP BY arm ORDER BY arm""",
    "reply": f"""
      SELECT e.arm, COUNT(*) AS users,
             SUM(e.delivered_at IS NOT NULL AND EXISTS (
               SELECT 1 FROM inbound_messages i
               WHERE i.phone = e.phone AND i.timestamp >= e.delivered_at
                 AND i.timestamp <= e.delivered_at + :reply_seconds)) AS successes,
             0.0 AS revenue
      FROM ({_EXPOSED}) e WHERE e.arm != '{HOLDOUT}' GROUP BY e.arm ORDER BY e.arm""",
    "conversion": f"""
      SELECT e.arm, COUNT(*) AS users, SUM(c.orders > 0) AS successes,
             COALESCE(SUM(c.revenue), 0.0) AS revenue, group_concat(c.unpriced) AS unpriced
      FROM ({_EXPOSED}) e
      LEFT JOIN (
        SELECT x.send_id, COUNT(*) AS orders, SUM(o.amount * fx.rate) AS revenue,
               group_concat(CASE WHEN fx.rate IS NULL THEN o.currency END) AS unpriced
        FROM ({_EXPOSED}) x JOIN conversions o
          ON o.customer_id = x.customer_id AND o.at >= x.ref_at
         AND o.at < x.ref_at + :attribution_seconds
        LEFT JOIN fx ON fx.currency = upper(trim(o.currency))
        GROUP BY x.send_id) c ON c.send_id = e.send_id
      GROUP BY e.arm ORDER BY e.arm""",
}


def _with_rates(sql: str, rates: ExchangeRates) -> tuple[str, dict[str, object]]:
    """``sql`` behind a ``fx(currency, rate)`` table of the reporting rates, values as parameters."""
    codes = sorted({*rates.value_in_eur, rates.currency})
    rows = ", ".join(f"(:fx_code_{i}, :fx_rate_{i})" for i in range(len(codes)))
    params: dict[str, object] = {}
    for i, code in enumerate(codes):
        params[f"fx_code_{i}"], params[f"fx_rate_{i}"] = code, rates.rate(code)
    return f"WITH fx(currency, rate) AS (VALUES {rows})\n{sql}", params


def arm_counts(
    store, campaign_id: str, metric: str = "conversion", *, reply_hours: float = 24.0,
    attribution_hours: float = 168.0, rates: ExchangeRates | None = None,
) -> pd.DataFrame:
    """One row per arm: ``arm``, ``users``, ``successes``, ``rate``, ``revenue`` (conversion only,
    in ``rates.currency``: default the settings' reporting currency)."""
    if metric not in METRICS:
        raise AbTestError(f"metric must be one of {list(METRICS)}, got {metric!r}")
    if reply_hours <= 0 or attribution_hours <= 0:
        raise AbTestError("reply_hours and attribution_hours must be positive")
    params = {"campaign": campaign_id, "reply_seconds": reply_hours * 3600.0,
              "attribution_seconds": attribution_hours * 3600.0}
    sql = _SQL[metric]
    if metric == "conversion":
        sql, fx = _with_rates(sql, rates or reporting_rates())
        params |= fx
    frame = store.read_frame(sql, params)
    unpriced = sorted({c for cell in frame.get("unpriced", pd.Series(dtype=object)).dropna() for c in cell.split(",")})
    if unpriced:
        raise CurrencyError(f"no exchange rate for {unpriced[0]} (orders attributed to campaign {campaign_id!r}): "
                            f"add it to WAMKT_EXCHANGE_RATES")
    frame["users"] = frame["users"].astype(int)
    frame["successes"] = frame["successes"].fillna(0).astype(int)
    frame["revenue"] = frame["revenue"].astype(float)
    frame["rate"] = frame["successes"] / frame["users"].where(frame["users"] > 0)
    return frame[["arm", "users", "successes", "rate", "revenue"]]


def experiments(store) -> pd.DataFrame:
    """Campaigns that are experiments: id, name, key, status, created time, arms and recipients."""
    frame = store.read_frame(
        """
        SELECT c.campaign_id, c.name, c.experiment_key, c.status, c.created_at,
               GROUP_CONCAT(DISTINCT s.arm) AS arms, COUNT(s.send_id) AS recipients
        FROM campaigns c LEFT JOIN sends s ON s.campaign_id = c.campaign_id
        WHERE c.experiment_key IS NOT NULL AND c.experiment_key != ''
        GROUP BY c.campaign_id ORDER BY c.created_at DESC
        """
    )
    frame["created_at"] = pd.to_datetime(frame["created_at"], unit="s", utc=True)
    frame["arms"] = frame["arms"].fillna("").map(lambda s: tuple(sorted(a for a in s.split(",") if a)))
    return frame


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


def unit_outcomes(
    store, campaign_id: str, metric: str = "conversion", *, pre_days: float = 90.0, reply_hours: float = 24.0,
    attribution_hours: float = 168.0,
) -> pd.DataFrame:
    """One row per customer in the experiment: ``arm``, ``customer_id``, ``y`` (the outcome, 0/1, counted
    as ``arm_counts`` counts it) and ``x`` (the pre-period covariate for CUPED: orders for conversion,
    reads for read, inbound messages for reply, in the ``pre_days`` before the customer's message)."""
    if metric not in METRICS:
        raise AbTestError(f"metric must be one of {list(METRICS)}, got {metric!r}")
    if pre_days <= 0 or reply_hours <= 0 or attribution_hours <= 0:
        raise AbTestError("pre_days, reply_hours and attribution_hours must be positive")
    where = "" if metric == "conversion" else f"WHERE e.arm != '{HOLDOUT}'"
    frame = store.read_frame(
        f"SELECT e.arm, e.customer_id, ({_UNIT_Y[metric]}) AS y, {_UNIT_X[metric]} AS x "
        f"FROM ({_EXPOSED}) e {where} ORDER BY e.arm, e.send_id",
        {"campaign": campaign_id, "reply_seconds": reply_hours * 3600.0,
         "attribution_seconds": attribution_hours * 3600.0, "pre_seconds": pre_days * 86_400.0},
    )
    return frame.astype({"y": float, "x": float})


def guardrail_counts(store, campaign_id: str, guardrail: str, *, window_hours: float = 168.0) -> pd.DataFrame:
    """Per message arm: ``arm``, ``users``, ``successes`` (recipients with the guardrail event), ``rate``."""
    if guardrail not in GUARDRAILS:
        raise AbTestError(f"guardrail must be one of {list(GUARDRAILS)}, got {guardrail!r}")
    if window_hours <= 0:
        raise AbTestError("window_hours must be positive")
    frame = store.read_frame(
        f"SELECT e.arm, COUNT(*) AS users, SUM({_GUARDRAIL_Y[guardrail]}) AS successes "
        f"FROM ({_EXPOSED}) e WHERE e.arm != '{HOLDOUT}' GROUP BY e.arm ORDER BY e.arm",
        {"campaign": campaign_id, "window_seconds": window_hours * 3600.0},
    )
    frame["users"] = frame["users"].astype(int)
    frame["successes"] = frame["successes"].fillna(0).astype(int)
    frame["rate"] = frame["successes"] / frame["users"].where(frame["users"] > 0)
    return frame
