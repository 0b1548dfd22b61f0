"""The send panel: a progress bar, counts per ledger state, rate, ETA, errors by code with Meta's
meaning, and pause/cancel buttons over a :class:`~wamkt_nb.campaigns.sender.CampaignRunner`.

The runner calls :meth:`SendView.update` from its asyncio task; it only sets traits.
"""

from __future__ import annotations

import asyncio
import html

import ipywidgets as widgets

from ..campaigns.pacing import describe_rate
from ..campaigns.sender import CampaignRunner, Progress
from ..ledger.states import HELD_LABEL, STATES

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
    return ("<table class='wamkt-send-errors'><tr><th>code</th><th>count</th><th>meaning</th>"
            f"<th title='for a Meta support request'>fbtrace_id (latest)</th></tr>{rows}</table>")


class SendView(widgets.VBox):
    """Start, watch, pause and cancel one campaign run."""

    def __init__(self, runner: CampaignRunner) -> None:
        self.runner = runner
        self.task: asyncio.Task | None = None
        self.bar = widgets.IntProgress(value=0, min=0, max=1, description="Sent", bar_style="info")
        self.bar.add_class("wamkt-send-progress")
        self.status = widgets.Label(value="ready")
        self.status.add_class("wamkt-send-status")
        self.rate = widgets.Label(value="")
        self.rate.add_class("wamkt-send-rate")
        self.counts = widgets.HTML()
        self.counts.add_class("wamkt-send-counts")
        self.errors = widgets.HTML(value="<i>No errors.</i>")
        self.errors.add_class("wamkt-send-errors")
        self.message = widgets.HTML()
        self.message.add_class("wamkt-send-message")
        self.start_button = widgets.Button(description="Send", button_style="primary", icon="paper-plane")
        self.start_button.add_class("wamkt-send-start")
        self.pause_button = widgets.Button(description="Pause", icon="pause", disabled=True)
        self.pause_button.add_class("wamkt-send-pause")
        self.cancel_button = widgets.Button(description="Cancel", button_style="danger", icon="stop",
                                            disabled=True)
        self.cancel_button.add_class("wamkt-send-cancel")
        self.start_button.on_click(lambda _: self.start())
        self.pause_button.on_click(lambda _: self.toggle_pause())
        self.cancel_button.on_click(lambda _: self.cancel())
        runner.on_progress = self.update
        super().__init__([
            widgets.HBox([self.start_button, self.pause_button, self.cancel_button]),
            self.bar, widgets.HBox([self.status, self.rate]), self.counts, self.errors, self.message,
        ])
        self.add_class("wamkt-send")
        self.update(runner.progress("ready"))

    def start(self) -> asyncio.Task:
        """Run (or resume) the campaign as a task on the running event loop (the kernel's)."""
        if self.task is None or self.task.done():
            self.task = asyncio.get_event_loop().create_task(self._run())
            self.start_button.disabled = True
            self.pause_button.disabled = False
            self.cancel_button.disabled = False
        return self.task

    async def _run(self) -> Progress | None:
        try:
            return await self.runner.run()
        except Exception as exc:  # shown to the analyst, never as a traceback
            self.message.value = f"<b>Sending stopped:</b> {html.escape(str(exc))}"
            self.status.value = "error"
            return None
        finally:
            self.pause_button.disabled = True
            self.cancel_button.disabled = True

    def toggle_pause(self) -> None:
        if self.runner.paused:
            self.runner.resume()
            self.pause_button.description, self.pause_button.icon = "Pause", "pause"
        else:
            self.runner.pause()
            self.pause_button.description, self.pause_button.icon = "Resume", "play"

    def cancel(self) -> None:
        self.runner.cancel()
        self.cancel_button.disabled = True
        self.pause_button.disabled = True

    def update(self, progress: Progress) -> None:
        """Show a progress snapshot (sets traits only, so it works from any task or thread)."""
        with self.hold_sync():
            self.bar.max = max(1, progress.total)
            self.bar.value = progress.done
            self.bar.bar_style = {"complete": "success", "cancelled": "warning", "paused": "warning",
                                  "needs_review": "warning"}.get(progress.status, "info")
            status = progress.status.replace("_", " ")
            if progress.status == "needs_review":
                status += f" ({progress.counts['unknown']:,} unknown)"
            self.status.value = f"{status} · {progress.done:,} / {progress.total:,} final"
            pace = f" (pace {describe_rate(progress.pace)})" if progress.pace else ""
            self.rate.value = (f"{progress.rate:,.1f} msg/s{pace} · ETA {_duration(progress.eta_seconds)}"
                               f" · {progress.requests:,} requests · {progress.throttled:,} throttled")
            self.counts.value = counts_html(progress)
            self.errors.value = errors_html(progress)
            self.message.value = html.escape(progress.message)
            if self.runner.paused and self.pause_button.description == "Pause" and not self.pause_button.disabled:
                self.pause_button.description, self.pause_button.icon = "Resume", "play"
