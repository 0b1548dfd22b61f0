"""The send panel: a progress bar, counts per ledger state, rate, ETA, errors by code with Meta's
meaning, and pause/cancel buttons over a :class:`~wamkt_nb.campaigns.sender.CampaignRunner`.

A "next step" line says in words what the run is doing or waiting for: rows planned for later
(quiet hours, the daily limit) with the time the first goes in the recipient's and the analyst's
time, what a disabled button needs, and why rows were excluded (counts by reason, a chart).
The bar counts messages sent out of those meant to be sent (excluded rows aside; cancelled rows
stay in, so a cancelled run never shows as fully sent).

The runner calls :meth:`SendView.update` from its asyncio task; it only sets traits.
"""

from __future__ import annotations

import asyncio
import html
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import ipywidgets as widgets
import pandas as pd
from matplotlib.figure import Figure

from ..analytics.export import figure_bytes
from ..campaigns.outlook import Waiting, exclusions, exclusions_figure, waiting
from ..campaigns.pacing import describe_rate
from ..campaigns.sender import CampaignRunner, Progress
from ..campaigns.watch import SubmittedRun
from ..facade.campaign import SEND_DISPLAYS
from ..ledger.states import HELD_LABEL, STATES
from .export_bar import ExportBar
from .feedback import StatusLine, guarded
from .theme import themed, wrap

SHOWN_STATES = tuple(shown for state in STATES for shown in ((state, "held") if state == "failed" else (state,)))
"""Ledger states, with "held" (by Meta, 131049) shown apart from "failed"."""


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h {m:02d}m" if h else (f"{m}m {s:02d}s" if m else f"{s}s")


def counts_html(progress: Progress) -> str:
    counts = {**progress.counts, "failed": progress.failed_ours, "held": progress.held}
    labels = {"held": HELD_LABEL}
    cells = "".join(
        f"<td class='wamkt-state-{s}'><b>{counts.get(s, 0):,}</b><br>{labels.get(s, s.replace('_', ' '))}</td>"
        for s in SHOWN_STATES
    )
    return f"<table class='wamkt-send-counts'><tr>{cells}</tr></table>"


def errors_html(progress: Progress) -> str:
    frame = progress.errors_frame()
    if frame.empty:
        return "<i>No errors.</i>"
    rows = "".join(
        f"<tr><td>{'–' if code is None else int(code)}</td><td>{count:,}</td><td>{html.escape(meaning)}</td>"
        f"<td><code>{html.escape(trace or '')}</code></td></tr>"
        for code, count, meaning, trace in frame.itertuples(index=False)
    )
    return (
        "<table class='wamkt-send-errors'><tr><th>code</th><th>count</th><th>meaning</th>"
        f"<th title='for a Meta support request'>fbtrace_id (latest)</th></tr>{rows}</table>"
    )


