"""The funnel and failure tables computed by the database (``ledger.aggregates``, read from the
per-campaign rollups of ``ledger.rollups`` where they serve) rather than from loaded rows: the
same tables as ``funnel.funnel``, ``funnel.funnel_stages`` and ``funnel.failures``, from small
per-group frames, whatever the size of the ledger."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from ..ledger.aggregates import EVERY_SEND, Selection
from ..ledger.rollups import CampaignFigures, LiveFigures, figures
from ..store import Store
from .funnel import STAGES, failure_table, stage_column, with_rates
from .metrics import MetricOptions


def _figures(store: Store, selection: Selection, options: MetricOptions) -> CampaignFigures | LiveFigures:
    """The figures of ``selection`` with the windows of ``options``."""
    windows = pd.Timedelta(options.reply_window), pd.Timedelta(options.attribution_window)
    return figures(store, selection, windows[0].total_seconds(), windows[1].total_seconds())


def _totals(source: CampaignFigures | LiveFigures, by: list[str], options: MetricOptions) -> pd.DataFrame:
    """Stage counts per group with the attributed revenue in ``options.currency``."""
    counts = source.stage_counts(by)
    revenue = options.rates.convert_frame(source.attributed_revenue(by))
    if by:
        per_group = revenue.groupby(by)["amount"].sum()
        counts["revenue"] = per_group.reindex(counts.set_index(by).index).fillna(0.0).to_numpy(dtype=float)
    else:
        counts["revenue"] = float(revenue["amount"].sum())
    return counts


def stage_totals(
    store: Store,
    by: Sequence[str] = ("campaign_id",),
    selection: Selection = EVERY_SEND,
    options: MetricOptions | None = None,
) -> pd.DataFrame:
    """Stage counts per group of the selected sends, counted in the database, with the attributed
    revenue in ``options.currency``; additive, so coarser groups are their sums."""
    options = options or MetricOptions()
    return _totals(_figures(store, selection, options), list(by), options)


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
    counts = _figures(store, selection, options or MetricOptions()).stage_counts(())
    return stage_column(counts.iloc[0])


def stored_failures(store: Store, by: Sequence[str] = (), selection: Selection = EVERY_SEND) -> pd.DataFrame:
    """``funnel.failures`` of the selected sends, counted in the database (read from the rollups
    of the default windows)."""
    by = list(by)
    source = _figures(store, selection, MetricOptions())
    counts = source.failure_counts(by)
    attempted = source.attempted_counts(by)
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
    failures by code of the selected sends: the figures per campaign are read once (stage counts,
    revenue, failures; from the rollups where they serve) and the coarser tables are sums of them."""
    options = options or MetricOptions()
    source = _figures(store, selection, options)
    totals = _totals(source, CAMPAIGN_KEYS, options).drop(columns=["recipients", "orders"])
    per_segment = totals.drop(columns=["campaign_id", "campaign_name"]).groupby("segment", sort=True).sum()
    fails = source.failure_counts(("campaign_id",))
    codes = fails.groupby(["error_code", "held"])["count"].sum().reset_index()
    return StoredTables(
        by_campaign=with_rates(totals),
        by_segment=with_rates(per_segment.reset_index()),
        stages=stage_column(totals[[*STAGES]].sum()),
        failures=failure_table(codes, int(totals["attempted"].sum())),
    )
