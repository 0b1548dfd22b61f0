"""A campaign a ``wamkt worker`` sends, watched and controlled from the ledger.

:class:`SubmittedRun` has the control surface of :class:`~.sender.CampaignRunner` (``run()``,
``pause()``, ``resume()``, ``cancel()``, ``progress()``, ``on_progress``), so the send widget and
``wamkt send --submit`` show either the same way. Here ``run()`` submits the campaign and follows
its progress until it is complete or cancelled; the buttons write requests the worker reads.
Stopping the watch (closing the notebook, Ctrl-C) leaves the campaign running in the worker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from .. import ledger
from ..clock import Clock, SystemClock
from ..ledger import control
from ..ledger.states import ACCEPTED_STATES
from ..store import Store
from .progress import Progress, ProgressMeter

WATCH_SECONDS = 0.5
"""How often the watcher reads the campaign's counts from the ledger."""
OVER = ("complete", "cancelled")


class SubmittedRun:
    """Submit ``campaign_id`` with send ``options`` (JSON values, see
    :func:`~.worker.submitted_options`) and follow it; control requests go through the ledger."""

    def __init__(
        self,
        store: Store,
        campaign_id: str,
        options: dict[str, Any],
        *,
        clock: Clock | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        interval: float = WATCH_SECONDS,
    ) -> None:
        self.store, self.campaign_id, self.options = store, campaign_id, options
        self.clock = clock or SystemClock()
        self.on_progress = on_progress
        self.interval = interval
        self.info = ledger.campaign_info(store, campaign_id)
        self.meter = ProgressMeter(store, campaign_id)
        self._seen: int | None = None

    def submit(self) -> None:
        """Hand the campaign to the worker (again: a resume with these options)."""
        control.submit(self.store, self.campaign_id, self.options, self.clock.now())

    async def run(self) -> Progress:
        """Submit, then report progress until the campaign is complete or cancelled."""
        if ledger.campaign_info(self.store, self.campaign_id)["status"] not in OVER:
            self.submit()
        while True:
            progress = self.progress()
            if self.on_progress is not None:
                self.on_progress(progress)
            if progress.status in OVER:
                return progress
            await asyncio.sleep(self.interval)

    # control, through the ledger ------------------------------------------------------------------
    def pause(self) -> None:
        control.request(self.store, self.campaign_id, "pause", self.clock.now())

    def resume(self) -> None:
        control.request(self.store, self.campaign_id, "run", self.clock.now())

    def cancel(self) -> None:
        control.request(self.store, self.campaign_id, "cancel", self.clock.now())

    @property
    def paused(self) -> bool:
        return control.requested(self.store, self.campaign_id) == "pause"

    def progress(self, status: str | None = None) -> Progress:
        """A snapshot from the ledger: the campaign's status (``paused`` once a pause is asked,
        ``submitted`` before the worker starts it) and the messages accepted per second."""
        info = ledger.campaign_info(self.store, self.campaign_id)
        if status is None:
            status = info["status"]
            wanted = control.requested(self.store, self.campaign_id)
            if status not in OVER and wanted == "pause":
                status = "paused"
            elif status == "planned" and wanted == "run":
                status = "submitted"
        progress = self.meter.snapshot(status, pace=0.0, message="", unknown_waiting=0)
        accepted = sum(progress.counts[s] for s in ACCEPTED_STATES)
        for _ in range(accepted - self._seen if self._seen is not None else 0):
            self.meter.accepted()  # the rate counts what the worker got accepted since the last look
        self._seen = accepted
        return progress
