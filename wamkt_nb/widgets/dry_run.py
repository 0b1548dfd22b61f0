"""Dry-run view: who would get the message, who not and why, when, at what cost and with what result.

A thin shell over :func:`wamkt_nb.campaigns.dryrun.dry_run`. Settings (pace, schedule, inactive
customers, daily limit, prices) are controls; ``Run`` builds the report and shows the counts by
reason, cost (with the provider comparison), duration and the expected funnel. ``.report`` holds
the last :class:`DryRunReport` for the send step.
"""

from __future__ import annotations

import html
from dataclasses import replace
from typing import Any, Mapping

import ipywidgets as W
import pandas as pd

from ..campaigns.dryrun import DryRunReport, dry_run
from ..clock import Clock
from ..pricing import RateCard, compare_providers, default_card, guide_2024, main_market
from ..compliance import Policy
from ..messages import MessageSpec
from ..settings import PACE_PRESETS, reporting_rates
from ..store import Store

Message = MessageSpec | Mapping[str, MessageSpec]
SCHEDULES = (("each customer's best hour", "best_hour"), ("10-12 h / 20-22 h local", "windows"),
             ("now (outside quiet hours)", "now"))


class DryRunView(W.VBox):
    """Dry-run controls and report for ``audience`` and a message.

    ``message`` is a spec, ``{arm: spec}``, or a :class:`MessagePreview` (its current spec and
    segment are used at every run). ``clock`` (when given) supplies "now" at every run.
    """

    def __init__(self, audience: pd.DataFrame | None = None, message: Any = None, *, now: Any,
                 store: Store | None = None, campaign_id: str = "", card: RateCard | None = None,
                 policy: Policy = Policy(), clock: Clock | None = None) -> None:
        self._audience = audience
        self._message = message
        self.now = now
        self.clock = clock
        self.store = store
        self.campaign_id = campaign_id
        self.report: DryRunReport | None = None
        self.pace = W.Dropdown(options=[(f"{k} ({v:g}/s)", k) for k, v in PACE_PRESETS.items()], value="safe",
                               description="Pace")
        self.pace.add_class("wamkt-dryrun-pace")
        self.schedule = W.Dropdown(options=SCHEDULES, value="best_hour", description="Send at")
        self.schedule.add_class("wamkt-dryrun-schedule")
        self.include_inactive = W.Checkbox(value=policy.include_inactive, description="include inactive 90 d")
        self.include_inactive.add_class("wamkt-dryrun-inactive")
        self.daily_limit = W.BoundedIntText(value=policy.daily_limit or 0, min=0, max=10_000_000,
                                            description="Daily limit", tooltip="the business portfolio's messaging limit, shared by all its numbers; 0 = unlimited")
        self.daily_limit.add_class("wamkt-dryrun-limit")
        self._cards = {"card": card or default_card(), "guide": guide_2024()}
        self.prices = W.Dropdown(options=[(c.label if k == "card" else c.name, k) for k, c in self._cards.items()],
                                 value="card", description="Prices")
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
        self.error = W.HTML()
        self.error.add_class("wamkt-dryrun-error")
        self._policy = policy
        super().__init__([
            W.HBox([self.pace, self.schedule, self.include_inactive]),
            W.HBox([self.daily_limit, self.prices]),
            self.run_button, self.error, self.summary, W.HBox([self.counts, self.funnel]), self.providers,
        ])
        self.add_class("wamkt-dryrun")
        self.run_button.on_click(lambda _: self.run())

    @property
    def card(self) -> RateCard:
        """The prices picked: the rate card, or the 2024 guide's scenario to compare with."""
        return self._cards[self.prices.value]

    @property
    def policy(self) -> Policy:
        return replace(self._policy, include_inactive=self.include_inactive.value,
                       daily_limit=int(self.daily_limit.value) or None)

    def run(self) -> DryRunReport | None:
        """Build the report with the current settings and show it (errors are shown, not raised)."""
        self.error.value = ""
        try:
            audience, message = self._inputs()
            now = self.clock.now() if self.clock else self.now
            self.report = dry_run(audience, message, now=now, store=self.store, campaign_id=self.campaign_id,
                                  policy=self.policy, card=self.card, pace=self.pace.value,
                                  schedule=self.schedule.value)
        except (KeyError, ValueError) as exc:
            message = exc.args[0] if exc.args else str(exc)
            self.error.value = f"<span style='color:#b00020'>{html.escape(str(message), quote=False)}</span>"
            return None
        self._show(self.report)
        return self.report

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
        self.summary.value = (
            "<div style='font:14px system-ui,sans-serif'>"
            f"<b>{s['send']:,}</b> would be sent, <b>{s['later']:,}</b> planned for later, "
            f"<b>{s['excluded']:,}</b> excluded (of {s['recipients']:,}).<br>"
            f"Estimated cost if delivered <b>{s['cost']:,.2f} {s['currency']}</b> "
            f"({html.escape(s['rate_card'])}{'; ' + html.escape(s['cost_note']) if s['cost_note'] else ''}); sending takes <b>{_duration(s['duration_seconds'])}</b> "
            f"at {s['pace']} pace ({s['rate_per_second']:g}/s); first {_ts(s['first_send'])}, "
            f"last {_ts(s['last_send'])}.</div>")
        counts = report.counts()
        counts["share"] = (counts["share"] * 100).round(1).astype(str) + " %"
        self.counts.value = "<b>By outcome and reason</b>" + counts.to_html(index=False, border=0)
        funnel = report.funnel.copy()
        funnel["expected"] = funnel["expected"].round(0).astype(int)
        funnel["rate_of_messages"] = (funnel["rate_of_messages"] * 100).round(1).astype(str) + " %"
        self.funnel.value = "<b>Expected funnel</b>" + funnel.to_html(index=False, border=0)
        market = main_market(report.to_send["phone"], self.card.priced)
        providers = compare_providers(s["send"] + s["later"], self._cards["card"], reporting_rates(), market)
        self.providers.value = (f"<b>Monthly cost by provider</b> (recipients mostly in {html.escape(market)})"
                                + providers.to_html(index=False, border=0))


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
