"""Dry-run view: who would get the message, who not and why, when, at what cost and with what result.

A thin shell over :func:`wamkt_nb.campaigns.dryrun.dry_run`. Settings (pace, schedule, inactive
customers, daily limit, prices) are controls; ``Run`` builds the report and shows the counts by
reason, cost (with the provider comparison), duration and the expected funnel. ``.report`` holds
the last :class:`DryRunReport` for the send step.

Once a report is shown, changing a setting runs it again, so the report always matches the
controls. Costs are shown in the rate card's currency and in the reporting currency (the one
revenue is reported in). Any error shows in the widget's status line (its trace in the log).
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import ipywidgets as W
import pandas as pd
from matplotlib.figure import Figure

from ..analytics.export import figure_bytes
from ..campaigns.dryrun import DryRunReport, dry_run
from ..campaigns.outlook import exclusions_figure
from ..clock import Clock
from ..compliance import Policy
from ..messages import MessageSpec
from ..pricing import RateCard, compare_providers, default_card, guide_2024, main_market
from ..settings import PACE_PRESETS, reporting_rates
from ..store import Store
from .export_bar import ExportBar
from .feedback import StatusLine, guarded
from .theme import themed, wrap

Message = MessageSpec | Mapping[str, MessageSpec]
SCHEDULES = (
    ("each customer's best hour", "best_hour"),
    ("10-12 h / 20-22 h local", "windows"),
    ("now (outside quiet hours)", "now"),
)


class DryRunView(W.VBox):
    """Dry-run controls and report for ``audience`` and a message.

    ``message`` is a spec, ``{arm: spec}``, or a :class:`MessagePreview` (its current spec and
    segment are used at every run). ``clock`` (when given) supplies "now" at every run.
    With ``campaign`` (a :class:`~wamkt_nb.facade.campaign.Campaign`) every run is the campaign's
    own dry run: its audience, message and clock, and the plan saved in the ledger under its name,
    so the plan shown is the one that is sent.
    """

    def __init__(
        self,
        audience: pd.DataFrame | None = None,
        message: Any = None,
        *,
        now: Any = None,
        store: Store | None = None,
        campaign_id: str = "",
        card: RateCard | None = None,
        policy: Policy = Policy(),
        clock: Clock | None = None,
        campaign: Any = None,
    ) -> None:
        self.campaign = campaign
        self._audience = audience
        self._message = message
        self.now = now
        self.clock = clock
        self.store = store
        self.campaign_id = campaign_id
        self.report: DryRunReport | None = None
        self.pace = W.Dropdown(
            options=[(f"{k} ({v:g}/s)", k) for k, v in PACE_PRESETS.items()], value="safe", description="Pace"
        )
        self.pace.add_class("wamkt-dryrun-pace")
        self.schedule = W.Dropdown(options=SCHEDULES, value="best_hour", description="Send at")
        self.schedule.add_class("wamkt-dryrun-schedule")
        self.include_inactive = W.Checkbox(value=policy.include_inactive, description="include inactive 90 d")
        self.include_inactive.add_class("wamkt-dryrun-inactive")
        self.daily_limit = W.BoundedIntText(
            value=policy.daily_limit or 0,
            min=0,
            max=10_000_000,
            description="Daily limit",
            tooltip="the business portfolio's messaging limit, shared by all its numbers; 0 = unlimited",
        )
        self.daily_limit.add_class("wamkt-dryrun-limit")
        self._cards = {"card": card or default_card(), "guide": guide_2024()}
        self.prices = W.Dropdown(
            options=[(c.label if k == "card" else c.name, k) for k, c in self._cards.items()],
            value="card",
            description="Prices",
        )
        self.prices.add_class("wamkt-dryrun-prices")
        self.run_button = W.Button(description="Run dry-run", button_style="primary", icon="play")
        self.run_button.add_class("wamkt-dryrun-run")
        self.summary = W.HTML()
        self.summary.add_class("wamkt-dryrun-summary")
        self.counts = W.HTML()
        self.counts.add_class("wamkt-dryrun-counts")
        self.funnel = W.HTML()
        self.funnel.add_class("wamkt-dryrun-funnel")
        self.providers = W.HTML()
        self.providers.add_class("wamkt-dryrun-providers")
        self.error = StatusLine("Press Run dry-run to see who would get the message, when and at what cost.")
        self.error.add_class("wamkt-dryrun-error")
        self.chart = W.Image(format="png", layout=W.Layout(max_width="640px", width="100%", display="none"))
        self.chart.add_class("wamkt-card")
        self.chart.add_class("wamkt-dryrun-chart")
        self.exports = ExportBar(
            tables={"dry-run-plan": self._plan_table, "dry-run-counts": self._counts_table},
            figures={"dry-run-exclusions": self._exclusions_figure},
        )
        self._policy = policy
        super().__init__(
            [
                wrap(self.pace, self.schedule, self.include_inactive),
                wrap(self.daily_limit, self.prices),
                self.run_button,
                self.error,
                self.summary,
                wrap(self.counts, self.funnel),
                self.chart,
                self.providers,
                self.exports,
            ]
        )
        self.add_class("wamkt-dryrun")
        themed(self)
        self.run_button.on_click(lambda _: self.run())
        for control in (self.pace, self.schedule, self.include_inactive, self.daily_limit, self.prices):
            control.observe(self._setting_changed, names="value")

    def _setting_changed(self, _change: dict) -> None:
        """A shown report follows the settings: run again (before the first run, nothing to redo)."""
        if self.report is not None:
            self.run()

    @property
    def card(self) -> RateCard:
        """The prices picked: the rate card, or the 2024 guide's scenario to compare with."""
        return self._cards[self.prices.value]

    @property
    def policy(self) -> Policy:
        return replace(
            self._policy, include_inactive=self.include_inactive.value, daily_limit=int(self.daily_limit.value) or None
        )

    def run(self) -> DryRunReport | None:
        """Build the report with the current settings and show it (errors are shown, not raised)."""
        report = self._run_now()
        if report is None and self.report is not None:
            self.error.show(f"{self.error.text} The figures below are from the last successful run.", "error")
        return report

    @guarded(lambda self: self.error, "Run dry-run")
    def _run_now(self) -> DryRunReport | None:
        self.error.show("Running the dry-run...")
        if self.campaign is not None:
            report = self.campaign.dry_run(
                schedule=self.schedule.value, pace=self.pace.value, policy=self.policy, card=self.card
            )
        else:
            audience, message = self._inputs()
            now = self.clock.now() if self.clock else self.now
            report = dry_run(
                audience,
                message,
                now=now,
                store=self.store,
                campaign_id=self.campaign_id,
                policy=self.policy,
                card=self.card,
                pace=self.pace.value,
                schedule=self.schedule.value,
            )
        self._show(report)
        self.report = report
        s = report.summary()
        saved = f" The plan is saved as campaign {self.campaign.name!r}." if self.campaign is not None else ""
        self.error.show(
            f"Dry-run done at {s['pace']} pace: {s['send'] + s['later']:,} of {s['recipients']:,} would "
            f"get the message.{saved} Next: change a setting (the report follows) or go on to send.",
            "ok",
        )
        return report

    def _plan_table(self) -> pd.DataFrame | None:
        if self.report is None:
            return None
        return self.report.plan.drop(columns=["payload"], errors="ignore")

    def _counts_table(self) -> pd.DataFrame | None:
        return None if self.report is None else self.report.counts()

    def _exclusions_figure(self) -> Figure | None:
        frame = self._excluded()
        return exclusions_figure(frame) if frame is not None and len(frame) else None

    def _excluded(self) -> pd.DataFrame | None:
        return None if self.report is None else self._excluded_of(self.report)

    @staticmethod
    def _excluded_of(report: DryRunReport) -> pd.DataFrame:
        """The excluded recipients by reason, shaped like :func:`wamkt_nb.campaigns.outlook.exclusions`."""
        counts = report.counts()
        return counts.loc[counts["outcome"] == "excluded", ["reason", "recipients", "meaning"]].reset_index(drop=True)

    def _inputs(self) -> tuple[pd.DataFrame, Message]:
        message = self._message
        if hasattr(message, "spec") and hasattr(message, "audience"):  # a MessagePreview
            if message.spec is None:
                raise ValueError("the message preview has no valid message yet")
            return message.audience, message.spec
        if self._audience is None or message is None:
            raise ValueError("nothing to dry-run: give an audience and a message")
        return self._audience, message

    def _show(self, report: DryRunReport) -> None:
        s = report.summary()
        rates = reporting_rates()
        cost = f"{s['cost']:,.2f} {s['currency']}"
        if s["currency"].upper() != rates.currency:
            cost += f" (≈ {s['cost'] * rates.rate(s['currency']):,.2f} {rates.currency}, the reporting currency)"
        self.summary.value = (
            "<div>"
            f"<b>{s['send']:,}</b> would be sent, <b>{s['later']:,}</b> planned for later, "
            f"<b>{s['excluded']:,}</b> excluded (of {s['recipients']:,}).<br>"
            f"Estimated cost if delivered <b>{html.escape(cost)}</b> "
            f"({html.escape(s['rate_card'])}{'; ' + html.escape(s['cost_note']) if s['cost_note'] else ''}); "
            f"sending takes <b>{_duration(s['duration_seconds'])}</b> "
            f"at {html.escape(s['pace'])} pace ({s['rate_per_second']:g}/s); first {_ts(s['first_send'])}, "
            f"last {_ts(s['last_send'])}.<br>"
            f"Expected: about <b>{s['expected_read']:,.0f}</b> read and <b>{s['expected_replied']:,.0f}</b> replies."
            "</div>"
        )
        counts = report.counts()
        counts["share"] = (counts["share"] * 100).round(1).astype(str) + " %"
        self.counts.value = "<b>By outcome and reason</b>" + counts.to_html(index=False, border=0)
        funnel = report.funnel.copy()
        funnel["expected"] = funnel["expected"].round(0).astype(int)
        funnel["rate_of_messages"] = (funnel["rate_of_messages"] * 100).round(1).astype(str) + " %"
        self.funnel.value = "<b>Expected funnel</b>" + funnel.to_html(index=False, border=0)
        market = main_market(report.to_send["phone"], self.card.priced)
        providers = compare_providers(s["send"] + s["later"], self._cards["card"], reporting_rates(), market)
        self.providers.value = (
            f"<b>Monthly cost by provider</b> in {html.escape(reporting_rates().currency)} "
            f"(recipients mostly in {html.escape(market)})" + providers.to_html(index=False, border=0)
        )
        excluded = self._excluded_of(report)
        if len(excluded):
            self.chart.value = figure_bytes(exclusions_figure(excluded))
            self.chart.layout.display = None
        else:
            self.chart.layout.display = "none"


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 172_800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86_400:.1f} days"


def _ts(value: Any) -> str:
    return "-" if pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%d %H:%M UTC")
