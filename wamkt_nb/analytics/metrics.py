"""All metrics of one selection at once: what the dashboards show and the benchmark times."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import pandas as pd

from ..currency import ExchangeRates
from ..inbox.service import conversations, service_summary
from ..pricing import RateCard, default_card
from ..settings import reporting_rates
from .funnel import enrich, failures, funnel, funnel_stages, reply_health
from .load import LedgerData
from .money import monthly_costs, roi_per_message, send_costs
from .segments import segment_comparison
from .timing import activity_heatmap, best_send_hours, reply_time_decay


@dataclass(frozen=True)
class MetricOptions:
    """The knobs an analyst may turn: windows, the rate card that prices every message (default: the
    settings' card), local time zones, and the exchange rates that put revenue and cost into one
    reporting currency."""

    reply_window: pd.Timedelta = pd.Timedelta(hours=24)
    attribution_window: pd.Timedelta = pd.Timedelta(days=7)
    card: RateCard = field(default_factory=default_card)
    timezones: pd.Series | None = None
    rates: ExchangeRates = field(default_factory=reporting_rates)

    @property
    def currency(self) -> str:
        """The reporting currency of every revenue and cost figure."""
        return self.rates.currency

    def in_report_currency(self, data: LedgerData) -> LedgerData:
        """``data`` with order amounts converted into the reporting currency."""
        return dataclasses.replace(data, conversions=self.rates.convert_frame(data.conversions))


def priced_sends(data: LedgerData, options: MetricOptions) -> pd.DataFrame:
    """Sends with stages, attributed revenue and cost, money in the reporting currency
    (``data`` already converted by ``options.in_report_currency``)."""
    rich = enrich(
        data.sends, data.inbound, data.conversions, options.reply_window, options.attribution_window, clicks=data.clicks
    )
    rich["cost"] = send_costs(rich, options.card, options.rates)
    return rich


@dataclass
class Metrics:
    enriched: pd.DataFrame
    headline: pd.DataFrame
    stages: pd.DataFrame
    by_campaign: pd.DataFrame
    by_segment: pd.DataFrame
    failures: pd.DataFrame
    reply_health: pd.DataFrame
    reply_decay: pd.DataFrame
    heatmap: pd.DataFrame
    best_hours: pd.DataFrame
    segments: pd.DataFrame
    costs: pd.DataFrame
    roi: pd.DataFrame
    service: pd.DataFrame
    conversations: pd.DataFrame


def headline(enriched: pd.DataFrame, roi: pd.DataFrame) -> pd.DataFrame:
    """One row of key figures: recipients, delivered, read/reply/conversion rate, revenue, cost, ROI."""
    n = enriched[["attempted", "delivered", "read", "replied", "converted"]].sum().astype(int)
    delivered = n["delivered"] or float("nan")
    revenue, cost = float(roi["revenue"].sum()), float(roi["cost"].sum())
    return pd.DataFrame(
        [
            {
                "campaigns": int(enriched["campaign_id"].nunique()),
                "recipients": int(len(enriched)),
                "attempted": int(n["attempted"]),
                "delivered": int(n["delivered"]),
                "delivery_rate": n["delivered"] / (n["attempted"] or float("nan")),
                "read_rate": n["read"] / delivered,
                "reply_rate": n["replied"] / delivered,
                "conversion_rate": n["converted"] / delivered,
                "revenue": revenue,
                "cost": cost,
                "unpriced": int(enriched["cost"].isna().sum()) if "cost" in enriched else 0,
                "roi": revenue / cost if cost > 0 else float("nan"),
            }
        ]
    )


def compute_metrics(data: LedgerData, now: pd.Timestamp, options: MetricOptions | None = None) -> Metrics:
    """Every table of the dashboards for the sends in ``data`` (already filtered by the caller);
    money in ``options.currency`` (default: the settings' reporting currency)."""
    options = options or MetricOptions()
    data = options.in_report_currency(data)
    rich = priced_sends(data, options)
    roi = roi_per_message(rich, ("campaign_id", "campaign_name"))
    convs = conversations(data.inbound, data.responses, now)
    return Metrics(
        enriched=rich,
        headline=headline(rich, roi),
        stages=funnel_stages(rich),
        by_campaign=funnel(rich, ("campaign_id", "campaign_name", "segment")),
        by_segment=funnel(rich, ("segment",)),
        failures=failures(rich),
        reply_health=reply_health(rich, ("campaign_id", "campaign_name")),
        reply_decay=reply_time_decay(rich),
        heatmap=activity_heatmap(rich, options.timezones),
        best_hours=best_send_hours(rich, "segment", 3, options.timezones),
        segments=segment_comparison(rich),
        costs=monthly_costs(rich),
        roi=roi,
        service=service_summary(convs),
        conversations=convs,
    )