class SendView(widgets.VBox):
    """Start, watch, pause and cancel one campaign run."""

    def __init__(self, runner: CampaignRunner | SubmittedRun) -> None:
        self.runner = runner
        self.task: asyncio.Task | None = None
        self.bar = widgets.IntProgress(value=0, min=0, max=1, description="Sent", bar_style="info")
        self.bar.add_class("wamkt-send-progress")
        self.status = widgets.Label(value="ready")
        self.status.add_class("wamkt-send-status")
        self.rate = widgets.Label(value="")
        self.rate.add_class("wamkt-send-rate")
        self.next_step = StatusLine()
        self.next_step.add_class("wamkt-send-next")
        self.counts = widgets.HTML()
        self.counts.add_class("wamkt-send-counts")
        self.errors = widgets.HTML(value="<i>No errors.</i>")
        self.errors.add_class("wamkt-send-errors")
        self.message = widgets.HTML()
        self.message.add_class("wamkt-send-message")
        self.excluded = widgets.HTML()
        self.excluded.add_class("wamkt-send-excluded")
        self.excluded_chart = widgets.Image(format="png", layout=widgets.Layout(max_width="640px", width="100%"))
        self.excluded_chart.add_class("wamkt-card")
        self.start_button = widgets.Button(description="Send", button_style="primary", icon="paper-plane")
        self.start_button.add_class("wamkt-send-start")
        self.pause_button = widgets.Button(description="Pause", icon="pause", disabled=True)
        self.pause_button.add_class("wamkt-send-pause")
        self.cancel_button = widgets.Button(description="Cancel", button_style="danger", icon="stop", disabled=True)
        self.cancel_button.add_class("wamkt-send-cancel")
        self.confirm_cancel = widgets.Button(description="Yes, cancel the rest", button_style="danger")
        self.confirm_cancel.add_class("wamkt-send-confirm-cancel")
        self.keep_button = widgets.Button(description="Keep sending")
        self.keep_button.add_class("wamkt-send-keep")
        self.confirm_box = widgets.HBox([self.confirm_cancel, self.keep_button], layout=widgets.Layout(display="none"))
        self.start_button.on_click(lambda _: self.start())
        self.pause_button.on_click(lambda _: self.toggle_pause())
        self.cancel_button.on_click(lambda _: self.ask_cancel())
        self.confirm_cancel.on_click(lambda _: self.cancel())
        self.keep_button.on_click(lambda _: self._hide_confirm())
        self.exports = ExportBar(
            tables={f"{runner.campaign_id}-exclusions": self._exclusions},
            figures={f"{runner.campaign_id}-exclusions-chart": self._exclusions_chart},
        )
        self._finished: str | None = (
            runner.info["status"] if runner.info["status"] in ("complete", "cancelled") else None
        )
        runner.on_progress = self.update
        super().__init__(
            [
                wrap(self.start_button, self.pause_button, self.cancel_button),
                self.confirm_box,
                self.bar,
                wrap(self.status, self.rate),
                self.next_step,
                self.counts,
                self.errors,
                self.message,
                widgets.HTML("<b>Excluded, by reason</b>"),
                self.excluded,
                self.excluded_chart,
                self.exports,
            ]
        )
        self.add_class("wamkt-send")
        themed(self)
        self._buttons(running=False)
        self.update(runner.progress(self._finished or "ready"))

    @guarded(lambda self: self.next_step, "Send")
    def start(self) -> asyncio.Task:
        """Run (or resume) the campaign as a task on the running event loop (the kernel's)."""
        if self.task is None or self.task.done():
            self._finished = None
            self.task = asyncio.get_event_loop().create_task(self._run())
            self._buttons(running=True)
        return self.task

    async def _run(self) -> Progress | None:
        progress: Progress | None = None
        try:
            progress = await self.runner.run()
            return progress
        except Exception as exc:  # shown to the analyst, never as a traceback
            self.message.value = f"<b>Sending stopped:</b> {html.escape(str(exc))}"
            self.status.value = "error"
            self.next_step.show(
                f"Sending stopped: {exc}. Next: fix the cause and press Send to resume; rows "
                "already sent are never sent again.",
                "error",
            )
            return None
        finally:
            self._finished = progress.status if progress else "error"
            self._buttons(running=False)
            if progress is not None:
                self.update(progress)

    def _buttons(self, running: bool) -> None:
        """Enable what can be done now; every disabled button says in its tooltip what it needs."""
        over = self._finished in ("complete", "cancelled")
        self._set(
            self.start_button,
            running or over,
            "sending now" if running else "nothing left to send" if over else "send the rows that are due now",
        )
        self.start_button.description = "Send" if self._finished in (None, "error") else "Send due rows"
        idle = (
            f"the campaign is {self._finished}: nothing to pause or cancel"
            if over
            else "nothing is being sent: press Send first"
        )
        for button in (self.pause_button, self.cancel_button):
            self._set(button, not running, "" if running else idle)
        if not running:
            self._hide_confirm()

    @guarded(lambda self: self.next_step, "Pause")
    def toggle_pause(self) -> None:
        if self.runner.paused:
            self.runner.resume()
            self.pause_button.description, self.pause_button.icon = "Pause", "pause"
        else:
            self.runner.pause()
            self.pause_button.description, self.pause_button.icon = "Resume", "play"

    def ask_cancel(self) -> None:
        """Cancelling cannot be undone (rows not sent become ``cancelled``): ask first."""
        left = self.runner.progress().counts["planned"]
        self.confirm_box.layout.display = "flex"
        self.next_step.show(
            f"Cancel? {left:,} recipient(s) not sent yet will never get this campaign "
            "(this cannot be undone; Pause keeps them). Confirm with 'Yes, cancel the rest'.",
            "warn",
        )

    def _hide_confirm(self) -> None:
        self.confirm_box.layout.display = "none"

    @guarded(lambda self: self.next_step, "Cancel")
    def cancel(self) -> None:
        self.runner.cancel()
        for button in (self.pause_button, self.cancel_button):
            self._set(button, True, "cancelled: the rows not sent yet will never be sent")
        self._hide_confirm()

    @staticmethod
    def _set(button: widgets.Button, disabled: bool, tooltip: str) -> None:
        """Change a button's state and the tooltip that explains it in one message to the browser, so
        a disabled button is never shown without its reason."""
        with button.hold_sync():
            button.tooltip, button.disabled = tooltip, disabled

    def _exclusions(self) -> pd.DataFrame:
        return exclusions(self.runner.store, self.runner.campaign_id)

    def _exclusions_chart(self) -> Figure | None:
        frame = self._exclusions()
        return exclusions_figure(frame) if len(frame) else None

    def update(self, progress: Progress) -> None:
        """Show a progress snapshot (sets traits only, so it works from any task or thread)."""
        counts = progress.counts
        meant = progress.total - counts["excluded"]
        sent = max(0, progress.done - counts["excluded"] - counts["cancelled"])
        now = self.runner.clock.now()
        wait = waiting(self.runner.store, self.runner.campaign_id, now)
        with self.hold_sync():
            self.bar.max = max(1, meant)
            self.bar.value = sent
            self.bar.bar_style = {
                "complete": "success",
                "cancelled": "warning",
                "paused": "warning",
                "needs_review": "warning",
            }.get(progress.status, "info")
            # a run that stopped because the rest is not due yet waits; "paused" is what the analyst did
            waiting_only = progress.status == "paused" and not self.runner.paused
            status = "waiting" if waiting_only else progress.status.replace("_", " ")
            if progress.status == "needs_review":
                status += f" ({counts['unknown']:,} unknown)"
            self.status.value = f"{status} · {sent:,} of {meant:,} sent · {counts['excluded']:,} excluded" + (
                f" · {counts['cancelled']:,} cancelled" if counts["cancelled"] else ""
            )
            pace = f" (pace {describe_rate(progress.pace)})" if progress.pace else ""
            self.rate.value = (
                f"{progress.rate:,.1f} msg/s{pace} · ETA {_duration(progress.eta_seconds)}"
                f" · {progress.requests:,} requests · {progress.throttled:,} throttled"
            )
            self.counts.value = counts_html(progress)
            self.errors.value = errors_html(progress)
            self.message.value = html.escape(progress.message)
            if self.runner.paused and self.pause_button.description == "Pause" and not self.pause_button.disabled:
                self.pause_button.description, self.pause_button.icon = "Resume", "play"
            if self._finished != "error":
                text, level = next_step_text(progress, wait, sent, meant, self.runner.paused)
                self.next_step.show(text, level)
        if progress.status in ("ready", "complete", "cancelled", "paused", "needs_review") or self.task is None:
            self._show_exclusions()

    def _show_exclusions(self) -> None:
        frame = self._exclusions()
        if frame.empty:
            self.excluded.value = "<i>No recipient excluded.</i>"
            self.excluded_chart.layout.display = "none"
            return
        self.excluded.value = frame.to_html(index=False, border=0)
        self.excluded_chart.value = figure_bytes(exclusions_figure(frame))
        self.excluded_chart.layout.display = None


