"""Analytics views for the dashboards: a selector (campaign, segment, date range), key figures, and
charts/tables with PNG/SVG/CSV/Excel download links. A thin shell over ``wamkt_nb.analytics``.

The ledger is read and enriched once; a selector change filters the enriched rows and redraws.
Errors are shown as a message, never as a traceback; phone numbers only appear masked.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path

import ipywidgets as W
import pandas as pd
from matplotlib.figure import Figure

from .. import analytics as A
from ..analytics import charts
from ..analytics.export import MIME, figure_bytes, table_bytes
from ..data.privacy import mask_frame
from ..data.stored import customer_column, imported_history
from ..ledger.states import HELD_LABEL
from ..store import open_store
from ..workspace import database_target, workspace_dir
from .retarget import RetargetPanel
from .theme import style

ALL = "__all__"
EMPTY_TEXT = (
    "No campaigns yet. Send a campaign from the notebooks (or run <code>wamkt demo</code>) and its results appear here."
)


def _stored(directory: Path | None, read):
    """``read(store)`` on the workspace's store (the team store when one is named), or None when
    there is no database file yet."""
    target = database_target(directory)
    if isinstance(target, Path) and not target.is_file():
        return None
    with open_store(target) as store:
        return read(store)


def customer_timezones(directory: Path | None = None) -> pd.Series | None:
    """customer_id -> IANA zone from the workspace's saved customers (None when there are none)."""
    zones = _stored(directory, lambda store: customer_column(store, "timezone"))
    return None if zones is None else zones.astype(str)


def workspace_interactions(directory: Path | None = None) -> pd.DataFrame | None:
    """The workspace's imported interaction history (customer_id, at), or None when none is saved;
    reads and replies since come from the ledger."""
    return _stored(directory, lambda store: imported_history(store, "interactions"))


def workspace_orders(directory: Path | None = None) -> pd.DataFrame | None:
    """The workspace's imported order history (customer_id, at, amount, currency), or None when none
    is saved; orders since come from the store's conversions."""
    return _stored(directory, lambda store: imported_history(store, "orders"))


@dataclass
class Source:
    """The loaded ledger, enriched and priced once; the workspace's order and interaction history
    are read only by the views that need them."""

    data: A.LedgerData
    enriched: pd.DataFrame
    timezones: pd.Series | None
    now: pd.Timestamp
    directory: Path
    options: A.MetricOptions
    steps: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(A.STEP_COLUMNS)))
    """The journeys' stages (journey, step, campaign, delay, condition)."""

    @classmethod
    def load(
        cls, db_path: Path | None = None, now: pd.Timestamp | None = None, options: A.MetricOptions | None = None
    ) -> Source:
        """The ledger at ``db_path``; money in the settings' reporting currency unless ``options`` say."""
        options = options or A.MetricOptions()
        directory = Path(db_path).parent if db_path else workspace_dir()
        store = open_store(db_path or database_target())
        try:
            data = options.in_report_currency(A.load_ledger(store, snapshot=True))
            steps = A.load_journey_steps(store)
        finally:
            store.close()
        rich = A.priced_sends(data, options)
        latest = [t for t in (rich["out_at"].max(), data.inbound["timestamp"].max()) if pd.notna(t)]
        now = now if now is not None else max([pd.Timestamp.now(tz="UTC"), *latest])
        zones = options.timezones if options.timezones is not None else customer_timezones(directory)
        return cls(data, rich, zones, now, directory, options, steps)

    @property
    def currency(self) -> str:
        return self.options.currency

    @cached_property
    def orders(self) -> pd.DataFrame:
        """Order history of the workspace plus the orders recorded in the store (for LTV), in the
        reporting currency."""
        orders = self.data.conversions[["customer_id", "at", "amount"]]
        history = workspace_orders(self.directory)
        if history is None:
            return orders
        history = self.options.rates.convert_frame(history).drop(columns="currency")
        return pd.concat([history.astype({"at": orders["at"].dtype}), orders], ignore_index=True)

    @cached_property
    def history(self) -> pd.DataFrame | None:
        return workspace_interactions(self.directory)

    def campaigns(self) -> list[tuple[str, str]]:
        c = self.data.campaigns
        return [(f"{n} ({cid})", cid) for cid, n in zip(c["campaign_id"], c["name"], strict=True)]

    def segments(self) -> list[str]:
        return sorted(self.enriched["segment"].dropna().unique().tolist())

    def select(
        self, campaign: str = ALL, segment: str = ALL, since: date | None = None, until: date | None = None
    ) -> pd.DataFrame:
        """Enriched rows of the chosen campaign and segment whose message went out in the range."""
        rich = self.enriched
        keep = pd.Series(True, index=rich.index)
        if campaign != ALL:
            keep &= rich["campaign_id"] == campaign
        if segment != ALL:
            keep &= rich["segment"] == segment
        return rich.loc[keep & _in_range(rich["out_at"], since, until)]

    def journey_rows(self, rows: pd.DataFrame) -> pd.DataFrame:
        """Every stage's rows of the journeys that ``rows`` touch (a journey's campaign or one of its
        steps selected shows the whole journey)."""
        steps = self.steps
        touched = steps.loc[steps["campaign_id"].isin(rows["campaign_id"].unique()), "journey_id"]
        stages = steps.loc[steps["journey_id"].isin(touched), "campaign_id"]
        return self.enriched.loc[self.enriched["campaign_id"].isin(stages)]

    def inbound_in(self, since: date | None, until: date | None) -> pd.DataFrame:
        return self.data.inbound.loc[_in_range(self.data.inbound["timestamp"], since, until)]


