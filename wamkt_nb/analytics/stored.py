"""The funnel and failure tables computed by the database (``ledger.aggregates``, read from the
per-campaign rollups of ``ledger.rollups`` where they serve) rather than from loaded rows: the
same tables as ``funnel.funnel``, ``funnel.funnel_stages`` and ``funnel.failures``, from small
per-group frames, whatever the size of the ledger."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from ..ledger.aggregates import EVERY_SEND, Selection
from ..ledger.rollups import attempted_counts, attributed_revenue, failure_counts, stage_counts
from ..store import Store
from .funnel import STAGES, failure_table, stage_column, with_rates
from .metrics import MetricOptions


def _seconds(window: pd.Timedelta) -> float:
    return pd.Timedelta(window).total_seconds()


def stage_totals(
    store: Store,
    by: Sequence[str] = ("campaign_id",),
    selection: Selection = EVERY_SEND,
    options: MetricOptions | None = None,
) -> pd.DataFrame:
    """Stage counts per group of the selected sends, counted in the database, with the attributed
    revenue in ``options.currency``; additive, so coarser groups are their sums."""
    options = options or MetricOptions()
    by = list(by)
    windows = _seconds(options.reply_window), _seconds(options.attribution_window)
    counts = stage_counts(store, by, selection, *windows)
    revenue = attributed_revenue(store, by, selection, windows[1], windows[0])
    revenue = options.rates.convert_frame(revenue)
    if by:
        per_group = revenue.groupby(by)["amount"].sum()
        counts["revenue"] = per_group.reindex(counts.set_index(by).index).fillna(0.0).to_numpy(dtype=float)
    else:
        counts["revenue"] = float(revenue["amount"].sum())
    return counts


def stored_funnel(
    store: Store,
    by: Sequence[str] = ("campaign_id",),
    selection: Selection = EVERY_SEND,
    options: MetricOptions | None = None,
) -> pd.DataFrame:
    """``funnel.funnel`` of the selected sends, grouped in the database; revenue in
    ``options.currency``. No rows when nothing is selected."""
    return with_rates(stage_totals(store, by, selection, options).drop(columns=["recipients", "orders"]))


def stored_stages(
    store: Store, selection: Selection = EVERY_SEND, options: MetricOptions | None = None
) -> pd.DataFrame:
    """``funnel.funnel_stages`` of the selected sends, counted in the database."""
    options = options or MetricOptions()
    counts = stage_counts(store, (), selection, _seconds(options.reply_window), _seconds(options.attribution_window))
    return stage_column(counts.iloc[0])


def stored_failures(store: Store, by: Sequence[str] = (), selection: Selection = EVERY_SEND) -> pd.DataFrame:
    """``funnel.failures`` of the selected sends, counted in the database."""
    by = list(by)
    counts = failure_counts(store, by, selection)
    attempted = attempted_counts(store, by, selection)
    per_group: pd.Series | int = attempted.set_index(by)["attempted"] if by else int(attempted["attempted"].sum())
    return failure_table(counts, per_group, by)


CAMPAIGN_KEYS = ["campaign_id", "campaign_name", "segment"]


@dataclass
class StoredTables:
    """The dashboards' funnel and failure tables of one selection, from one count per campaign."""

    by_campaign: pd.DataFrame
    by_segment: pd.DataFrame
    stages: pd.DataFrame
    failures: pd.DataFrame


def stored_tables(
    store: Store, selection: Selection = EVERY_SEND, options: MetricOptions | None = None
) -> StoredTables:
    """The funnel per campaign (``CAMPAIGN_KEYS``) and per segment, the funnel column and the
    failures by code of the selected sends: the database counts per campaign once (stage counts,
    revenue, failures) and the coarser tables are sums of those rows."""
    options = options or MetricOptions()
    totals = stage_totals(store, CAMPAIGN_KEYS, selection, options).drop(columns=["recipients", "orders"])
    per_segment = totals.drop(columns=["campaign_id", "campaign_name"]).groupby("segment", sort=True).sum()
    windows = _seconds(options.reply_window), _seconds(options.attribution_window)
    fails = failure_counts(store, ("campaign_id",), selection, *windows)
    codes = fails.groupby(["error_code", "held"])["count"].sum().reset_index()
    return StoredTables(
        by_campaign=with_rates(totals),
        by_segment=with_rates(per_segment.reset_index()),
        stages=stage_column(totals[[*STAGES]].sum()),
        failures=failure_table(codes, int(totals["attempted"].sum())),
    )
