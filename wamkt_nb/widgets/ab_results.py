"""The A/B results view: pick an experiment, see per-arm rates, intervals and the verdict.

Aggregates only (no customer rows, so no phone numbers); a thin shell over
``wamkt_nb.abtest.evaluate_campaign``. ``.evaluation`` holds the last result. The verdict's kind
shows as a coloured border and words (text stays in the theme's font colour, readable in light
and dark); the per-arm table and the chart can be exported.
"""

from __future__ import annotations

import html

import ipywidgets as W
import pandas as pd
from matplotlib.figure import Figure

from ..abtest import (
    METRICS,
    AbTestError,
    Evaluation,
    evaluate_campaign,
    experiment_spec,
    experiments,
)
from ..abtest.charts import intervals_figure
from ..analytics.export import figure_bytes
from ..settings import reporting_rates
from ..store import Store
from .export_bar import ExportBar
from .feedback import StatusLine, guarded
from .theme import themed, wrap

VERDICT_LEVELS = {
    "winner": "ok",
    "no difference": "info",
    "not enough data yet": "warn",
    "underpowered": "warn",
    "sample ratio mismatch": "error",
    "guardrail harmed": "error",
}
"""How each verdict kind is marked (the status line's border colour and icon)."""


class AbResults(W.VBox):
    """Experiment picker and options on top; verdict, SRM note, per-arm table and chart below."""

    def __init__(self, store: Store) -> None:
        self.store = store
        style = {"description_width": "110px"}
        self.experiment = W.Dropdown(description="Experiment", style=style, layout=W.Layout(width="520px"))
        self.metric = W.Dropdown(options=list(METRICS), value="conversion", description="Metric", style=style)
        self.attribution = W.BoundedIntText(
            value=168,
            min=1,
            max=24 * 90,
            description="Window (h)",
            style=style,
            tooltip="conversions counted this many hours after the message",
        )
        self.sequential = W.Checkbox(value=False, description="Always-valid intervals (peeking)", indent=False)
        self.refresh = W.Button(description="Refresh", icon="refresh")
        self.verdict = W.HTML()
        self.srm = W.HTML()
        self.table = W.HTML()
        self.chart = W.Image(format="png", layout=W.Layout(width="100%", max_width="600px"))
        self.chart.add_class("wamkt-card")
        self.status = StatusLine()
        self.evaluation: Evaluation | None = None
        self.exports = ExportBar(tables={"ab-results": self._table}, figures={"ab-intervals": self._figure})
        self._quiet = False
        for name, widget in (
            ("experiment", self.experiment),
            ("metric", self.metric),
            ("attribution", self.attribution),
            ("sequential", self.sequential),
            ("refresh", self.refresh),
            ("verdict", self.verdict),
            ("srm", self.srm),
            ("table", self.table),
            ("chart", self.chart),
        ):
            widget.add_class(f"wamkt-ab-{name}")
        self.load_experiments()
        for widget in (self.experiment, self.metric, self.attribution, self.sequential):
            widget.observe(self._changed, names="value")
        self.refresh.on_click(self._refresh)
        super().__init__(
            [
                wrap(self.experiment, self.refresh),
                wrap(self.metric, self.attribution, self.sequential),
                self.status,
                self.verdict,
                self.srm,
                self.table,
                self.chart,
                self.exports,
            ]
        )
        self.add_class("wamkt-ab-results")
        themed(self)
        self.update()

    def load_experiments(self) -> None:
        """Fill the picker from the store's campaigns that carry an experiment key (newest first);
        the current choice stays selected while it exists."""
        frame = experiments(self.store)
        current = self.experiment.value
        self._quiet = True
        try:
            self.experiment.options = [
                (
                    f"{r.name} · {r.experiment_key} · {r.created_at:%Y-%m-%d} ({r.recipients:,} recipients)",
                    r.campaign_id,
                )
                for r in frame.itertuples()
            ]
            if len(frame):
                keep = current in set(frame["campaign_id"])
                self.experiment.value = current if keep else frame["campaign_id"].iloc[0]
                if not keep:
                    self._metric_from_spec()
        finally:
            self._quiet = False

    def _metric_from_spec(self) -> None:
        metric = experiment_spec(self.store, self.experiment.value).get("metric")
        if metric in METRICS:
            self.metric.value = metric

    @guarded(lambda self: self.status, "Refresh")
    def _refresh(self, _button: W.Button) -> None:
        self.load_experiments()
        self.update()

    def _changed(self, change: dict) -> None:
        if self._quiet:
            return
        if change["owner"] is self.experiment and change["new"]:
            self._quiet = True
            try:
                self._metric_from_spec()
            finally:
                self._quiet = False
        self.update()

    @guarded(lambda self: self.status, "Evaluating the experiment")
    def update(self) -> None:
        """Re-read the ledger and re-evaluate; problems show as a message, never a traceback."""
        self.status.show("")
        if not self.experiment.value:
            self._message("No experiments yet: a campaign with an experiment key appears here once planned.")
            return
        try:
            counts, evaluation = evaluate_campaign(
                self.store,
                self.experiment.value,
                self.metric.value,
                attribution_hours=self.attribution.value,
                sequential=self.sequential.value,
            )
        except AbTestError as exc:
            self._message(str(exc))
            return
        self.evaluation = evaluation
        verdict = evaluation.verdict
        level = VERDICT_LEVELS[verdict.kind]
        self.verdict.value = (
            f"<div class='wamkt-status'><div class='wamkt-status-{level}' role='status'>"
            f"<b style='font-size:1.2em'>{html.escape(verdict.headline)}</b><br>"
            f"{html.escape(verdict.reason)}</div></div>"
        )
        self.srm.value = f"<small>{html.escape(evaluation.srm.describe())}</small>"
        self.table.value = (
            results_table_html(evaluation, counts, reporting_rates().currency)
            + cuped_table_html(evaluation)
            + guardrails_table_html(evaluation)
        )
        self.chart.value = figure_bytes(intervals_figure(evaluation, self.metric.value))

    def _table(self) -> pd.DataFrame | None:
        return None if self.evaluation is None else self.evaluation.table

    def _figure(self) -> Figure | None:
        return None if self.evaluation is None else intervals_figure(self.evaluation, self.metric.value)

    def _message(self, text: str) -> None:
        self.evaluation = None
        self.verdict.value = f"<div style='padding:6px 10px'><i>{html.escape(text)}</i></div>"
        self.srm.value = self.table.value = ""
        self.chart.value = b""