def _in_range(times: pd.Series, since: date | None, until: date | None) -> pd.Series:
    """Whether each time falls on the days ``since`` .. ``until`` (both included, UTC)."""
    keep = pd.Series(True, index=times.index)
    if since is not None:
        keep &= times >= pd.Timestamp(since, tz="UTC")
    if until is not None:
        keep &= times < pd.Timestamp(until, tz="UTC") + pd.Timedelta(days=1)
    return keep


def _link(name: str, fmt: str, data: bytes) -> str:
    return (
        f'<a class="wamkt-export wamkt-export-{fmt}" download="{name}.{fmt}" '
        f'href="data:{MIME[fmt]};base64,{base64.b64encode(data).decode()}">{fmt.upper()}</a>'
    )


class ChartView(W.VBox):
    """One chart (and optionally its table) with download links; ``show`` replaces the content.

    PNG and CSV links come with the chart; SVG and Excel are built when asked for (the button),
    since drawing every chart twice would double the dashboard's first paint.
    """

    def __init__(self, name: str, title: str, with_table: bool = True) -> None:
        self.name = name
        self.title = W.HTML(f"<h4>{html.escape(title)}</h4>")
        self.image = W.Image(format="png", layout=W.Layout(max_width="100%"))
        self.image.add_class("wamkt-card")
        self.table = W.HTML()
        self.links = W.HTML()
        self.more = W.Button(
            description="SVG / Excel", tooltip="prepare SVG and Excel downloads", layout=W.Layout(width="110px")
        )
        self.with_table = with_table
        self.figure: Figure | None = None
        self.data: pd.DataFrame | None = None
        exports = W.HBox([self.links, self.more])
        super().__init__([self.title, self.image, exports] + ([self.table] if with_table else []))
        self.add_class("wamkt-chart")
        self.add_class(f"wamkt-chart-{name}")
        self.links.add_class("wamkt-exports")
        self.more.add_class("wamkt-export-more")
        self.table.add_class("wamkt-table")
        self.more.on_click(lambda _b: self.prepare_more())

    def show(self, fig: Figure, table: pd.DataFrame | None = None, shown: pd.DataFrame | None = None) -> None:
        """Draw ``fig``; list ``shown`` (default ``table``) below it; offer both for download."""
        png = figure_bytes(fig, "png")
        self.figure, self.data = fig, table
        links = [_link(self.name, "png", png)] + (
            [_link(self.name, "csv", table_bytes(table, "csv"))] if table is not None else []
        )
        with self.hold_sync():
            self.image.value = png
            self.image.width = str(int(fig.get_figwidth() * fig.dpi))  # natural size, not stretched
            self.links.value = "Download: " + " ".join(links)
            if self.with_table and table is not None:
                self.table.value = format_table(shown if shown is not None else table)

    def prepare_more(self) -> None:
        """Add SVG (and Excel, when there is a table) links for the current chart."""
        try:
            extra = [_link(self.name, "svg", figure_bytes(self.figure, "svg"))] if self.figure else []
            if self.data is not None:
                extra.append(_link(self.name, "xlsx", table_bytes(self.data, "xlsx")))
            self.links.value += " " + " ".join(extra)
        except Exception as exc:
            self.links.value += f' <span class="wamkt-error">export failed: {html.escape(str(exc))}</span>'