def _when(epoch: float, zone: str | None) -> str:
    """``"Thu 03 Dec 08:00 Europe/Berlin"`` in the recipient's zone, ``"... (your time)"`` in the analyst's."""
    theirs = datetime.fromtimestamp(epoch, ZoneInfo(zone)) if zone else None
    yours = datetime.fromtimestamp(epoch).astimezone()
    mine = f"{yours:%a %d %b %H:%M} your time ({yours:%Z})"
    return f"{theirs:%a %d %b %H:%M} recipient's time ({zone}), {mine}" if theirs else mine


def next_step_text(progress: Progress, wait: Waiting, sent: int, meant: int, paused: bool) -> tuple[str, str]:
    """What the run is doing or waiting for, and what the analyst can do next (text, level)."""
    excluded = progress.counts["excluded"]
    why_excluded = f" {excluded:,} excluded: see the reasons below." if excluded else ""
    later = ""
    if wait.count and wait.first_at is not None and wait.last_at is not None:
        reasons = ", ".join(f"{n:,} {r.replace('_', ' ')}" for r, n in wait.reasons.items() if r)
        why = f"({reasons})" if reasons else "for quiet hours in their own time zone or the daily limit"
        later = (
            f" {wait.count:,} recipient(s) wait {why}; the first goes {_when(wait.first_at, wait.first_zone)}"
            + (f", the last {_when(wait.last_at, None)}" if wait.last_at != wait.first_at else "")
            + "."
        )
    status = progress.status
    if status == "ready":
        due = meant - sent - wait.count
        return (
            (
                f"Ready: {due:,} of {meant:,} recipient(s) can be sent now.{later}{why_excluded}"
                " Next: press Send (Pause and Cancel work once sending)."
            ),
            "info",
        )
    if status == "complete":
        return f"Complete: {sent:,} of {meant:,} sent.{why_excluded}", "ok"
    if status == "cancelled":
        left = progress.counts["cancelled"]
        return (
            (
                f"Cancelled: {sent:,} sent, {left:,} will not be sent (a cancelled campaign does not resume; "
                f"plan a new campaign to reach them).{why_excluded}"
            ),
            "warn",
        )
    if status == "needs_review":
        return (f"Needs review: {progress.message}.{later}", "warn")
    if paused:
        return (f"Paused by you: {sent:,} of {meant:,} sent.{later} Next: press Resume to go on, or Cancel.", "warn")
    if status == "paused":
        return (
            (
                f"Waiting: {sent:,} of {meant:,} sent; nothing is due now.{later}{why_excluded}"
                " Next: press 'Send due rows' after that time (the sender does not run in the background)."
            ),
            "warn",
        )
    return (
        (
            f"Sending: {sent:,} of {meant:,} sent, ETA {_duration(progress.eta_seconds)}.{later}"
            " Pause stops new requests; Cancel drops the rest."
        ),
        "info",
    )


def show_send(runner: CampaignRunner | SubmittedRun, client: Any) -> SendView:
    """Start ``runner`` on the kernel's loop under a new :class:`SendView`, closing ``client`` (if
    any) when it ends. A :class:`SubmittedRun` is submitted and watched: the worker sends it."""
    view = SendView(runner)
    task = view.start()
    if client is not None:
        task.add_done_callback(lambda _: task.get_loop().create_task(client.aclose()))
    return view


SEND_DISPLAYS["widget"] = show_send
