"""The A/B test planner: baseline, effect, risk and limits in; users per arm, duration and power curve out.

A thin shell over ``wamkt_nb.abtest.plan_test``; ``.plan`` holds the last valid plan (its
``.sample.spec()`` is what a campaign records as its experiment design).

A baseline that could not be measured (NaN, e.g. no eligible customer) or an empty segment starts
from a placeholder and the status line says so; the inputs keep their width whatever the plan
says (the row wraps below 1,000 px instead of squeezing them).
"""

from __future__ import annotations

import html
import math

import ipywidgets as W
import pandas as pd
from matplotlib.figure import Figure

from ..abtest import AbTestError, TestPlan, plan_test
from ..abtest.charts import power_curve_figure
from ..analytics.export import figure_bytes
from ..cloudapi.models import TIER_LIMITS
from .export_bar import ExportBar
from .feedback import StatusLine, guarded
from .theme import themed

PLACEHOLDER_BASELINE = 0.05
"""Where the baseline input starts when the measured baseline is missing (the analyst overwrites it)."""
METRIC_LABELS = {"read": "read rate", "reply": "reply rate (24 h)", "conversion": "conversion rate (7 days)"}


def parse_allocation(text: str, arms: int) -> list[float] | None:
    """``"50/25/25"`` or ``"2:1:1"`` -> weights; empty -> equal. Raises AbTestError naming the field."""
    text = text.strip()
    if not text:
        return None
    parts = [p for p in text.replace(":", "/").replace(",", "/").split("/") if p.strip()]
    try:
        weights = [float(p) for p in parts]
    except ValueError:
        raise AbTestError(f"allocation: {text!r} is not numbers separated by '/' (e.g. 50/50)") from None
    if len(weights) != arms:
        raise AbTestError(f"allocation: {len(weights)} numbers for {arms} arms")
    return weights