def format_table(table: pd.DataFrame, max_rows: int = 30) -> str:
    """HTML of a metric table: rates as percentages, money with two decimals, at most ``max_rows``,
    phone numbers masked wherever they appear."""
    out = mask_frame(table.head(max_rows))
    for col in out.columns:
        if out[col].dtype == bool or not isinstance(col, str):
            continue
        if col.endswith(("_rate", "share", "uplift", "reduction", "share_in_time", "_change")) or col in (
            "share_of_failed",
            "share_of_attempted",
            "cumulative_share",
        ):
            out[col] = out[col].map(lambda v: "" if pd.isna(v) else f"{v:.1%}")
        elif col in (
            "revenue",
            "cost",
            "cost_per_conversion",
            "revenue_per_message",
            "cost_per_message",
            "ltv",
            "revenue_per_customer",
        ):
            out[col] = out[col].map(lambda v: "" if pd.isna(v) else f"{v:,.2f}")
        elif col in ("roi", "read_vs_email", "lift"):
            out[col] = out[col].map(lambda v: "" if pd.isna(v) else f"{v:,.1f}×")
    return out.to_html(index=False, border=0, classes="wamkt-metric-table", escape=True, na_rep="")


class Selector(W.HBox):
    """Campaign, segment and date range; calls ``on_change`` after every change."""

    def __init__(self, source: Source, on_change: Callable[[], None]) -> None:
        self.campaign = W.Dropdown(
            options=[("All campaigns", ALL)] + source.campaigns(),
            value=ALL,
            description="Campaign",
            layout=W.Layout(width="320px"),
        )
        self.segment = W.Dropdown(
            options=[("All segments", ALL)] + [(s, s) for s in source.segments()],
            value=ALL,
            description="Segment",
            layout=W.Layout(width="280px"),
        )
        self.since = W.DatePicker(description="From", layout=W.Layout(width="220px"))
        self.until = W.DatePicker(description="To", layout=W.Layout(width="220px"))
        super().__init__([self.campaign, self.segment, self.since, self.until], layout=W.Layout(flex_flow="row wrap"))
        self.add_class("wamkt-selector")
        for widget, css in (
            (self.campaign, "campaign"),
            (self.segment, "segment"),
            (self.since, "since"),
            (self.until, "until"),
        ):
            widget.add_class(f"wamkt-select-{css}")
            widget.observe(lambda _change: on_change(), names="value")

    def rows(self, source: Source) -> pd.DataFrame:
        return source.select(self.campaign.value, self.segment.value, self.since.value, self.until.value)


