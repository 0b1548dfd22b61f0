"""Message preview: pick a segment, write session text or pick a template (with an A/B variant), and
see what sample recipients get as WhatsApp-like bubbles, per-message warnings, copy advice and the
length distribution over the whole segment.

A thin shell over ``wamkt_nb.messages``; ``.spec`` (one :class:`MessageSpec` or ``{arm: spec}``)
and ``.audience`` are what the dry-run view reads. The chat bubbles are a light card with their
own dark text (readable in JupyterLab's dark theme too); template variables offer the readable
customer columns by label.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from typing import Any

import ipywidgets as W
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..analytics.export import figure_bytes
from ..data.privacy import mask_phones
from ..messages import MessageSpec, Param, Template, first_names, personalise
from ..messages.charts import length_figure
from ..messages.findings import Finding
from ..messages.lint import lint_message, message_warnings
from ..segments import PRESETS, Node, add_engagement, evaluate, list_segments
from ..store import Store
from .bubbles import interactive_html
from .export_bar import ExportBar
from .feedback import StatusLine, guarded
from .segment_builder import field_label
from .theme import themed, wrap

CATEGORIES = ("marketing", "utility", "authentication", "service")
PARAM_COLUMNS = (
    "first_name",
    "last_name",
    "name",
    "city",
    "country",
    "language",
    "purchase_frequency",
    "order_value_band",
    "interaction_recency",
    "rfm_score",
)
"""Columns offered for a template variable: text a customer may read (no phone, e-mail or ids)."""


class MessagePreview(W.VBox):
    """The compose-and-preview view over ``audience`` (features or customers, one row each).

    ``segment``: a segment rule, a boolean mask over the audience, a list of customer ids, or None
    (everyone); the segment picker also offers the presets and, with a ``store``, the saved segments.
    ``templates``: templates to choose from (e.g. ``TemplateRegistry.approved()``); the languages of
    one template name become its per-language variants. ``interactive``: what a template's
    interactive parts take in the spec (``button_payloads``, ``coupon_code``, ``offer_expires_at``,
    ``card_media``, see :class:`MessageSpec`), shown in the bubbles and passed on to the dry run.
    """

    def __init__(
        self,
        audience: pd.DataFrame,
        segment: Node | np.ndarray | Sequence[str] | None = None,
        *,
        now: Any = None,
        templates: Sequence[Template] = (),
        text: str = "",
        variant_b: str = "",
        sample_size: int = 4,
        seed: int = 0,
        store: Store | None = None,
        interactive: Mapping[str, Any] | None = None,
    ) -> None:
        self.full = audience.reset_index(drop=True)
        self.interactive = dict(interactive or {})
        self.now = now
        self.templates: dict[str, dict[str, Template]] = {}
        for t in templates:
            self.templates.setdefault(t.name, {})[t.language.split("_")[0].lower()] = t
        self.sample_size = sample_size
        self.seed = seed
        self.audience = self.full
        self.spec: MessageSpec | dict[str, MessageSpec] | None = None
        self.rendered: dict[str, pd.Series] = {}
        self.findings: dict[str, list[Finding]] = {}

        self.kind = W.ToggleButtons(options=[("Session text", "text"), ("Template", "template")], value="text")
        self.kind.add_class("wamkt-preview-kind")
        self.category = W.Dropdown(options=CATEGORIES, value="marketing", description="Category")
        self.category.add_class("wamkt-preview-category")
        self.text_a = W.Textarea(
            value=text or "{{first_name}}, 10 % Rabatt? Sag JA",
            description="Text A",
            layout=W.Layout(width="520px", height="60px"),
        )
        self.text_a.add_class("wamkt-preview-text")
        self.ab = W.Checkbox(value=bool(variant_b), description="A/B variant")
        self.ab.add_class("wamkt-preview-ab")
        self.text_b = W.Textarea(value=variant_b, description="Text B", layout=W.Layout(width="520px", height="60px"))
        self.text_b.add_class("wamkt-preview-text-b")
        names = [(f"{n} ({', '.join(sorted(v))})", n) for n, v in self.templates.items()] or [("", "")]
        self.template = W.Dropdown(options=names, description="Template")
        self.template.add_class("wamkt-preview-template")
        self.template_b = W.Dropdown(options=names, description="Template B")
        self.params_box = W.VBox()
        self.max_length = W.BoundedIntText(
            value=0,
            min=0,
            max=4096,
            description="Max length",
            tooltip="0 = no limit; longer texts are cut after a whole word",
        )
        self.max_length.add_class("wamkt-preview-maxlen")
        self.status = StatusLine()
        self.status.add_class("wamkt-preview-status")
        self.bubbles = W.HTML()
        self.bubbles.add_class("wamkt-preview-bubbles")
        self.lint = W.HTML()
        self.lint.add_class("wamkt-preview-lint")
        self.chart = W.Image(format="png", layout=W.Layout(max_width="620px", width="100%"))
        self.chart.add_class("wamkt-preview-lengths")
        self.chart.add_class("wamkt-card")
        self.error = StatusLine()
        self.error.add_class("wamkt-preview-error")
        self.editor = W.VBox()
        self.segments: dict[str, Node | np.ndarray | Sequence[str] | None] = {"Everyone": None}
        if segment is not None:
            self.segments = {"Given segment": segment, **self.segments}
        self.segments.update({p.label: p.rule for p in PRESETS.values()})
        self.store = store  # a saved retargeting segment reads what customers did from its ledger
        if store is not None:
            self.segments.update({f"saved: {s.name}": s.rule for s in list_segments(store)})
        self.segment = W.Dropdown(options=list(self.segments), description="Segment")
        self.segment.add_class("wamkt-preview-segment")
        self.segment.observe(lambda change: self.set_segment(self.segments[change["new"]]), names="value")
        self.exports = ExportBar(
            tables={"message-sample": self._sample_table}, figures={"message-lengths": self._length_figure}
        )
        super().__init__(
            [
                self.segment,
                wrap(self.kind, self.category),
                self.editor,
                self.max_length,
                self.error,
                self.status,
                wrap(self.bubbles, self.lint),
                self.chart,
                self.exports,
            ]
        )
        self.add_class("wamkt-preview")
        themed(self)
        self._param_controls: dict[str, W.Dropdown] = {}
        for w in (
            self.kind,
            self.category,
            self.text_a,
            self.text_b,
            self.ab,
            self.template,
            self.template_b,
            self.max_length,
        ):
            w.observe(self._changed, names="value")
        self.set_segment(segment)

    # -- inputs ------------------------------------------------------------------------------------

    def set_segment(self, segment: Node | np.ndarray | Sequence[str] | None) -> None:
        """Preview for another segment (rule, boolean mask, customer ids or None for everyone)."""
        try:
            mask = self._mask(segment)
        except Exception as exc:  # a bad rule is shown, not raised into the notebook
            self._show_error(f"segment: {exc}")
            return
        self.audience = self.full[mask].reset_index(drop=True)
        self.refresh()

    def _mask(self, segment: Node | np.ndarray | Sequence[str] | None) -> np.ndarray:
        if segment is None:
            return np.ones(len(self.full), dtype=bool)
        if isinstance(segment, np.ndarray) and segment.dtype == bool:
            if len(segment) != len(self.full):
                raise ValueError(f"mask has {len(segment)} entries for {len(self.full)} customers")
            return segment
        if isinstance(segment, (list, tuple, np.ndarray, pd.Series, pd.Index)):
            return self.full["customer_id"].astype(str).isin(set(map(str, segment))).to_numpy()
        frame = self.full if self.store is None else add_engagement(self.store, self.full, segment)
        return evaluate(segment, frame, self.now).mask

    def _changed(self, change: dict) -> None:
        self.refresh()

    # -- the view ----------------------------------------------------------------------------------

    @guarded(lambda self: self.error, "Updating the preview")
    def refresh(self) -> None:
        """Rebuild the spec from the controls and re-render everything."""
        self._layout_editor()
        self.error.show("")
        try:
            spec = self._build_spec()
            arms = spec if isinstance(spec, dict) else {"": spec}
            personalised = {arm: personalise(self.audience, s) for arm, s in arms.items()}
        except (KeyError, ValueError) as exc:
            self.spec = None
            self._show_error(exc.args[0] if exc.args else str(exc))
            return
        self.spec = spec
        self.rendered = {arm: p.body for arm, p in personalised.items()}
        self.findings = {}
        for arm, spec in arms.items():
            for lang, found in lint_message(spec, personalised[arm].body).items():
                self.findings[f"{arm} {lang}".strip()] = found
        self.status.show(f"{len(self.audience):,} recipients in the segment (of {len(self.full):,}).")
        self.bubbles.value = self._bubbles(arms, personalised)
        self.lint.value = _findings_html(self.findings)
        fig = self._length_figure()
        if fig is not None:
            self.chart.value = figure_bytes(fig)

    def _length_figure(self) -> Figure | None:
        if not self.rendered:
            return None
        limit = self.max_length.value or None
        return length_figure({arm or "message": body.str.len() for arm, body in self.rendered.items()}, limit)

    def _sample_table(self) -> pd.DataFrame | None:
        """Every recipient's personalised text (phones masked by the export unless asked)."""
        if not self.rendered:
            return None
        out = (
            self.audience[["customer_id", "phone"]].copy()
            if "phone" in self.audience
            else self.audience[["customer_id"]].copy()
        )
        for arm, body in self.rendered.items():
            out[f"text {arm}".strip()] = body.to_numpy()
        return out

    def _layout_editor(self) -> None:
        if self.kind.value == "text":
            rows: list[W.Widget] = [self.text_a, self.ab]
            if self.ab.value:
                rows.append(self.text_b)
        else:
            rows = [self.template, self.ab]
            if self.ab.value:
                rows.append(self.template_b)
            rows.append(self.params_box)
        if list(self.editor.children) != rows:
            self.editor.children = rows

    def _build_spec(self) -> MessageSpec | dict[str, MessageSpec]:
        max_length = self.max_length.value or None
        if self.kind.value == "text":
            texts = [self.text_a.value] + ([self.text_b.value] if self.ab.value else [])
            if not all(t.strip() for t in texts):
                raise ValueError("write the message text first")
            specs = [MessageSpec(category=self.category.value, text=t, max_length=max_length) for t in texts]
        else:
            chosen = [self.template.value] + ([self.template_b.value] if self.ab.value else [])
            if not self.templates or not all(chosen):
                raise ValueError("no template to choose from: sync or draft one first")
            picked = [self.templates[c] for c in chosen]
            self._param_editors([t for group in picked for t in group.values()])
            params = {v: Param(dd.value) for v, dd in self._param_controls.items()}
            category = next(iter(picked[0].values())).category.lower()  # the template decides
            if self.category.value != category:
                self.category.value = category  # refreshes again with the right category
            specs = [
                MessageSpec(
                    category=category,
                    template=group,
                    default_language="de" if "de" in group else next(iter(group)),
                    params={v: p for v, p in params.items() if any(v in _vars(t) for t in group.values())},
                    **self.interactive,
                )
                for group in picked
            ]
        return specs[0] if len(specs) == 1 else {"A": specs[0], "B": specs[1]}

    def _param_editors(self, templates: Sequence[Template]) -> None:
        names = list(dict.fromkeys(v for t in templates for v in _vars(t)))
        columns = [c for c in PARAM_COLUMNS if c in self.full.columns or c == "first_name"]
        columns += [n for n in names if n in self.full.columns and n not in columns]  # a variable named after a column
        if list(self._param_controls) != names:
            self._param_controls = {}
            for i, name in enumerate(names):
                default = name if name in columns else ("first_name" if i == 0 else columns[min(i, len(columns) - 1)])
                dd = W.Dropdown(
                    options=[(field_label(c), c) for c in columns], value=default, description=f"{{{{{name}}}}}"
                )
                dd.add_class("wamkt-preview-param")
                dd.observe(self._changed, names="value")
                self._param_controls[name] = dd
            self.params_box.children = list(self._param_controls.values())

    def _bubbles(self, arms: Mapping[str, MessageSpec], personalised: Mapping[str, Any]) -> str:
        n = len(self.audience)
        if n == 0:
            return "<div class='wamkt-chat'><i>no recipients in this segment</i></div>"
        rng = np.random.default_rng(self.seed)
        rows = np.sort(rng.choice(n, size=min(self.sample_size, n), replace=False))
        phones = mask_phones(self.audience["phone"].iloc[rows].astype("string")).tolist()
        fallback = first_names(self.audience.iloc[rows]).isna()
        parts = []
        for arm, spec in arms.items():
            p = personalised[arm]
            body = p.body.iloc[rows]
            limit = 1024 if spec.kind == "template" else 4096
            warnings = message_warnings(
                body, category=spec.category, limit=limit, truncated=p.truncated.iloc[rows], fallback=fallback
            )
            buttons = interactive_html(_template(spec), spec, self.now)
            if arm:
                parts.append(f"<div class='wamkt-arm'>Variant {html.escape(arm)}</div>")
            parts.append("<div class='wamkt-chat'>")
            for phone, text, warn in zip(phones, body, warnings, strict=True):
                parts.append(
                    f"<div class='wamkt-bubble'><div class='who'>to {html.escape(phone)}</div>"
                    f"{html.escape(str(text))}{buttons}"
                    + (f"<div class='warn'>⚠ {html.escape(warn)}</div>" if warn else "")
                    + "</div>"
                )
            parts.append("</div>")
        return "".join(parts)

    def _show_error(self, message: str) -> None:
        message = _KNOWN_COLUMNS.sub(
            "; write one of "
            + ", ".join(f"{{{{{c}}}}} ({field_label(c)})" for c in PARAM_COLUMNS if c in self.full.columns),
            str(message),
        )
        self.error.show(message, "error")
        self.bubbles.value = ""


_KNOWN_COLUMNS = re.compile(r"; known( columns)?:? .*$", re.S)
"""The core's list of every column after an unknown variable: the preview names the readable ones."""


def _vars(t: Template) -> list[str]:
    return list(dict.fromkeys(t.header_variables + t.body_variables))


def _template(spec: MessageSpec) -> Template | None:
    return next(iter(spec.template.values())) if spec.template else None


def _findings_html(findings: Mapping[str, list[Finding]]) -> str:
    items = []
    for where, found in findings.items():
        for f in found:
            label = f"{html.escape(where)}: " if where else ""
            items.append(
                f"<li class='wamkt-finding-{html.escape(f.severity)}'><b>{label}{html.escape(f.code)}</b>: "
                f"{html.escape(f.message)}</li>"
            )
    if not items:
        return "<div><b>Copy check</b>: no advice, looks good.</div>"
    return "<div><b>Copy check</b><ul style='margin:2px 0 0 16px;padding:0'>" + "".join(items) + "</ul></div>"
