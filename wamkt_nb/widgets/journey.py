"""The journey editor: a campaign's follow-up steps as rows of delay, condition, message and pace.

Each row says when the step goes (after the stage before it), to whom (a condition on the latest
journey message, :data:`wamkt_nb.campaigns.journeys.CONDITIONS`), what (an approved template or a
session text) and, if the step is not to go at its campaign's pace, at which pace; the stop
conditions and the fixed values of the messages' variables hold for all steps. "Save journey" hands
the rows to :meth:`Campaign.define_journey` (steps not started yet are replaced); the presets fill
the rows. A thin shell over the facade: it plans and sends nothing.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import ipywidgets as W
import pandas as pd

from ..campaigns.journeys import CONDITIONS, JOURNEY_PRESETS
from ..campaigns.pacing import CONFIRM_ABOVE
from ..facade.campaign import Campaign
from ..ledger.journeys import STOP_REASONS
from ..messages import MessageSpec, Template
from ..settings import PACE_PRESETS
from .analytics import format_table
from .feedback import StatusLine, guarded
from .theme import style

STOP_LABELS = {"reply": "a reply", "order": "an order", "opt_out": "an opt-out"}
TEXT = "__text__"
"""The message choice that sends the row's session text instead of a template."""


def _duration(seconds: float) -> str:
    """``"15min"``, ``"1h"``, ``"23h"``: how a delay is written in the delay field."""
    minutes = round(seconds / 60.0)
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}min"


class StepEditor(W.HBox):
    """One step: delay, condition, message (template or session text), pace (empty: the campaign's),
    remove button."""

    def __init__(self, templates: Sequence[Template], delay: str = "24h", condition: str = "any") -> None:
        self.delay = W.Text(value=delay, description="after", layout=W.Layout(width="150px"))
        self.condition = W.Dropdown(
            options=[(f"{key}: {text}", key) for key, text in CONDITIONS.items()],
            value=condition,
            description="to",
            layout=W.Layout(width="330px"),
        )
        choices: list[tuple[str, object]] = [(f"{t.name} ({t.language})", t) for t in templates]
        self.message = W.Dropdown(
            options=[*choices, ("session text…", TEXT)], description="send", layout=W.Layout(width="260px")
        )
        self.text = W.Text(placeholder="session text (service window only)", layout=W.Layout(width="240px"))
        self.pace = W.Combobox(
            options=[name for name, rate in PACE_PRESETS.items() if rate <= CONFIRM_ABOVE],  # no confirmation asked
            placeholder="campaign's pace",
            description="pace",
            tooltip=f"a preset or messages per second (up to {CONFIRM_ABOVE:g}); empty: its campaign's pace",
            layout=W.Layout(width="220px"),
        )
        self.remove = W.Button(description="✕", tooltip="remove this step", layout=W.Layout(width="40px"))
        self.remove.add_class("wamkt-journey-remove")
        super().__init__(
            [self.delay, self.condition, self.message, self.text, self.pace, self.remove],
            layout=W.Layout(flex_flow="row wrap"),
        )
        self.add_class("wamkt-journey-step")

    def step(self) -> tuple[str, MessageSpec | Template, str, str | None]:
        """``(after, message, when, pace)`` as :meth:`Campaign.define_journey` takes it (pace: a
        preset name or a number as typed, None when empty)."""
        if self.message.value == TEXT:
            if not self.text.value.strip():
                raise ValueError("a step sends a session text but the text is empty")
            message: MessageSpec | Template = MessageSpec(text={"*": self.text.value.strip()})
        else:
            message = self.message.value
        return self.delay.value.strip(), message, self.condition.value, self.pace.value.strip() or None