def kpi_html(head: pd.Series, reply_ok: bool, currency: str, prices: str) -> str:
    """Key-figure cards, money in ``currency`` and costs at ``prices`` (the rate card's label); every
    value in a span with class ``wamkt-kpi-<name>``."""

    def pct(v: float) -> str:
        return "–" if pd.isna(v) else f"{v:.1%}"

    read_vs = "" if pd.isna(head["read_rate"]) else f"{head['read_rate'] / A.EMAIL_READ_RATE:.1f}× e-mail (20 %)"
    cards = [
        ("campaigns", "Campaigns", f"{int(head['campaigns']):,}", ""),
        ("recipients", "Recipients", f"{int(head['recipients']):,}", ""),
        ("delivered", "Delivered", f"{int(head['delivered']):,}", pct(head["delivery_rate"]) + " of attempted"),
        ("read-rate", "Read rate", pct(head["read_rate"]), read_vs),
        (
            "reply-rate",
            "Reply rate 24 h",
            pct(head["reply_rate"]),
            "ok" if reply_ok else f"⚠ under {A.REPLY_WARNING_RATE:.0%}: spam risk",
        ),
        ("conversion-rate", "Conversion", pct(head["conversion_rate"]), ""),
        ("revenue", f"Attributed revenue ({currency})", f"{head['revenue']:,.2f}", ""),
        (
            "cost",
            f"Cost ({currency})",
            f"{head['cost']:,.2f}",
            prices + (f" · excludes {int(head['unpriced']):,} unpriced" if head.get("unpriced", 0) else ""),
        ),
        ("roi", "ROI", "–" if pd.isna(head["roi"]) else f"{head['roi']:,.1f}×", "revenue / cost"),
    ]
    return "".join(
        f'<div class="wamkt-kpi" style="display:inline-block;margin:4px 10px;min-width:120px">'
        f'<div style="font-size:12px">{label}</div>'
        f'<div class="wamkt-kpi-{key}" style="font-size:22px;font-weight:600">{value}</div>'
        f'<div style="font-size:11px">{html.escape(note)}</div></div>'
        for key, label, value, note in cards
    )


class AnalyticsDashboard(W.VBox):
    """Base of the three dashboards: load once, a selector, a status line, sections redrawn on change."""

    title = "Analytics"
    css = "wamkt-dashboard"

    def __init__(self, db_path: Path | None = None, now: pd.Timestamp | None = None) -> None:
        super().__init__()
        self.db_path = db_path
        self.add_class("wamkt-analytics")
        self.add_class("wamkt-widget")
        self.add_class(self.css)
        self.status = W.HTML()
        self.status.add_class("wamkt-status")
        self.body = W.VBox()
        try:
            self.source = Source.load(db_path, now)
        except Exception as exc:  # a damaged or foreign database: say so, no traceback
            self.source = None
            self._message(f"Cannot read the campaign database: {html.escape(str(exc))}", "wamkt-error")
            self.children = [W.HTML(f"<h2>{self.title}</h2>"), self.status, style()]
            return
        if self.source.data.empty:
            self._message(EMPTY_TEXT, "wamkt-empty")
            self.children = [W.HTML(f"<h2>{self.title}</h2>"), self.status, style()]
            return
        self.selector = Selector(self.source, self.refresh)
        self.build()
        self.children = [W.HTML(f"<h2>{self.title}</h2>"), self.selector, self.status, self.body, style()]
        self.refresh()

    def _message(self, text: str, css: str) -> None:
        level = "error" if css == "wamkt-error" else "info"
        self.status.value = f'<div class="{css} wamkt-status-{level}">{text}</div>'

    def refresh(self) -> None:
        """Redraw every section for the current selection; a failure shows as a message."""
        try:
            rows = self.selector.rows(self.source)
            if rows.empty:
                self._message("No messages match this selection.", "wamkt-empty")
            else:
                self.status.value = ""
            self.draw(rows)
        except Exception as exc:
            self._message(f"Could not compute this view: {html.escape(str(exc))}", "wamkt-error")

    def build(self) -> None:
        raise NotImplementedError

    def draw(self, rows: pd.DataFrame) -> None:
        raise NotImplementedError


def button_taps_html(db_path: Path | None, campaign: str = ALL) -> str:
    """The per-button table (taps of each quick-reply button per campaign) for the overview."""
    store = open_store(db_path or database_target())
    try:
        taps = A.button_taps(store, None if campaign == ALL else campaign)
    finally:
        store.close()
    title = "<h4>Button taps per campaign</h4>"
    if taps.empty:
        return title + "<div>No button taps recorded for this selection.</div>"
    return title + format_table(taps[["campaign_id", "button", "payload", "taps", "customers", "tap_rate"]])


