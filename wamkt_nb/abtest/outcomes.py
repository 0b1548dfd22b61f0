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
from ..ledger.experiments import GUARDRAILS, METRICS, arm_frame, experiment_campaigns, guardrail_frame, unit_frame
from ..settings import reporting_rates
from ..store import Store
from .errors import AbTestError


def arm_counts(
    store: Store,
    campaign_id: str,
    metric: str = "conversion",
    *,
    reply_hours: float = 24.0,
    attribution_hours: float = 168.0,
    rates: ExchangeRates | None = None,
) -> pd.DataFrame:
    """One row per arm: ``arm``, ``users``, ``successes``, ``rate``, ``revenue`` (conversion only,
    in ``rates.currency``: default the settings' reporting currency)."""
    if metric not in METRICS:
        raise AbTestError(f"metric must be one of {list(METRICS)}, got {metric!r}")
    if reply_hours <= 0 or attribution_hours <= 0:
        raise AbTestError("reply_hours and attribution_hours must be positive")
    rates = rates or reporting_rates()
    frame = arm_frame(
        store,
        campaign_id,
        metric,
        reply_seconds=reply_hours * 3600.0,
        attribution_seconds=attribution_hours * 3600.0,
        rates=[(code, rates.rate(code)) for code in sorted({*rates.value_in_eur, rates.currency})],
    )
    unpriced = sorted({c for cell in frame.get("unpriced", pd.Series(dtype=object)).dropna() for c in cell.split(",")})
    if unpriced:
        raise CurrencyError(
            f"no exchange rate for {unpriced[0]} (orders attributed to campaign {campaign_id!r}): "
            f"add it to WAMKT_EXCHANGE_RATES"
        )
    frame["users"] = frame["users"].astype(int)
    frame["successes"] = frame["successes"].fillna(0).astype(int)
    frame["revenue"] = frame["revenue"].astype(float)
    frame["rate"] = frame["successes"] / frame["users"].where(frame["users"] > 0)
    return frame[["arm", "users", "successes", "rate", "revenue"]]


def experiments(store: Store) -> pd.DataFrame:
    """Campaigns that are experiments: id, name, key, status, created time, arms and recipients."""
    frame = experiment_campaigns(store)
    frame["created_at"] = pd.to_datetime(frame["created_at"], unit="s", utc=True)
    frame["arms"] = frame["arms"].fillna("").map(lambda s: tuple(sorted(a for a in s.split(",") if a)))
    return frame


def unit_outcomes(
    store: Store,
    campaign_id: str,
    metric: str = "conversion",
    *,
    pre_days: float = 90.0,
    reply_hours: float = 24.0,
    attribution_hours: float = 168.0,
) -> pd.DataFrame:
    """One row per customer in the experiment: ``arm``, ``customer_id``, ``y`` (the outcome, 0/1, counted
    as ``arm_counts`` counts it) and ``x`` (the pre-period covariate for CUPED: orders for conversion,
    reads for read, inbound messages for reply, in the ``pre_days`` before the customer's message)."""
    if metric not in METRICS:
        raise AbTestError(f"metric must be one of {list(METRICS)}, got {metric!r}")
    if pre_days <= 0 or reply_hours <= 0 or attribution_hours <= 0:
        raise AbTestError("pre_days, reply_hours and attribution_hours must be positive")
    frame = unit_frame(
        store,
        campaign_id,
        metric,
        pre_seconds=pre_days * 86_400.0,
        reply_seconds=reply_hours * 3600.0,
        attribution_seconds=attribution_hours * 3600.0,
    )
    return frame.astype({"y": float, "x": float})


def guardrail_counts(store: Store, campaign_id: str, guardrail: str, *, window_hours: float = 168.0) -> pd.DataFrame:
    """Per message arm: ``arm``, ``users``, ``successes`` (recipients with the guardrail event), ``rate``."""
    if guardrail not in GUARDRAILS:
        raise AbTestError(f"guardrail must be one of {list(GUARDRAILS)}, got {guardrail!r}")
    if window_hours <= 0:
        raise AbTestError("window_hours must be positive")
    frame = guardrail_frame(store, campaign_id, guardrail, window_seconds=window_hours * 3600.0)
    frame["users"] = frame["users"].astype(int)
    frame["successes"] = frame["successes"].fillna(0).astype(int)
    frame["rate"] = frame["successes"] / frame["users"].where(frame["users"] > 0)
    return frame
