"""The campaign overview's "Retarget…" panel: one click turns a campaign outcome into a segment.

Buttons for the usual follow-ups (delivered but not read, read without a reply, held by Meta,
failed) show the rule in words, how many recipients it holds now, the line that gives the same
segment in a notebook (``campaign.retarget``), and save it under a name so the segment builder,
the notebooks and ``Workspace.segment`` offer it. A thin shell over ``wamkt_nb.segments.engagement``.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import ipywidgets as W
import pandas as pd

from ..ledger.engagement import engagement_facts
from ..segments import describe, engagement_condition, evaluate, save_segment, with_engagement
from ..segments.engagement import STATES
from ..segments.rules import Condition
from ..store import open_store
from ..workspace import database_target
from .feedback import StatusLine, guarded

BUTTONS = ("delivered_not_read", "read_no_reply", "held_by_meta", "failed")
"""The follow-ups offered as buttons (every state stays available through the rule model)."""
WINDOWS = [("ever", None), ("within 1 day", 1), ("within 7 days", 7), ("within 30 days", 30)]


class RetargetPanel(W.VBox):
    """Retarget one campaign's recipients by what they did with its message."""

    def __init__(self, db_path: Path | None, campaigns: list[tuple[str, str]], now: Any) -> None:
        self.db_path, self.now = db_path, now
        self.campaign = W.Dropdown(options=campaigns, description="Campaign", layout=W.Layout(width="320px"))
        self.window = W.Dropdown(options=WINDOWS, value=None, description="Sent", layout=W.Layout(width="220px"))
        self.buttons = {
            state: W.Button(description=f"Retarget: {STATES[state]}", layout=W.Layout(width="auto"))
            for state in BUTTONS
        }
        self.rule_text = W.HTML()
        self.name = W.Text(placeholder="segment name", layout=W.Layout(width="260px"))
        self.save_button = W.Button(description="Save as segment", button_style="primary", disabled=True)
        self.status = StatusLine()
        self.condition: Condition | None = None
        for state, button in self.buttons.items():
            button.add_class(f"wamkt-retarget-{state.replace('_', '-')}")
            button.on_click(lambda _b, s=state: self.show(s))
        self.save_button.on_click(lambda _b: self.save())
        for widget, css in (
            (self.rule_text, "rule"),
            (self.name, "name"),
            (self.save_button, "save"),
            (self.campaign, "campaign"),
            (self.window, "window"),
        ):
            widget.add_class(f"wamkt-retarget-{css}")
        super().__init__(
            [
                W.HTML("<h4>Retarget…</h4>"),
                W.HBox([self.campaign, self.window], layout=W.Layout(flex_flow="row wrap")),
                W.HBox(list(self.buttons.values()), layout=W.Layout(flex_flow="row wrap")),
                self.rule_text,
                W.HBox([self.name, self.save_button]),
                self.status,
            ]
        )
        self.add_class("wamkt-retarget")

    def select(self, campaign_id: str) -> None:
        """Follow the dashboard's campaign choice (all campaigns: keep the current one)."""
        if campaign_id in [v for _, v in self.campaign.options]:
            self.campaign.value = campaign_id

    def _open(self):
        return open_store(self.db_path or database_target())

    @guarded(lambda self: self.status, "Building the retargeting segment")
    def show(self, state: str) -> Condition:
        """The rule for ``state`` of the chosen campaign, in words, with its recipients now."""
        campaign = self.campaign.value
        cond = engagement_condition(campaign, state, self.window.value)
        with self._open() as store:
            facts = engagement_facts(store, [campaign])
        recipients = pd.DataFrame({"customer_id": pd.unique(facts["customer_id"].astype(str))})
        count = evaluate(cond, with_engagement(recipients, facts, cond), self.now, include_inactive=True).count
        days = "" if self.window.value is None else f", within_days={self.window.value}"
        code = f'ws.campaign("{campaign}").retarget("{state}"{days})'
        self.rule_text.value = (
            f"<b>{html.escape(describe(cond))}</b>: {count:,} recipients now "
            "(customers inactive for 90 days are left out when the segment is used)"
            f"<br><code>{html.escape(code)}</code>"
        )
        self.name.value = f"{campaign} {STATES[state]}".replace(",", "")
        self.save_button.disabled = False
        self.condition = cond
        self.status.show("")
        return cond

    @guarded(lambda self: self.status, "Saving the segment")
    def save(self) -> None:
        name = self.name.value.strip()
        if self.condition is None or not name:
            self.status.show("Pick a follow-up and give the segment a name first.", "warn")
            return
        with self._open() as store:
            save_segment(store, name, self.condition)
        self.status.show(f"Saved '{name}': the segment builder and the notebooks offer it.", "ok")