class CampaignOverview(AnalyticsDashboard):
    """Funnel, rates against the e-mail baseline, failures, costs, ROI per message, LTV, service levels."""

    title = "Campaign overview"
    css = "wamkt-campaign-overview"

    def build(self) -> None:
        self.kpis = W.HTML()
        self.kpis.add_class("wamkt-kpis")
        self.warnings = W.HTML()
        self.warnings.add_class("wamkt-warnings")
        self.funnel = ChartView("funnel", "Funnel: attempted → converted")
        self.buttons = W.HTML()
        self.buttons.add_class("wamkt-button-taps")
        self.journeys = ChartView("journeys", "Journeys: funnel per step (sent → converted)")
        self.rates = ChartView("rates", "Read and reply rate per campaign")
        self.failures = ChartView("failures", "Failures by Meta error code")
        self.decay = ChartView("reply-decay", "Reply-time decay", with_table=False)
        self.costs = ChartView("costs", "Cost per month")
        self.roi = ChartView("roi", "ROI per message")
        self.ltv = ChartView("ltv", "Monthly LTV: WhatsApp-reached customers vs the rest", with_table=False)
        self.service = ChartView("service", "Inbox service levels")
        self.retarget = RetargetPanel(self.db_path, self.source.campaigns(), self.source.now)
        self.body.children = [
            self.kpis,
            self.warnings,
            self.funnel,
            self.buttons,
            self.journeys,
            self.rates,
            self.failures,
            self.retarget,
            self.decay,
            self.costs,
            self.roi,
            self.ltv,
            self.service,
        ]

    def draw(self, rows: pd.DataFrame) -> None:
        src = self.source
        self.retarget.select(self.selector.campaign.value)
        roi = A.roi_per_message(rows, ("campaign_id", "campaign_name"))
        head = A.headline(rows, roi).iloc[0]
        health = A.reply_health(rows, ("campaign_name",))
        warned = health[health["warning"]]
        self.kpis.value = kpi_html(
            head,
            reply_ok=not (head["reply_rate"] < A.REPLY_WARNING_RATE),
            currency=src.currency,
            prices=src.options.card.label,
        )
        self.warnings.value = "".join(
            f'<div class="wamkt-warning wamkt-bad">⚠ {html.escape(str(n))}: '
            f"{r:.1%} replies in 24 h — {html.escape(m)}</div>"
            for n, r, m in zip(warned["campaign_name"], warned["reply_rate"], warned["message"], strict=True)
        )
        stages = A.funnel_stages(rows)
        by_campaign = A.funnel(rows, ("campaign_name", "segment"))
        self.funnel.show(
            charts.funnel_chart(stages),
            by_campaign,
            by_campaign[["campaign_name", "segment", *A.STAGES, "failed", "held"]].rename(columns={"held": HELD_LABEL}),
        )
        self.buttons.value = button_taps_html(self.db_path, self.selector.campaign.value)
        steps = A.step_funnel(src.journey_rows(rows), src.steps)
        self.journeys.show(charts.step_funnel_chart(steps), steps)
        self.rates.show(
            charts.rates_chart(by_campaign, "campaign_name"),
            by_campaign,
            by_campaign[["campaign_name", "delivered", "read_rate", "read_vs_email", "reply_rate", "conversion_rate"]],
        )
        fails = A.failures(rows)
        self.failures.show(charts.failures_chart(fails), fails)
        self.decay.show(charts.reply_decay_chart(A.reply_time_decay(rows)))
        costs = A.monthly_costs(rows)
        self.costs.show(charts.costs_chart(costs, src.currency, src.options.card.label), costs)
        self.roi.show(charts.roi_chart(roi, src.currency), roi, roi.drop(columns=["campaign_id"]))
        reached = rows.loc[rows["delivered"], "customer_id"].unique()
        ltv = A.ltv_monthly(src.orders, pd.Series(reached), None)
        recent = sorted(ltv["month"].unique())[-12:]
        self.ltv.show(charts.ltv_chart(ltv[ltv["month"].isin(recent)]), ltv)
        convs = A.conversations(
            src.inbound_in(self.selector.since.value, self.selector.until.value), src.data.responses, src.now
        )
        summary = A.service_summary(convs)
        red = convs.loc[convs["red"], ["phone", "started_at", "messages", "waiting_min"]]
        self.service.show(charts.response_time_chart(convs), summary)
        if len(red):
            self.service.table.value += "<h5>Red flags: unanswered for 2 hours</h5>" + format_table(red)


