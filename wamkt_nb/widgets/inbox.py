"""The team inbox: open conversations by customer value and waiting time, red flags, first-response
figures, and answering (session message inside the 24 h window, template outside).
Phone numbers are masked. A thin shell over ``wamkt_nb.inbox``."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as W
import pandas as pd

from ..clock import Clock, SystemClock
from ..cloudapi import CloudAPIError, CloudClient
from ..data.features import build_features
from ..data.privacy import mask_phone, mask_text
from ..inbox import (
    RED_AFTER_SECONDS,
    TemplateChoice,
    WindowClosedError,
    answer,
    campaign_choices,
    inbox_summary,
    open_conversations,
)
from ..inbox.queries import LOOKBACK_DAYS
from ..settings import load_settings
from ..store import Store, open_store
from ..workspace import database_target, load_customer_data
from .feedback import StatusLine, guarded
from .theme import themed

PERIODS = [("Last 24 hours", 1.0), ("Last 7 days", 7.0), ("Last 30 days", 30.0), ("Last 90 days", 90.0)]
ALL_CUSTOMERS = ""


def _money(value: Any) -> str:
    return "" if value is None or pd.isna(value) else f"{float(value):,.0f} €"


def conversations_html(table: pd.DataFrame) -> str:
    """Open conversations as an HTML table; red rows for those waiting too long, phone numbers masked
    (also inside names and messages)."""
    if table.empty:
        return "<p class='wamkt-inbox-empty'>No open conversations. Everyone has an answer.</p>"
    head = "".join(
        f"<th>{h}</th>"
        for h in ("", "customer", "phone", "last message", "msgs", "waiting", "order value", "spend", "window")
    )
    rows = []
    for r in table.itertuples(index=False):
        flags = ("🔴 " if r.red else "") + ("🙋 " if r.needs_human else "")
        waiting = f"{r.waiting_min / 60:.1f} h" if r.waiting_min >= 90 else f"{r.waiting_min:.0f} min"
        cells = (
            flags,
            mask_text(r.name) if isinstance(r.name, str) else "",
            mask_phone(r.phone),
            mask_text((r.last_message or "")[:80]),
            r.messages,
            waiting,
            _money(r.avg_order_value),
            _money(r.total_spend),
            "open" if r.window_open else "closed: template",
        )
        style = " class='wamkt-inbox-red' style='background:#fde0e0;color:#111b21'" if r.red else ""
        rows.append(f"<tr{style}>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
    return f"<table class='wamkt-table'><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def summary_html(summary: pd.DataFrame) -> str:
    s = summary.iloc[0]
    median = "–" if pd.isna(s["median_first_response_min"]) else f"{s['median_first_response_min']:.1f} min"
    share = "–" if pd.isna(s["share_in_time"]) else f"{s['share_in_time']:.0%}"
    return (
        f"<b class='wamkt-inbox-open'>{int(s['open'])}</b> open · "
        f"<b class='wamkt-inbox-red-count wamkt-bad'>{int(s['red_flags'])}</b> red · "
        f"median first response <b>{median}</b> · answered within 5 min <b>{share}</b> "
        f"(<span class='wamkt-inbox-conversations'>{int(s['conversations'])}</span> conversations)"
    )


class InboxView(W.VBox):
    """Filters (period, campaign, red threshold), summary, the prioritised table, and an answer box;
    without a ``client`` it is read-only."""

    def __init__(
        self,
        store: Store,
        customers: pd.DataFrame | None = None,
        client: Any = None,
        clock: Clock | None = None,
        phone_number_id: str | None = None,
        agent: str = "team",
        red_after_hours: float = RED_AFTER_SECONDS / 3600,
    ) -> None:
        self.store, self.customers, self.client = store, customers, client
        self.clock = clock or SystemClock()
        self.phone_number_id, self.agent = phone_number_id, agent
        self.table = pd.DataFrame()
        self.summary = W.HTML().add_class("wamkt-inbox-summary")
        self.list = W.HTML().add_class("wamkt-inbox-table")
        self.red_after = W.BoundedFloatText(
            value=red_after_hours, min=0.05, max=72, step=0.5, description="Red after (h)"
        ).add_class("wamkt-inbox-red-after")
        self.period = W.Dropdown(
            options=PERIODS, value=LOOKBACK_DAYS, description="Period", layout=W.Layout(width="240px")
        ).add_class("wamkt-inbox-period")
        self.campaign = W.Dropdown(
            options=[("All customers", ALL_CUSTOMERS)] + campaign_choices(store),
            value=ALL_CUSTOMERS,
            description="Reached by",
            layout=W.Layout(width="360px"),
        ).add_class("wamkt-inbox-campaign")
        self.refresh_button = W.Button(description="Refresh", icon="refresh").add_class("wamkt-inbox-refresh")
        self.pick = W.Dropdown(description="Answer", layout=W.Layout(width="520px")).add_class("wamkt-inbox-pick")
        self.text = W.Textarea(
            placeholder="Your answer (inside the 24 h window)", layout=W.Layout(width="520px", height="70px")
        ).add_class("wamkt-inbox-text")
        self.template_name = W.Text(description="Template", placeholder="outside the window")
        self.template_language = W.Text(description="Language", value="de")
        self.template_params = W.Text(description="Parameters", placeholder="comma separated")
        self.send = W.Button(description="Send", button_style="primary", icon="paper-plane").add_class(
            "wamkt-inbox-send"
        )
        self.status = StatusLine().add_class("wamkt-inbox-status")
        self.refresh_button.on_click(lambda _: self.refresh())
        for control in (self.red_after, self.period, self.campaign):
            control.observe(lambda _: self.refresh(), "value")
        self.pick.observe(lambda _: self._explain(), "value")
        self.send.on_click(lambda _: self.send_answer())
        box = [
            self.pick,
            self.text,
            W.HBox([self.template_name, self.template_language]),
            self.template_params,
            self.send,
            self.status,
        ]
        if client is None:
            self.send.disabled = True
            box.append(W.HTML("<i>Read-only: no sending client configured.</i>"))
        filters = W.HBox(
            [self.period, self.campaign, self.red_after, self.refresh_button], layout=W.Layout(flex_flow="row wrap")
        )
        super().__init__([W.HTML("<h3>Team inbox</h3>"), filters, self.summary, self.list, W.VBox(box)])
        self.add_class("wamkt-inbox")
        themed(self)
        self.refresh()

    @guarded(lambda self: self.status, "Refresh")
    def refresh(self) -> None:
        now = self.clock.now()
        red_after = float(self.red_after.value) * 3600
        days, campaign = float(self.period.value), self.campaign.value or None
        self.table = open_conversations(self.store, now, self.customers, red_after, days, campaign)
        self.summary.value = summary_html(inbox_summary(self.store, now, red_after, days, campaign))
        self.list.value = conversations_html(self.table)
        options = [
            (
                f"{'🔴 ' if r.red else ''}{mask_text(r.name) if isinstance(r.name, str) else ''} {mask_phone(r.phone)}",
                r.phone,
            )
            for r in self.table.itertuples(index=False)
        ]
        keep = self.pick.value
        self.pick.options = options
        self.pick.value = keep if keep in dict(options).values() else (options[0][1] if options else None)
        self._explain()

    @guarded(lambda self: self.status, "Showing the conversation")
    def _explain(self) -> None:
        if self.pick.value is None:
            self.status.value = ""
            return
        row = self.table.set_index("phone").loc[self.pick.value]
        self.status.value = (
            "Window open: a free-text session message will be sent."
            if row["window_open"]
            else "Window closed: only an approved template can be sent."
        )

    @guarded(lambda self: self.status, "Send answer")
    def send_answer(self) -> None:
        phone = self.pick.value
        if phone is None or self.client is None:
            self.status.value = "Nothing to answer." if phone is None else "Read-only inbox."
            return
        template = None
        if self.template_name.value.strip():
            params = tuple(p.strip() for p in self.template_params.value.split(",") if p.strip())
            template = TemplateChoice(self.template_name.value.strip(), self.template_language.value.strip(), params)
        try:
            out = answer(
                self.store,
                self.client,
                phone,
                text=self.text.value.strip() or None,
                template=template,
                agent=self.agent,
                clock=self.clock,
                phone_number_id=self.phone_number_id,
            )
        except (WindowClosedError, ValueError, CloudAPIError) as exc:
            self.status.value = f"<span class='wamkt-error wamkt-bad'>{html.escape(str(exc))}</span>"
            return
        if out.state != "accepted":
            self.status.value = (
                f"<span class='wamkt-error wamkt-bad'>Not sent: {html.escape(out.error or out.state)}</span>"
            )
            return
        self.text.value = ""
        self.refresh()
        self.status.value = f"Sent to {html.escape(mask_phone(phone))}."


def inbox_dashboard() -> InboxView:
    """The inbox for the team dashboard: the workspace's database and customers; sends only with a token."""
    settings = load_settings()
    store = open_store(database_target())
    data = load_customer_data()
    features = build_features(data, pd.Timestamp.now(tz="UTC"))
    client = CloudClient(settings) if settings.access_token and settings.phone_number_ids else None
    return InboxView(store, features, client, phone_number_id=settings.phone_number_ids[0] if client else None)