class JourneyEditor(W.VBox):
    """Define the follow-up steps of ``campaign``; ``templates`` are the messages offered (default:
    the account's approved templates)."""

    def __init__(self, campaign: Campaign, templates: Sequence[Template] | None = None) -> None:
        super().__init__()
        self.campaign = campaign
        self.templates = list(templates if templates is not None else campaign.workspace.templates.approved())
        self.rows = W.VBox()
        self.rows.add_class("wamkt-journey-steps")
        self.add_button = W.Button(description="Add step", icon="plus")
        self.cart_button = W.Button(description="Abandoned cart: +15 min / +1 h / +24 h", layout=W.Layout(width="auto"))
        self.unread_button = W.Button(description="Not read in 24 h → variant", layout=W.Layout(width="auto"))
        self.stop = {
            reason: W.Checkbox(value=True, description=f"stop on {STOP_LABELS[reason]}", indent=False)
            for reason in STOP_REASONS
        }
        self.values = W.Text(
            placeholder="fixed values, e.g. discount=10 %; code=WA10",
            description="values",
            layout=W.Layout(width="420px"),
        )
        self.save_button = W.Button(description="Save journey", button_style="primary")
        self.status = StatusLine()
        self.table = W.HTML()
        self.table.add_class("wamkt-table")
        self.add_button.on_click(lambda _b: self.add_step())
        self.cart_button.on_click(lambda _b: self.preset("abandoned_cart"))
        self.unread_button.on_click(lambda _b: self.preset("not_read_24h"))
        self.save_button.on_click(lambda _b: self.save())
        for name, button in (
            ("add", self.add_button),
            ("cart", self.cart_button),
            ("unread", self.unread_button),
            ("save", self.save_button),
        ):
            button.add_class(f"wamkt-journey-{name}")
        self.children = [
            W.HTML(f"<h3>Journey of {html.escape(campaign.name)}</h3>"),
            self.rows,
            W.HBox([self.add_button, self.cart_button, self.unread_button], layout=W.Layout(flex_flow="row wrap")),
            W.HBox(list(self.stop.values()), layout=W.Layout(flex_flow="row wrap")),
            self.values,
            self.save_button,
            self.status,
            self.table,
            style(),
        ]
        self.add_class("wamkt-widget")
        self.add_class("wamkt-journey")
        self.show_journey()

    @property
    def steps(self) -> list[StepEditor]:
        return [row for row in self.rows.children if isinstance(row, StepEditor)]

    def add_step(self, delay: str = "24h", condition: str = "any") -> StepEditor:
        row = StepEditor(self.templates, delay, condition)
        row.remove.on_click(lambda _b, r=row: self._remove(r))
        self.rows.children = [*self.rows.children, row]
        return row

    def _remove(self, row: StepEditor) -> None:
        self.rows.children = [r for r in self.rows.children if r is not row]

    def preset(self, name: str) -> None:
        """Replace the rows by the preset's timings and conditions (the messages stay to be chosen)."""
        self.rows.children = []
        for delay, condition in JOURNEY_PRESETS[name]:
            self.add_step(_duration(delay), condition)
        self.status.show(f"{len(self.steps)} steps from the preset: choose their messages, then save")

    def fixed_values(self) -> dict[str, str]:
        """``name=value`` pairs separated by ``;``."""
        out = {}
        for part in filter(str.strip, self.values.value.split(";")):
            name, sep, value = part.partition("=")
            if not sep or not name.strip():
                raise ValueError(f"values: {part.strip()!r} is not name=value")
            out[name.strip()] = value.strip()
        return out

    @guarded(lambda self: self.status, "Save journey")
    def save(self) -> pd.DataFrame:
        steps = [row.step() for row in self.steps]
        if not steps:
            raise ValueError("add at least one step")
        stop_on = [reason for reason, box in self.stop.items() if box.value]
        journey = self.campaign.define_journey(steps, stop_on=stop_on, params=self.fixed_values())
        self.show_journey(journey)
        self.status.show(
            f"saved {len(steps)} steps: each goes out when it comes due, under every compliance rule", "ok"
        )
        return journey

    def show_journey(self, journey: pd.DataFrame | None = None) -> None:
        journey = self.campaign.journey() if journey is None else journey
        self.table.value = format_table(journey) if len(journey) else "<p>No follow-up steps yet.</p>"


def journey_editor(campaign: Campaign) -> JourneyEditor:
    return JourneyEditor(campaign)