def results_table_html(evaluation: Evaluation, counts: pd.DataFrame, currency: str) -> str:
    """Per-arm rows: users, successes, rate with interval, lift with interval, p (Holm), P(beat control),
    attributed revenue in ``currency``."""
    revenue = counts.set_index("arm")["revenue"] if "revenue" in counts else pd.Series(dtype=float)

    def pct(x: float, signed: bool = False) -> str:
        return "–" if pd.isna(x) else (f"{x:+.1%}" if signed else f"{x:.2%}")

    rows = []
    for r in evaluation.table.itertuples():
        control = r.arm == evaluation.control
        rows.append(
            "<tr>"
            f"<td>{html.escape(r.arm)}{' (control)' if control else ''}</td>"
            f"<td>{r.users:,}</td><td>{r.successes:,}</td>"
            f"<td>{pct(r.rate)} <small>[{pct(r.rate_low)}, {pct(r.rate_high)}]</small></td>"
            f"<td>{'' if control else pct(r.lift, True)} "
            f"<small>{'' if control else f'[{pct(r.lift_low, True)}, {pct(r.lift_high, True)}]'}</small></td>"
            f"<td>{'' if pd.isna(r.p_adjusted) else f'{r.p_adjusted:.3g}'}</td>"
            f"<td>{'' if control else pct(r.chance_to_beat_control)}</td>"
            f"<td>{revenue.get(r.arm, 0.0):,.2f}</td>"
            "</tr>"
        )
    head = (
        "<tr><th>arm</th><th>users</th><th>successes</th><th>rate [CI]</th><th>lift [CI]</th>"
        "<th>p (Holm)</th><th>P(beats control)</th>"
        f"<th>revenue ({html.escape(currency)})</th></tr>"
    )
    return f"<table class='wamkt-ab-arms'>{head}{''.join(rows)}</table>"


HARMED = "<span class='wamkt-bad'>harmed</span>"


def _pp(x: float) -> str:
    return "–" if pd.isna(x) else f"{x * 100:+.2f} pp"


def cuped_table_html(evaluation: Evaluation) -> str:
    """Plain and CUPED (pre-period covariate) difference per treatment, with intervals and Holm p."""
    if evaluation.cuped is None:
        return ""
    rows = "".join(
        f"<tr><td>{html.escape(r.arm)}</td>"
        f"<td>{_pp(r.diff)} <small>[{_pp(r.diff_low)}, {_pp(r.diff_high)}]</small></td>"
        f"<td>{r.p_adjusted:.3g}</td>"
        f"<td>{_pp(r.cuped_diff)} <small>[{_pp(r.cuped_low)}, {_pp(r.cuped_high)}]</small></td>"
        f"<td>{r.cuped_p_adjusted:.3g}</td><td>{r.variance_reduction:.0%}</td></tr>"
        for r in evaluation.cuped.dropna(subset=["cuped_diff"]).itertuples()
    )
    return (
        "<p><b>Plain vs CUPED</b> <small>(adjusted for the same customers' pre-period behaviour)</small></p>"
        "<table class='wamkt-ab-cuped'><tr><th>arm</th><th>plain diff [CI]</th><th>p (Holm)</th>"
        f"<th>CUPED diff [CI]</th><th>p (Holm)</th><th>variance saved</th></tr>{rows}</table>"
    )


def guardrails_table_html(evaluation: Evaluation) -> str:
    """Opt-out and block rates per treatment against control; harmed ones marked."""
    if evaluation.guardrails is None or evaluation.guardrails.empty:
        return ""
    rows = "".join(
        f"<tr><td>{html.escape(r.guardrail.replace('_', '-'))}</td><td>{html.escape(r.arm)}</td>"
        f"<td>{r.rate:.2%} vs {r.control_rate:.2%}</td><td>{_pp(r.diff)}</td><td>{r.p_one_sided:.3g}</td>"
        f"<td>{HARMED if r.harmed else 'ok'}</td></tr>"
        for r in evaluation.guardrails.itertuples()
    )
    return (
        "<p><b>Guardrails</b></p><table class='wamkt-ab-guardrails'><tr><th>guardrail</th><th>arm</th>"
        f"<th>rate vs control</th><th>diff</th><th>p (one-sided)</th><th></th></tr>{rows}</table>"
    )