class SegmentComparison(AnalyticsDashboard):
    """The segmentation table of the WhatsApp marketing guide, 2024 from the ledger: read rate,
    conversion uplift, cost reduction."""

    title = "Segment comparison"
    css = "wamkt-segment-comparison"

    def build(self) -> None:
        self.comparison = ChartView("segments", "Segments against an unsegmented send")
        self.published = W.HTML(
            "<h4>Published figures (WhatsApp marketing guide, 2024)</h4>" + format_table(A.GUIDE_SEGMENTATION)
        )
        self.rates = ChartView("segment-rates", "Read and reply rate per segment")
        self.body.children = [self.comparison, self.published, self.rates]

    def draw(self, rows: pd.DataFrame) -> None:
        # The comparison needs the baseline even when one segment is picked: use the other filters only.
        sel = self.selector
        rows_all = self.source.select(sel.campaign.value, ALL, sel.since.value, sel.until.value)
        table = A.segment_comparison(rows_all)
        if sel.segment.value != ALL:
            table = table[table["is_baseline"] | (table["segment"] == sel.segment.value)]
        self.comparison.show(charts.segment_comparison_chart(table), table)
        by_segment = A.funnel(rows, ("segment",))
        self.rates.show(
            charts.rates_chart(by_segment, "segment"),
            by_segment,
            by_segment[["segment", "delivered", "read_rate", "reply_rate", "conversion_rate"]],
        )


class SendTimes(AnalyticsDashboard):
    """When customers read and reply: heatmap, hours of the chosen segment, read rate by local send hour,
    reply-time decay."""

    title = "Best send times"
    css = "wamkt-send-times"

    def build(self) -> None:
        self.heatmap = ChartView(
            "heatmap",
            "Activity by local weekday and hour: reads, replies and the recorded interactions of these customers",
        )
        self.hours = ChartView("best-hours", "Best send hours per segment")
        self.decay = ChartView("reply-decay", A.DECAY_TITLE)
        self.peak = W.HTML()
        self.body.children = [self.heatmap, self.hours, self.peak, self.decay]

    def draw(self, rows: pd.DataFrame) -> None:
        tz, history = self.source.timezones, self.source.history
        grid = A.activity_heatmap(rows, tz, history)
        self.heatmap.show(charts.heatmap_chart(grid), grid.reset_index())
        best = A.best_send_hours(rows, "segment", 3, tz, history)
        per_hour = grid.sum(axis=0)
        label = self.selector.segment.value if self.selector.segment.value != ALL else "all segments"
        top = per_hour.sort_values(ascending=False).head(3).index.tolist() if per_hour.sum() else []
        self.hours.show(charts.hours_chart(per_hour, top, f"Activity per local hour: {label}"), best)
        by_hour = A.read_rate_by_hour(rows, tz)
        lift = A.peak_read_lift(by_hour=by_hour)
        shown = "no reads yet" if pd.isna(lift) else f"{lift:+.0%}"
        self.peak.value = (
            f"<h4>{html.escape(A.PEAK_TITLE)}</h4><p class='wamkt-peak-lift'>peak hours vs average: "
            f"{shown}</p>" + format_table(by_hour)
        )
        decay = A.reply_time_decay(rows)
        self.decay.show(charts.reply_decay_chart(decay), decay)


def campaign_overview(db_path: Path | None = None) -> CampaignOverview:
    return CampaignOverview(db_path)


def segment_comparison(db_path: Path | None = None) -> SegmentComparison:
    return SegmentComparison(db_path)


def send_times(db_path: Path | None = None) -> SendTimes:
    return SendTimes(db_path)
