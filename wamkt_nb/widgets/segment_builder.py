"""The visual segment builder: nested condition groups, a live count and the saved segments.

A thin ipywidgets shell over ``wamkt_nb.segments``: every change rebuilds the rule, evaluates it
on the prepared features frame and updates count, share, the excluded-inactive note, a masked
sample and a composition chart. ``.rule``, ``.result``, ``.mask`` and ``.customer_ids`` are what
the next steps (compose, dry-run) read; the ``rule_json`` and ``count`` traits can be observed.

Fields show their labels (personal columns such as phone or e-mail are not offered); switching
the operator keeps a value that still fits; an unfinished condition says what it needs and the
count waits for it; the preset picker clears once the rule is edited; saving over an existing
name asks first.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import ipywidgets as W
import numpy as np
import pandas as pd
import traitlets
from matplotlib.figure import Figure

from ..analytics.export import figure_bytes
from ..ledger.engagement import engagement_facts
from ..segments import (
    KIND_OPS,
    PRESETS,
    And,
    Condition,
    Node,
    Not,
    Or,
    SegmentResult,
    SegmentRuleError,
    check_rule,
    compare_segments,
    delete_segment,
    evaluate,
    evaluate_saved,
    load_segment,
    overlap_counts,
    save_segment,
    segment_frame,
    segment_query,
)
from ..segments.describe import FIELD_LABELS, TAG_LABELS, describe
from ..segments.engagement import (
    ANY_CAMPAIGN,
    COLUMN_PREFIX,
    FIELD_PREFIX,
    STATES,
    engagement_fields,
    with_engagement,
)
from ..segments.frame import SegmentFrame
from ..segments.preview import composition_figure, sample_members
from ..segments.rules import to_json
from ..store import Store
from .export_bar import ExportBar
from .feedback import StatusLine, guarded
from .theme import themed, wrap

PREFERRED_FIELDS = (
    "tags",
    "purchase_frequency",
    "order_value_band",
    "interaction_recency",
    "order_count",
    "avg_order_value",
    "total_spend",
    "last_interaction_at",
    "last_order_at",
    "read_rate",
    "reply_rate",
    "country",
    "city",
    "language",
    "opted_in",
)
PERSONAL_FIELDS = frozenset({"phone", "email", "first_name", "last_name", "name"})
"""Columns that identify a person: never offered as segment fields (a segment is not a look-up)."""
# The operator a field starts with: the control that fits the column best.
DEFAULT_OPS = {
    "tags": "has_any",
    "category": "in",
    "datetime": "within_last",
    "number": ">=",
    "string": "contains",
    "bool": "=",
    "engagement": "read_no_reply",
}
ENGAGEMENT_WINDOWS = [("ever", None)] + [(f"within {d} day{'s' if d > 1 else ''}", d) for d in (1, 3, 7, 14, 30, 90)]
"""The "within N days" choices of a retargeting condition."""
OP_LABELS = {
    **STATES,
    "within_last": "within last",
    "more_than_ago": "more than ... ago",
    "is_set": "is set",
    "is_empty": "is empty",
    "not_in": "not in",
    "starts_with": "starts with",
    "ends_with": "ends with",
    "has_any": "has any of",
    "has_all": "has all of",
    "has_none": "has none of",
}


def field_label(field: str) -> str:
    if field.startswith(FIELD_PREFIX):  # a retargeting condition: what customers did with a campaign
        campaign = field[len(FIELD_PREFIX) :]
        return "any campaign" if campaign == ANY_CAMPAIGN else f"campaign {campaign}"
    return FIELD_LABELS.get(field, field.replace("_", " "))


def kind_ops(kind: str) -> tuple[str, ...]:
    """The operators a field of ``kind`` offers (the states, for a campaign)."""
    return tuple(STATES) if kind == "engagement" else KIND_OPS[kind]


def _shape(kind: str, op: str) -> str:
    """Which value control ``op`` takes on a ``kind`` column: a value carries over between equal shapes."""
    if op in ("is_set", "is_empty"):
        return "none"
    if kind in ("tags", "category") and op in ("in", "not_in", "has_any", "has_all", "has_none"):
        return "choices"
    if op == "between":
        return f"{kind}-range"
    if op in ("in", "not_in"):
        return "list"
    if kind == "datetime":
        return "days" if op in ("within_last", "more_than_ago") else "date"
    return f"{kind}-single"


_RULE_PATH = re.compile(r"^\S+ \(field '([^']*)', op '([^']*)', value .*?\): ", re.S)


def friendly_rule_error(message: str) -> str:
    """``rule.or[1] (field 'country', op 'contains', value ''): ...`` -> ``'country contains': ...``."""
    m = _RULE_PATH.match(message)
    if not m:
        return message
    return f"Condition '{field_label(m.group(1))} {OP_LABELS.get(m.group(2), m.group(2))}': {message[m.end() :]}"


class ConditionEditor(W.HBox):
    """One condition: a field, an operator fitting its kind, and a value control fitting both."""

    def __init__(self, builder: SegmentBuilder, cond: Condition | None = None) -> None:
        self.builder = builder
        self.field = W.Dropdown(options=[(field_label(f), f) for f in builder.fields], layout=W.Layout(width="210px"))
        self.op = W.Dropdown(layout=W.Layout(width="160px"))
        self.value_box = W.HBox(layout=W.Layout(flex_flow="row wrap"))
        self.remove = W.Button(icon="trash", tooltip="remove condition", layout=W.Layout(width="36px"))
        self.remove.add_class("wamkt-segment-remove")
        self._controls: list[W.Widget] = []
        super().__init__([self.field, self.op, self.value_box, self.remove], layout=W.Layout(flex_flow="row wrap"))
        self.add_class("wamkt-segment-condition")
        self.field.add_class("wamkt-segment-field")
        self.op.add_class("wamkt-segment-op")
        self.set_condition(cond or builder.default_condition())
        self.field.observe(self._on_field, names="value")
        self.op.observe(self._on_op, names="value")

    @property
    def kind(self) -> str:
        if self.field.value.startswith(FIELD_PREFIX):
            return "engagement"
        return self.builder.sf.schema.kinds[self.field.value]

    def set_condition(self, cond: Condition) -> None:
        with self.builder.quiet():
            self.field.value = cond.field
            self.op.options = [(OP_LABELS.get(o, o), o) for o in kind_ops(self.kind)]
            self.op.value = cond.op
            self._build_value(cond.value)

    def _on_field(self, change: dict) -> None:
        with self.builder.quiet():
            self.op.options = [(OP_LABELS.get(o, o), o) for o in kind_ops(self.kind)]
            self.op.value = DEFAULT_OPS[self.kind]
            self._build_value(None)
        self.builder.refresh()

    def _on_op(self, change: dict) -> None:
        """Keep the value when the new operator takes the same control ("orders >= 10" -> "< 10")."""
        if self.builder._quiet:  # a field change or a loaded rule builds the value itself
            return
        kept = None
        if change["old"] is not None and _shape(self.kind, change["old"]) == _shape(self.kind, change["new"]):
            kept = self._values()
        with self.builder.quiet():
            self._build_value(kept)
        self.builder.refresh()

    def _values(self) -> Any:
        """The current value in the form ``_build_value`` takes (one value, a tuple, or None)."""
        values = [c.value for c in self._controls if not isinstance(c, W.Label)]
        if not values:
            return None
        if len(values) > 1:
            return tuple(values)
        value = values[0]
        if isinstance(value, str) and "," in value:
            return tuple(p.strip() for p in value.split(",") if p.strip())
        return value

    def missing(self) -> str | None:
        """What this condition still needs before it can count anyone (None when complete)."""
        for c in self._controls:
            if isinstance(c, W.Text) and not c.value.strip():
                return "type a value"
            if isinstance(c, W.SelectMultiple) and not c.value:
                return "pick at least one value"
            if isinstance(c, W.DatePicker) and c.value is None:
                return "pick a date"
        return None

    @property
    def label(self) -> str:
        return f"{field_label(self.field.value)} {OP_LABELS.get(self.op.value, self.op.value)}"

    def _build_value(self, value: Any) -> None:
        """Controls that fit the kind and operator, pre-filled with ``value`` when given."""
        kind, op, column = self.kind, self.op.value, self.field.value
        sf = self.builder.sf
        controls: list[W.Widget]
        if op in ("is_set", "is_empty"):
            controls = []
        elif kind == "engagement":
            windows = [d for _, d in ENGAGEMENT_WINDOWS]
            controls = [
                W.Dropdown(
                    options=ENGAGEMENT_WINDOWS,
                    value=value if value in windows else None,
                    layout=W.Layout(width="140px"),
                )
            ]
        elif kind == "tags":
            tags = list(sf.schema.tags)
            chosen = [t for t in (value or tags[:1]) if t in tags]
            controls = [
                W.SelectMultiple(
                    options=[(TAG_LABELS.get(t, t), t) for t in tags],
                    value=chosen,
                    rows=min(6, len(tags)),
                    layout=W.Layout(width="260px"),
                )
            ]
        elif kind == "category":
            cats = list(sf.schema.categories[column])
            if op in ("in", "not_in"):
                chosen = [c for c in (value or cats[:1]) if c in cats]
                controls = [W.SelectMultiple(options=cats, value=chosen, rows=min(5, len(cats)))]
            else:
                controls = [W.Dropdown(options=cats, value=value if value in cats else cats[0])]
        elif kind == "bool":
            controls = [
                W.Dropdown(options=[("true", True), ("false", False)], value=bool(value) if value is not None else True)
            ]
        elif kind == "datetime" and op in ("within_last", "more_than_ago"):
            controls = [
                W.BoundedIntText(
                    value=int(value) if value is not None else 7, min=0, max=3650, layout=W.Layout(width="90px")
                ),
                W.Label("days"),
            ]
        elif kind == "datetime":
            given = list(value) if isinstance(value, tuple) else [value] if value else []
            dates = [pd.Timestamp(v).date() for v in given if v] + [None, None]
            controls = [W.DatePicker(value=d) for d in dates[: 2 if op == "between" else 1]]
        elif kind == "number" and op == "between":
            x = sf.numbers(column)
            finite = x[np.isfinite(x)]
            span = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 0.0)
            lo, hi = value if value else span
            controls = [
                W.FloatText(value=lo, layout=W.Layout(width="100px")),
                W.Label("to"),
                W.FloatText(value=hi, layout=W.Layout(width="100px")),
            ]
        elif kind == "number" and op not in ("in", "not_in"):
            controls = [W.FloatText(value=float(value) if value is not None else 0.0, layout=W.Layout(width="110px"))]
        else:  # strings, and lists of numbers or strings typed comma-separated
            text = ", ".join(str(v) for v in value) if isinstance(value, tuple) else (value or "")
            controls = [W.Text(value=text, placeholder="comma-separated" if op in ("in", "not_in") else "")]
        for c in controls:
            if not isinstance(c, W.Label):
                c.add_class("wamkt-segment-value")
                c.observe(lambda _change: self.builder.refresh(), names="value")
        self._controls = controls
        self.value_box.children = controls

    def to_condition(self) -> Condition:
        kind, op, column = self.kind, self.op.value, self.field.value
        values = [c.value for c in self._controls if not isinstance(c, W.Label)]
        if op in ("is_set", "is_empty"):
            return Condition(column, op)
        if kind == "engagement":
            return Condition(column, op, values[0])
        if kind in ("tags", "category") and op in ("in", "not_in", "has_any", "has_all", "has_none"):
            return Condition(column, op, list(values[0]))
        if kind == "datetime" and op not in ("within_last", "more_than_ago"):
            stamps = [_iso(v) for v in values]
            return Condition(column, op, stamps if op == "between" else stamps[0])
        if op == "between":
            return Condition(column, op, [float(values[0]), float(values[1])])
        if op in ("in", "not_in"):
            parts = [p.strip() for p in values[0].split(",") if p.strip()]
            return Condition(column, op, [_number(p) for p in parts] if kind == "number" else parts)
        return Condition(column, op, values[0])


def _iso(value: date | None) -> str | None:
    return None if value is None else pd.Timestamp(value).tz_localize("UTC").isoformat()


def _number(text: str) -> Any:
    try:
        return float(text)
    except ValueError:
        return text  # the type check names it


class GroupEditor(W.VBox):
    """AND/OR over conditions and nested groups, optionally negated."""

    def __init__(self, builder: SegmentBuilder, node: Node | None = None, root: bool = False) -> None:
        self.builder = builder
        self.logic = W.Dropdown(options=[("all of", "and"), ("any of", "or")], layout=W.Layout(width="90px"))
        self.negate = W.Checkbox(description="not", indent=False, layout=W.Layout(width="60px"))
        self.add_condition = W.Button(description="+ condition", layout=W.Layout(width="110px"))
        self.add_group = W.Button(description="+ group", layout=W.Layout(width="90px"))
        self.remove = W.Button(icon="trash", tooltip="remove group", layout=W.Layout(width="36px"))
        self.items = W.VBox(layout=W.Layout(margin="0 0 0 24px"))
        header = [self.negate, self.logic, W.Label("of the following"), self.add_condition, self.add_group]
        super().__init__([W.HBox(header + ([] if root else [self.remove])), self.items])
        self.add_class("wamkt-segment-group")
        self.add_condition.add_class("wamkt-segment-add-condition")
        self.add_group.add_class("wamkt-segment-add-group")
        self.remove.add_class("wamkt-segment-remove-group")
        self.layout.border = "1px solid #ddd"
        self.layout.padding = "4px"
        self.set_node(node if node is not None else And())
        self.logic.observe(lambda _c: builder.refresh(), names="value")
        self.negate.observe(lambda _c: builder.refresh(), names="value")
        self.add_condition.on_click(lambda _b: self.append(ConditionEditor(builder)))
        self.add_group.on_click(lambda _b: self.append(GroupEditor(builder, And(builder.default_condition()))))

    def set_node(self, node: Node) -> None:
        with self.builder.quiet():
            negate = isinstance(node, Not) and isinstance(node.child, (And, Or))
            inner = node.child if negate else node
            if not isinstance(inner, (And, Or)):
                inner = And(inner)
            self.negate.value = negate
            self.logic.value = "and" if isinstance(inner, And) else "or"
            self.items.children = []
            for child in inner.children:
                self._attach(
                    ConditionEditor(self.builder, child)
                    if isinstance(child, Condition)
                    else GroupEditor(self.builder, child)
                )

    def append(self, editor: W.Widget) -> None:
        self._attach(editor)
        self.builder.refresh()

    def _attach(self, editor: W.Widget) -> None:
        editor.remove.on_click(lambda _b: self._detach(editor))
        self.items.children = (*self.items.children, editor)

    def _detach(self, editor: W.Widget) -> None:
        self.items.children = tuple(c for c in self.items.children if c is not editor)
        self.builder.refresh()

    def to_rule(self) -> Node:
        children = [c.to_condition() if isinstance(c, ConditionEditor) else c.to_rule() for c in self.items.children]
        node: Node = And(*children) if self.logic.value == "and" else Or(*children)
        return Not(node) if self.negate.value else node


class SegmentBuilder(W.VBox):
    """Build a segment visually on a features frame; save, load and compare segments in a store."""

    rule_json = traitlets.Unicode("").tag(sync=False)
    count = traitlets.Int(0).tag(sync=False)

    def __init__(
        self,
        features: pd.DataFrame | SegmentFrame,
        now: Any,
        store: Store | None = None,
        rule: Node | None = None,
        include_inactive: bool = False,
        sample_size: int = 8,
    ) -> None:
        if store is not None and isinstance(features, pd.DataFrame):
            facts = engagement_facts(store)  # retargeting: what each customer did with each campaign
            if len(facts):
                features = with_engagement(features, facts)
        self.sf = segment_frame(features)
        self.now = now
        self.store = store
        self.sample_size = sample_size
        self.result: SegmentResult | None = None
        self._quiet = 0
        kinds = self.sf.schema.kinds
        usable = [
            c
            for c, k in kinds.items()
            if k in KIND_OPS and c != self.sf.id_column and c not in PERSONAL_FIELDS and not c.startswith(COLUMN_PREFIX)
        ]
        self.fields = [f for f in PREFERRED_FIELDS if f in usable] + sorted(
            set(usable) - set(PREFERRED_FIELDS), key=field_label
        )
        self.fields += engagement_fields(kinds)
        self._preset_json = ""

        self.preset = W.Dropdown(
            options=[("start from a preset...", "")] + [(p.label, k) for k, p in PRESETS.items()],
            layout=W.Layout(width="300px"),
        )
        self.preset.add_class("wamkt-segment-preset")
        self.root = GroupEditor(self, rule, root=True)
        self.count_label = W.HTML()
        self.count_label.add_class("wamkt-segment-count")
        self.inactive_label = W.HTML()
        self.inactive_label.add_class("wamkt-segment-inactive")
        self.include_inactive = W.Checkbox(
            value=include_inactive, description="include inactive 90 d customers", indent=False
        )
        self.include_inactive.add_class("wamkt-segment-include-inactive")
        self.description = W.HTML()
        self.description.add_class("wamkt-segment-description")
        self.error = StatusLine()
        self.error.add_class("wamkt-segment-error")
        self.sample = W.HTML()
        self.sample.add_class("wamkt-segment-sample")
        self.chart = W.Image(format="png", layout=W.Layout(max_width="960px"))
        self.sql = W.HTML()
        self.sql.add_class("wamkt-segment-sql")
        sql_box = W.Accordion([self.sql], titles=("SQL (DuckDB dialect, values as parameters)",), selected_index=None)
        self.chart.add_class("wamkt-segment-chart")

        self.save_name = W.Text(placeholder="segment name", continuous_update=True, layout=W.Layout(width="220px"))
        self.save_button = W.Button(description="Save", button_style="primary")
        self.overwrite_button = W.Button(description="Overwrite", button_style="warning")
        self.keep_button = W.Button(description="Keep the saved one")
        self.overwrite_box = W.HBox([self.overwrite_button, self.keep_button], layout=W.Layout(display="none"))
        self._pending_name = ""
        self.saved = W.Dropdown(options=[], layout=W.Layout(width="220px"))
        self.load_button = W.Button(description="Load")
        self.delete_button = W.Button(description="Delete")
        self.store_message = StatusLine()
        self.overlap = W.HTML()
        self.comparison = W.HTML()
        for w, cls in (
            (self.save_name, "wamkt-segment-name"),
            (self.save_button, "wamkt-segment-save"),
            (self.saved, "wamkt-segment-saved"),
            (self.load_button, "wamkt-segment-load"),
            (self.delete_button, "wamkt-segment-delete"),
            (self.overlap, "wamkt-segment-overlap"),
            (self.comparison, "wamkt-segment-comparison"),
            (self.store_message, "wamkt-segment-store-message"),
            (self.overwrite_button, "wamkt-segment-overwrite"),
            (self.keep_button, "wamkt-segment-keep"),
        ):
            w.add_class(cls)

        self.chart.add_class("wamkt-card")
        self.exports = ExportBar(
            tables={"segment-members": self._members}, figures={"segment-composition": self._figure}
        )
        children = [
            self.preset,
            self.root,
            self.error,
            self.count_label,
            wrap(self.inactive_label, self.include_inactive),
            self.description,
            self.chart,
            self.sample,
            sql_box,
            self.exports,
        ]
        if store is not None:
            children += [
                W.HTML("<b>Saved segments</b>"),
                wrap(self.save_name, self.save_button),
                self.overwrite_box,
                wrap(self.saved, self.load_button, self.delete_button),
                self.store_message,
                W.HTML("<i>Overlap (customers in both)</i>"),
                self.overlap,
                W.HTML("<i>Comparison</i>"),
                self.comparison,
            ]
        super().__init__(children)
        self.add_class("wamkt-segment-builder")
        themed(self)
        self.preset.observe(self._on_preset, names="value")
        self.include_inactive.observe(lambda _c: self.refresh(), names="value")
        self.save_button.on_click(lambda _b: self.save())
        self.overwrite_button.on_click(lambda _b: self.save(self._pending_name, overwrite=True))
        self.keep_button.on_click(lambda _b: self._ask_overwrite(""))
        self.load_button.on_click(lambda _b: self.load(self.saved.value))
        self.delete_button.on_click(lambda _b: self.delete(self.saved.value))
        self.refresh()
        if store is not None:
            self._refresh_saved()

    # --- what the next steps read -------------------------------------------------------------
    @property
    def rule(self) -> Node:
        return self.root.to_rule()

    @property
    def mask(self) -> np.ndarray | None:
        return None if self.result is None else self.result.mask

    @property
    def customer_ids(self) -> np.ndarray:
        return np.array([], dtype=object) if self.result is None else self.result.customer_ids

    # --- editing ------------------------------------------------------------------------------
    def default_condition(self) -> Condition:
        if "order_count" in self.fields:
            return Condition("order_count", ">=", 1)
        field = self.fields[0]
        return Condition(field, "is_set")

    def set_rule(self, rule: Node, include_inactive: bool | None = None) -> None:
        """Show ``rule`` in the editor (and optionally the inactive choice), then refresh once."""
        with self.quiet():
            self.root.set_node(rule)
            if include_inactive is not None:
                self.include_inactive.value = include_inactive
        self.refresh()

    @contextmanager
    def quiet(self) -> Iterator[None]:
        """A block in which control changes do not refresh (used while rebuilding editors)."""
        self._quiet += 1
        try:
            yield
        finally:
            self._quiet -= 1

    def _on_preset(self, change: dict) -> None:
        if change["new"]:
            p = PRESETS[change["new"]]
            self._preset_json = to_json(p.rule)
            self.set_rule(p.rule, p.include_inactive)

    def _unfinished(self, group: GroupEditor) -> str | None:
        for item in group.items.children:
            need = item.missing() if isinstance(item, ConditionEditor) else self._unfinished(item)
            if need and isinstance(item, ConditionEditor):
                return f"Finish the condition '{item.label}': {need}."
            if need:
                return need
        return None

    def _waiting(self, text: str) -> None:
        """The rule cannot be counted yet: say what it needs and that the count waits for it."""
        self.error.show(text, "warn")
        last = f" (the last complete rule matched {self.result.count:,})" if self.result is not None else ""
        self.count_label.value = f"<i>The count follows once the rule is complete{html.escape(last)}.</i>"

    @guarded(lambda self: self.error, "Counting the segment")
    def refresh(self) -> None:
        """Evaluate the current rule and update every view; a bad rule shows its message only."""
        if self._quiet:
            return
        need = self._unfinished(self.root)
        if need:
            self._waiting(need)
            return
        try:
            rule = self.rule
            result = evaluate(rule, self.sf, self.now, self.include_inactive.value)
        except (SegmentRuleError, ValueError, TypeError) as exc:
            self._waiting(friendly_rule_error(str(exc)))
            return
        self.error.show("")
        if self.preset.value and to_json(rule) != self._preset_json:
            with self.quiet():
                self.preset.value = ""  # the rule is no longer the preset: the picker says so
        self.result = result
        with self.hold_sync():
            self.count_label.value = (
                f"<b>{result.count:,}</b> customers match (<b>{result.share:.1%}</b> of {result.base:,})"
            )
            verb = "included" if result.include_inactive else "excluded"
            self.inactive_label.value = f"{result.excluded_inactive:,} inactive 90 d customers {verb}"
            self.description.value = html.escape(describe(rule, result.include_inactive))
            self.rule_json = to_json(rule)
            self.count = result.count
            query = segment_query(
                rule, self.sf.schema, self.now, id_column=self.sf.id_column, tags_column=self.sf.tags_column
            )
            self.sql.value = (
                f"<pre>{html.escape(query.sql)}</pre><pre>params = {html.escape(repr(list(query.params)))}</pre>"
            )
        # The count goes out first; the sample and the chart (~0.1 s to draw) follow.
        self.sample.value = sample_members(self.sf, result.mask, self.sample_size).to_html(
            index=False, border=0, na_rep=""
        )
        self.chart.value = figure_bytes(composition_figure(self.sf, result.mask))

    # --- saved segments -----------------------------------------------------------------------
    def _require_store(self) -> Store:
        if self.store is None:
            raise RuntimeError("this builder has no store; pass store=open_store(...)")
        return self.store

    def save(self, name: str | None = None, overwrite: bool = False) -> bool:
        """Save the rule under ``name`` (the name box's when None); an existing name asks first.

        Returns whether it was saved. ``overwrite=True`` is the answer "yes, replace it".
        """
        store = self._require_store()
        name = (name if name is not None else self.save_name.value).strip()
        try:
            rule = self.rule
            check_rule(rule, self.sf.schema)  # only rules that fit the data are saved
            if name and not overwrite and name in self.saved.options:
                self._ask_overwrite(name)
                return False
            save_segment(store, name, rule, self.include_inactive.value)
        except (SegmentRuleError, ValueError) as exc:
            self.store_message.show(f"Not saved: {friendly_rule_error(str(exc))}", "error")
            return False
        self._ask_overwrite("")
        self.store_message.show(f"Saved '{name}'.", "ok")
        self._refresh_saved(select=name)
        return True

    def _ask_overwrite(self, name: str) -> None:
        """Show (``name``) or hide ('') the "overwrite?" question."""
        self._pending_name = name
        self.overwrite_box.layout.display = "flex" if name else "none"
        if name:
            self.store_message.show(
                f"A saved segment named '{name}' exists. Overwrite it with this rule, or keep "
                "the saved one (type another name to save both)?",
                "warn",
            )
        elif self.store_message.level == "warn":
            self.store_message.show("")

    def load(self, name: str) -> None:
        store = self._require_store()
        try:
            seg = load_segment(store, name)
            check_rule(seg.rule, self.sf.schema)
        except KeyError as exc:
            self.store_message.show(str(exc.args[0]), "error")
            return
        except SegmentRuleError as exc:
            self.store_message.show(f"Cannot load '{name}': {friendly_rule_error(str(exc))}", "error")
            return
        self.save_name.value = seg.name
        self.set_rule(seg.rule, seg.include_inactive)
        self.store_message.show(f"Loaded '{seg.name}'.", "ok")

    def delete(self, name: str) -> None:
        if delete_segment(self._require_store(), name):
            self.store_message.show(f"Deleted '{name}'.", "ok")
        self._refresh_saved()

    def _members(self) -> pd.DataFrame | None:
        """The segment's members (personal columns masked by the export unless asked)."""
        if self.result is None:
            return None
        members = self.sf.frame.iloc[np.flatnonzero(self.result.mask)].reset_index(drop=True)
        if self.sf.tags_column in members:
            members[self.sf.tags_column] = members[self.sf.tags_column].map(
                lambda t: ", ".join(t) if isinstance(t, tuple) else ""
            )
        return members

    def _figure(self) -> Figure | None:
        return None if self.result is None else composition_figure(self.sf, self.result.mask)

    def _refresh_saved(self, select: str | None = None) -> None:
        results = evaluate_saved(self.store, self.sf, self.now)
        names = list(results)
        self.saved.options = names
        if select in names:
            self.saved.value = select
        if not names:
            self.overlap.value = self.comparison.value = "<i>no saved segments yet</i>"
            return
        self.overlap.value = overlap_counts(results).to_html(border=0)
        table = compare_segments(self.sf, results)
        self.comparison.value = table.to_html(
            border=0,
            formatters={
                "share": "{:.1%}".format,
                "avg_order_value": "{:,.2f}".format,
                "total_spend": "{:,.0f}".format,
                "spend_per_customer": "{:,.2f}".format,
                "read_rate": "{:.1%}".format,
                "reply_rate": "{:.1%}".format,
            },
        )
