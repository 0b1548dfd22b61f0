"""The campaign worker: a long-running service that sends every submitted campaign when it is due.

Each tick reads the open requests from the ledger (:mod:`wamkt_nb.ledger.control`): a submitted
campaign with work due (a scheduled start, a recipient's hour, a resumed pause, rows a dead sender
left in flight, an unknown outcome whose resend came due) has its rows pinned to the worker's
sending numbers, and gets a :class:`~.sender.CampaignRunner` per number under that number's lease
(a number another worker holds is skipped); pause, resume and cancel requests reach the runners
on the next tick. A runner sends what is due and ends; the worker starts it again when the next
rows are due.

Several workers share a campaign sent from several numbers: a worker takes one number of a
campaign at once, and another only when it has stayed free for :data:`SHARE_WAIT_POLLS` ticks, so an
idle worker takes it first; a worker that dies leaves its number free (at once on the same host,
after the lease's timeout elsewhere) and a live one takes it over.

Exactly once across restarts comes from the ledger: a row is ``in_flight`` before its request, a
restarted worker finds it due, and the runner's recovery settles it from the status webhooks before
anything is resent. :meth:`Worker.stop` (SIGTERM) lets the requests in flight finish and releases
the leases. Log lines are JSON, one per event, without phone numbers or secrets.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any, TextIO

import orjson

from .. import ledger
from ..clock import Clock, SystemClock
from ..ledger import control, rollups
from ..scrub import scrub
from .journeys import start_due_steps
from .sender import CampaignRunner, Progress, SendClient, SendOptions, unknown_resends

SHARE_WAIT_POLLS = 3
"""Ticks a free number of a campaign this worker already sends waits for another worker to take it."""

PROGRESS_SECONDS = 2.0
"""How often a runner of the worker reports progress (each report counts the campaign's rows); a
pause the runner takes itself is reported at once."""

FOLD_SECONDS = 60.0
"""How often a tick folds the notes of changes to the campaigns' figures however few
(:func:`.ledger.rollups.fold_oldest`; a chunk's worth is folded at once), so they stay bounded
while no dashboard reads them."""

OPTION_NAMES = frozenset(f.name for f in fields(SendOptions)) - {"phone_number_ids", "max_rate", "wait_for_later"}
"""The send options a submission may carry; the worker sets the numbers, the cap and the schedule."""


def submitted_options(options: dict[str, Any]) -> dict[str, Any]:
    """``options`` as the ledger keeps them for the worker (JSON values); unknown names and bad
    values (a pace above 50/s not confirmed) are refused here, at submission, not in the worker's log."""
    unknown = sorted(set(options) - OPTION_NAMES)
    if unknown:
        raise ValueError(f"not a send option: {', '.join(unknown)}")
    SendOptions(phone_number_ids=("checked-at-submission",), **options)
    return {k: getattr(v, "value", v) for k, v in options.items()}


class JsonLog:
    """Structured log lines: one JSON object per line with ``ts``, ``level``, ``event`` and fields."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr

    def __call__(self, event: str, level: str = "info", **fields: Any) -> None:
        line = {"ts": round(time.time(), 3), "level": level, "event": event, **fields}
        self.stream.write(orjson.dumps(line, default=str).decode() + "\n")
        self.stream.flush()


@dataclass
class _Run:
    runner: CampaignRunner
    task: asyncio.Task
    paused_by_request: bool = False


@dataclass
class Health:
    """What ``GET /health`` reports."""

    started: float = field(default_factory=time.time)
    last_tick: float | None = None
    ticks: int = 0
    runs_finished: int = 0


class Worker:
    """Sends the submitted campaigns of ``store`` through ``client`` from ``phone_number_ids``."""

    def __init__(
        self,
        store: Any,
        client: SendClient,
        phone_number_ids: tuple[str, ...],
        *,
        poll: float = 1.0,
        max_rate: float | None = None,
        clock: Clock | None = None,
        log: Callable[..., None] | None = None,
    ) -> None:
        if not phone_number_ids:
            raise ValueError("the worker needs at least one sending phone number id")
        self.store, self.client, self.phone_number_ids = store, client, tuple(phone_number_ids)
        self.poll, self.max_rate = poll, max_rate
        self.clock = clock or SystemClock()
        self.log = log or JsonLog()
        self.health = Health()
        self.runs: dict[tuple[str, str], _Run] = {}
        """The runners of this worker by (campaign, sending number)."""
        self._free_since: dict[tuple[str, str], float] = {}
        self._folded_at: float | None = None
        self._stop = asyncio.Event()

    # the loop ------------------------------------------------------------------------------------
    async def serve(self, once: bool = False) -> None:
        """Tick until :meth:`stop` (or, with ``once``, until no submitted campaign has work due now),
        then let the runs finish their requests in flight and release their leases."""
        self.log("worker_started", poll=self.poll, numbers=len(self.phone_number_ids))
        try:
            while not self._stop.is_set():
                try:
                    self.tick()
                    if once and not self.runs and not self._due_now():
                        break
                except Exception as exc:  # the ledger is unreachable: /health stops advancing; try again
                    self.log("tick_failed", level="error", error=scrub(f"{type(exc).__name__}: {exc}"))
                try:
                    await asyncio.wait_for(self._stop.wait(), self.poll)
                except TimeoutError:
                    pass
        finally:
            await self._stop_runs()
            self.log("worker_stopped", runs_finished=self.health.runs_finished)

    def stop(self) -> None:
        """Leave cleanly (SIGTERM/SIGINT): no new requests; those in flight finish; rows stay planned."""
        self._stop.set()

    def tick(self) -> None:
        """Pass the standing requests to the running campaigns; start the submitted ones that are due
        (opted-in held-by-Meta retries that came due are put back as planned rows first, and journey
        steps that came due are started as campaigns with a run request); fold a chunk of the notes
        of changes to the campaigns' figures when one is pending or the last fold is
        :data:`FOLD_SECONDS` old."""
        now = self.clock.now()
        for campaign_id in ledger.requeue_due_held(self.store, now):
            self.log("held_retries_due", campaign=campaign_id)
        try:
            for campaign_id in start_due_steps(self.store, now):
                self.log("journey_step_started", campaign=campaign_id)
        except Exception as exc:  # a step that cannot be planned must not stop the submitted campaigns
            self.log("journey_step_failed", level="error", error=scrub(f"{type(exc).__name__}: {exc}"))
        open_now = control.open_requests(self.store)
        for req in open_now:
            runs = self._runs_of(req.campaign_id)
            for run in runs:
                self._control(req, run)
            if req.request == "cancel" and not runs:
                self._cancel_idle(req.campaign_id, now)
            elif req.request == "run":
                self._start_due_numbers(req, now)
        still_open = {r.campaign_id for r in open_now}
        self._free_since = {k: v for k, v in self._free_since.items() if k[0] in still_open}
        if self._folded_at is None or now - self._folded_at >= FOLD_SECONDS:
            rollups.fold_oldest(self.store)
            self._folded_at = now
        else:
            rollups.fold_oldest(self.store, at_least=rollups.FOLD_CHUNK)
        self.health.last_tick, self.health.ticks = time.time(), self.health.ticks + 1

    def _runs_of(self, campaign_id: str) -> list[_Run]:
        return [run for (cid, _), run in self.runs.items() if cid == campaign_id]

    def _start_due_numbers(self, req: control.Request, now: float) -> None:
        """Start a runner for each number of this worker with rows of ``req``'s campaign due, that no
        other worker holds; a second number only once it stayed free for a few ticks."""
        cid = req.campaign_id
        held = ledger.held_elsewhere(self.store, cid)
        free = [n for n in self.phone_number_ids if (cid, n) not in self.runs and n not in held]
        if not free:  # every number is being sent from: no need to read the campaign's rows
            return
        if not self._is_due(req, now, tuple(free)):
            self._complete_if_settled(cid, now)
            return
        ledger.pin_numbers(self.store, cid, self.phone_number_ids)
        mono = time.monotonic()
        for number in free:
            if not self._is_due(req, now, (number,)):
                continue
            if self._runs_of(cid):
                first = self._free_since.setdefault((cid, number), mono)
                if mono - first < SHARE_WAIT_POLLS * self.poll:
                    continue
            self._free_since.pop((cid, number), None)
            self._start(req, number)

    def _complete_if_settled(self, campaign_id: str, now: float) -> None:
        """Mark a campaign complete whose every row is final while no runner sends it: the runner
        that sent its last rows died before it could say so (the others left the status to it)."""
        if self._runs_of(campaign_id) or sum(ledger.open_rows(self.store, campaign_id).values()):
            return
        if not ledger.held_elsewhere(self.store, campaign_id):
            ledger.set_campaign_status(self.store, campaign_id, "complete", now)
            self.log("campaign_completed", campaign=campaign_id, counts=_counts(self.store, campaign_id))

    def _due_now(self) -> bool:
        now = self.clock.now()
        return any(
            r.request == "run" and self._is_due(r, now, self.phone_number_ids)
            for r in control.open_requests(self.store)
        )

    def _is_due(self, req: control.Request, now: float, numbers: tuple[str, ...]) -> bool:
        """Whether ``req``'s campaign has work due now from ``numbers``: a row of
        :func:`control.next_due_at`, or an ``unknown`` row whose resend came due (a run that waited
        for it was stopped, and left the campaign paused). With options this worker refuses (a pace
        above its ``max_rate``), every ``unknown`` row is due, when no resend time can be told: the
        start refuses the campaign in the log and holds it for a person, as with a planned row."""
        start_at = req.options.get("start_at") or 0.0
        due = control.next_due_at(self.store, req.campaign_id, numbers)
        if due is not None and max(due, start_at) <= now:
            return True
        try:
            options = self._send_options(req, numbers)
        except (ValueError, TypeError):
            return start_at <= now and bool(ledger.unknown_sends(self.store, req.campaign_id, numbers))
        resends = unknown_resends(self.store, req.campaign_id, numbers, options).values()
        return max(min(resends, default=now + 1), start_at) <= now

    # one campaign ----------------------------------------------------------------------------------
    def _control(self, req: control.Request, run: _Run) -> None:
        runner = run.runner
        if req.request == "cancel":
            runner.cancel()
        elif req.request == "pause" and not runner.paused:
            run.paused_by_request = True
            runner.pause()
            self.log("campaign_paused", campaign=req.campaign_id)
        elif req.request == "run" and run.paused_by_request:
            run.paused_by_request = False
            runner.resume()
            self.log("campaign_resumed", campaign=req.campaign_id)

    def _send_options(self, req: control.Request, numbers: tuple[str, ...]) -> SendOptions:
        """How this worker sends ``req``'s campaign from ``numbers``: the submitted options, its cap."""
        options = {k: v for k, v in req.options.items() if k in OPTION_NAMES}
        return SendOptions(
            phone_number_ids=numbers,
            max_rate=self.max_rate,
            wait_for_later=False,
            **{"progress_interval": PROGRESS_SECONDS, **options},
        )

    def _start(self, req: control.Request, number: str) -> None:
        try:
            send_options = self._send_options(req, (number,))
            runner = CampaignRunner(self.store, self.client, req.campaign_id, send_options, clock=self.clock)
        except (ValueError, TypeError, ledger.LedgerError) as exc:
            self._refuse(req.campaign_id, exc)
            return
        key = (req.campaign_id, number)
        runner.on_progress = lambda p: self._on_progress(key, p)
        task = asyncio.get_running_loop().create_task(self._run(key, runner))
        self.runs[key] = _Run(runner, task)

    async def _run(self, key: tuple[str, str], runner: CampaignRunner) -> None:
        campaign_id, number = key
        try:
            self.log(
                "campaign_started",
                campaign=campaign_id,
                number=number,
                pace=runner.options.rate,
                counts=_counts(self.store, campaign_id),
            )
            progress = await runner.run()
        except ledger.LedgerError as exc:  # another process holds the lease: it sends from that number
            self.log("campaign_skipped", campaign=campaign_id, number=number, reason=scrub(str(exc)))
        except Exception as exc:  # the database or a bug: stop this campaign, keep the worker up
            self.log("campaign_error", level="error", campaign=campaign_id, error=scrub(f"{type(exc).__name__}: {exc}"))
            self._hold_for_review(campaign_id)
        else:
            self.health.runs_finished += 1
            self.log(
                "campaign_run_ended",
                campaign=campaign_id,
                number=number,
                status=progress.status,
                counts=_counts(self.store, campaign_id),
                message=progress.message or None,
            )
        finally:
            self.runs.pop(key, None)

    def _on_progress(self, key: tuple[str, str], p: Progress) -> None:
        """A pause the runner took itself with a message (account or connection problem) needs a
        person: the run ends and the request becomes ``pause``, so it is not restarted every tick
        (the campaign's other runners pause on the next tick)."""
        campaign_id = key[0]
        run = self.runs.get(key)
        if p.status == "paused" and p.message and run is not None and not run.paused_by_request:
            self.log("campaign_needs_attention", level="warning", campaign=campaign_id, message=p.message)
            run.runner.stop()
            self._hold_for_review(campaign_id)

    def _hold_for_review(self, campaign_id: str) -> None:
        try:
            control.request(self.store, campaign_id, "pause", self.clock.now())
        except Exception as exc:  # the database is gone: the next tick will say so
            self.log("request_write_failed", level="error", campaign=campaign_id, error=type(exc).__name__)

    def _refuse(self, campaign_id: str, exc: Exception) -> None:
        self.log("campaign_refused", level="error", campaign=campaign_id, error=scrub(str(exc)))
        self._hold_for_review(campaign_id)

    def _cancel_idle(self, campaign_id: str, now: float) -> None:
        """Cancel a campaign no runner of this worker has, under the leases of its numbers, when no
        other worker sends it (one that does cancels it)."""
        if ledger.held_elsewhere(self.store, campaign_id):
            return
        try:
            ledger.acquire_lease(self.store, campaign_id, self.phone_number_ids)
        except ledger.LedgerError:
            return
        try:
            ledger.cancel_open(self.store, campaign_id, now)
            ledger.set_campaign_status(self.store, campaign_id, "cancelled", now)
        finally:
            ledger.release_lease(self.store, campaign_id, self.phone_number_ids)
        self.log("campaign_cancelled", campaign=campaign_id, counts=_counts(self.store, campaign_id))

    async def _stop_runs(self) -> None:
        for run in list(self.runs.values()):
            run.runner.stop()
        await asyncio.gather(*(r.task for r in list(self.runs.values())), return_exceptions=True)

    # what /health and /counts answer ---------------------------------------------------------------
    def health_report(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "campaigns": sorted({cid for cid, _ in self.runs}),
            "numbers": {cid: sorted(n for c, n in self.runs if c == cid) for cid, _ in self.runs},
            "last_tick": self.health.last_tick,
            "ticks": self.health.ticks,
            "runs_finished": self.health.runs_finished,
            "uptime": round(time.time() - self.health.started, 3),
        }

    def counts_report(self) -> dict[str, Any]:
        """Per open or running campaign: its request, status and ledger state counts."""
        out: dict[str, Any] = {}
        for req in control.open_requests(self.store):
            out[req.campaign_id] = {
                "request": req.request,
                "status": req.status,
                "running_here": bool(self._runs_of(req.campaign_id)),
                "counts": _counts(self.store, req.campaign_id),
            }
        return out


def _counts(store: Any, campaign_id: str) -> dict[str, int]:
    return {k: int(v) for k, v in ledger.state_counts(store, campaign_id).items() if v}