class AbPlanner(W.VBox):
    """Inputs on the left, the plan and its power curve on the right; recomputed on every change."""

    def __init__(self, baseline: float = 0.05, segment_size: int = 20_000, metric: str = "conversion") -> None:
        style = {"description_width": "150px"}
        wide = W.Layout(width="340px", min_width="340px")
        notes = []
        if baseline is None or not math.isfinite(baseline) or not 0 < baseline < 1:
            notes.append(
                f"The baseline could not be measured ({baseline!r}: no customer with a known rate); "
                f"{PLACEHOLDER_BASELINE:.0%} is a placeholder: enter your own."
            )
            baseline = PLACEHOLDER_BASELINE
        if not segment_size or segment_size < 0:
            notes.append(
                "The segment is empty (no customer may receive a marketing message now): enter the "
                "segment size you plan for, or send later when customers are eligible again."
            )
            segment_size = 0
        self.metric = W.Dropdown(
            options=[(v, k) for k, v in METRIC_LABELS.items()],
            value=metric,
            description="Metric",
            style=style,
            layout=wide,
        )
        self.baseline = W.BoundedFloatText(
            value=round(baseline * 100, 3),
            min=0.001,
            max=99.999,
            step=0.1,
            description="Baseline rate (%)",
            style=style,
            layout=wide,
        )
        self.mde = W.BoundedFloatText(
            value=10.0, min=0.001, max=1_000, step=1, description="Smallest effect", style=style, layout=wide
        )
        self.mde_kind = W.ToggleButtons(
            options=[("% relative", "relative"), ("points absolute", "absolute")],
            value="relative",
            style={"button_width": "120px"},
        )
        self.alpha = W.Dropdown(
            options=[("1 %", 0.01), ("5 %", 0.05), ("10 %", 0.10)],
            value=0.05,
            description="Significance α",
            style=style,
            layout=wide,
        )
        self.power = W.Dropdown(
            options=[("80 %", 0.8), ("90 %", 0.9), ("95 %", 0.95)],
            value=0.8,
            description="Power",
            style=style,
            layout=wide,
        )
        self.arms = W.BoundedIntText(
            value=2, min=2, max=6, description="Arms (incl. control)", style=style, layout=wide
        )
        self.allocation = W.Text(
            value="", placeholder="equal, or e.g. 50/25/25", description="Allocation", style=style, layout=wide
        )
        self.holdout = W.BoundedFloatText(
            value=0.0, min=0.0, max=50.0, step=1, description="Holdout (%)", style=style, layout=wide
        )
        self.segment_size = W.BoundedIntText(
            value=segment_size, min=0, max=10**9, description="Segment size", style=style, layout=wide
        )
        self.tier = W.Dropdown(
            options=list(TIER_LIMITS), value="TIER_10K", description="Messaging tier", style=style, layout=wide
        )
        self.pace = W.BoundedFloatText(
            value=30.0, min=0.1, max=100_000, description="Pace (msg/min)", style=style, layout=wide
        )
        self.sending_hours = W.BoundedIntText(
            value=12, min=1, max=24, description="Sending hours/day", style=style, layout=wide
        )
        self.cuped_rho = W.BoundedFloatText(
            value=0.0,
            min=0.0,
            max=0.95,
            step=0.05,
            description="CUPED ρ (pre-period)",
            style=style,
            layout=wide,
            tooltip="correlation of the outcome with the customers' pre-period purchases or reads; 0 = no CUPED",
        )
        self.summary = W.HTML()
        self.error = StatusLine()
        self.note = StatusLine(" ".join(notes), "warn")
        self.chart = W.Image(format="png", layout=W.Layout(width="100%", max_width="560px"))
        self.chart.add_class("wamkt-card")
        self.plan: TestPlan | None = None
        self.exports = ExportBar(tables={"ab-plan": self._plan_table}, figures={"ab-power-curve": self._figure})

        for name, widget in (
            ("metric", self.metric),
            ("baseline", self.baseline),
            ("mde", self.mde),
            ("mde-kind", self.mde_kind),
            ("alpha", self.alpha),
            ("power", self.power),
            ("arms", self.arms),
            ("allocation", self.allocation),
            ("holdout", self.holdout),
            ("segment-size", self.segment_size),
            ("tier", self.tier),
            ("pace", self.pace),
            ("sending-hours", self.sending_hours),
            ("cuped-rho", self.cuped_rho),
            ("summary", self.summary),
            ("note", self.note),
            ("error", self.error),
            ("power-curve", self.chart),
        ):
            widget.add_class(f"wamkt-ab-{name}")
            if widget not in (self.summary, self.error, self.chart, self.note):
                widget.observe(self._changed, names="value")
        inputs = W.VBox(
            [
                self.metric,
                self.baseline,
                W.HBox([self.mde, self.mde_kind]),
                self.alpha,
                self.power,
                self.arms,
                self.allocation,
                self.holdout,
                self.segment_size,
                self.tier,
                self.pace,
                self.sending_hours,
                self.cuped_rho,
            ],
            layout=W.Layout(flex="0 0 auto", min_width="350px"),
        )
        inputs.add_class("wamkt-controls")
        results = W.VBox(
            [self.error, self.summary, self.chart, self.exports], layout=W.Layout(flex="1 1 400px", min_width="0")
        )
        super().__init__([self.note, W.HBox([inputs, results], layout=W.Layout(flex_flow="row wrap"))])
        self.add_class("wamkt-ab-planner")
        themed(self)
        self.update()

    def _changed(self, _change: dict) -> None:
        self.update()

    @guarded(lambda self: self.error, "Planning the test")
    def update(self) -> None:
        """Recompute the plan; a bad input shows its message and keeps the last chart."""
        try:
            plan = plan_test(
                self.baseline.value / 100,
                self.mde.value / 100,
                self.segment_size.value,
                relative=self.mde_kind.value == "relative",
                alpha=self.alpha.value,
                power=self.power.value,
                arms=self.arms.value,
                allocation=parse_allocation(self.allocation.value, self.arms.value),
                holdout=self.holdout.value / 100,
                metric=self.metric.value,
                tier=self.tier.value,
                pace_per_minute=self.pace.value,
                sending_hours=self.sending_hours.value,
                cuped_rho=self.cuped_rho.value,
            )
        except AbTestError as exc:
            stale = " The plan below is for the last valid inputs." if self.plan is not None else ""
            self.error.show(f"{exc}.{stale}", "error")
            return
        self.plan = plan
        if plan.duration.feasible:
            self.error.show("")
        else:
            self.error.show(
                f"The segment is too small for this test: it needs {plan.sample.total:,} customers, "
                f"the segment has {self.segment_size.value:,}. Next: accept a larger smallest effect, "
                "fewer arms, lower power, or a larger segment.",
                "warn",
            )
        self.summary.value = _summary_html(plan)
        self.chart.value = figure_bytes(power_curve_figure(plan.sample))

    def _plan_table(self) -> pd.DataFrame | None:
        if self.plan is None:
            return None
        sample = self.plan.sample
        return pd.DataFrame(
            {
                "arm": list(sample.per_arm),
                "users": list(sample.per_arm.values()),
                "share": [sample.shares[a] for a in sample.per_arm],
            }
        )

    def _figure(self) -> Figure | None:
        return None if self.plan is None else power_curve_figure(self.plan.sample)


def _summary_html(plan: TestPlan) -> str:
    sample, duration = plan.sample, plan.duration
    cuped = sample.cuped_rho > 0
    rows = "".join(
        f"<tr><td>{html.escape(arm)}{' (control)' if arm == sample.control else ''}</td>"
        f"<td style='text-align:right'>{n:,}</td>"
        + (f"<td style='text-align:right'>{sample.per_arm_cuped[arm]:,}</td>" if cuped else "")
        + f"<td style='text-align:right'>{sample.shares[arm]:.0%}</td></tr>"
        for arm, n in sample.per_arm.items()
    )
    state = (
        "<span class='wamkt-good'>fits the segment</span>"
        if duration.feasible
        else "<span class='wamkt-bad'>segment too small</span>"
    )
    return (
        f"<div><b>{sample.total:,} customers</b> in the test: {state}</div>"
        f"<table><tr><th>arm</th><th>users</th>{'<th>with CUPED</th>' if cuped else ''}<th>share</th></tr>"
        f"{rows}</table>"
        f"<p>{html.escape(plan.describe())}</p>"
        f"<p><b>Duration:</b> about {duration.total_days:g} days "
        f"({duration.send_days} sending + {duration.observation_days:g} observing).</p>"
    )
