"""The paced async sender: sends a campaign's planned ledger rows through the Cloud API.

Each row is marked ``in_flight`` (committed) before its request, so a crash never loses track of
what may have gone out. Run it again to resume: rows left in flight become ``unknown`` and are
settled from status webhooks before the :class:`UnknownPolicy` allows a resend.

A run is ``complete`` only when every row is final. Rows still ``unknown`` at the end (no answer
and no status webhook after ``max_attempts``, or never resent by policy) end the run as
``needs_review`` (the campaign stays ``paused`` in the ledger): a later resume settles them from
the status webhooks that arrived meanwhile and never sends them again.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Protocol

from .. import ledger
from ..clock import Clock, SystemClock
from ..cloudapi.errors import CloudAPIError, OutcomeUnknownError
from ..compliance import SendTimeCheck, marketing_taken, release_marketing, reserve_marketing
from ..ledger import control
from ..scrub import scrub
from ..store import Store
from .due import DueQueue
from .pacing import NumberPool, PairLimiter
from .planned_policy import campaign_policy
from .policy import TITLE_LIMIT, Fail, Pause, PauseReason, Throttle, Unknown, decide, template_hold, unknown_resend_at
from .progress import ERRORS_REFRESH, Progress, ProgressMeter
from .send_api import campaign_api, check_api, send_function
from .send_options import SendOptions, UnknownPolicy
from .template_status import template_block, template_of

__all__ = [
    "ERRORS_REFRESH",
    "CampaignRunner",
    "Progress",
    "SendOptions",
    "UnknownPolicy",
    "send_campaign",
    "unknown_resends",
]

DISPATCH_TICK = 0.01
"""The dispatcher wakes at most every 10 ms and claims what the buckets allow in one ledger
transaction with the outcomes of the last tick (buckets save up 50 ms, so no rate is lost)."""
TEMPLATE_CHECK_SECONDS = 0.5
"""How often (real seconds) the run re-reads its templates' status from the webhooks recorded."""


_RUNNING: set[tuple[str, str]] = set()
"""(campaign, number) pairs this process is sending from now (other processes are kept out by the
ledger's leases)."""


class Reserve(Protocol):
    def __call__(self, store: Store, phone: str, campaign_id: str, now: float) -> bool: ...


class SendClient(Protocol):
    async def send_message(self, phone_number_id: str, payload: dict[str, Any]) -> Any: ...


class CampaignRunner:
    """Sends one campaign from ``options.phone_number_ids``; ``await run()`` to start or resume,
    ``pause()``/``resume()``/``cancel()`` from anywhere (plain flags, safe from another thread).

    Each row is pinned to one sending number (rows not pinned yet are spread over this runner's
    numbers) and goes out from it at that number's pace; the runner holds the lease of each of its
    numbers, so another process can send the same campaign from other numbers at the same time."""

    def __init__(
        self,
        store: Store,
        client: SendClient,
        campaign_id: str,
        options: SendOptions,
        *,
        clock: Clock | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        reserve: Reserve | None = None,
    ) -> None:
        self.store = store
        self.client = client
        self.campaign_id = campaign_id
        self.options = options
        self.clock = clock or SystemClock()
        self.on_progress = on_progress
        self.info = ledger.campaign_info(store, campaign_id)
        marketing = self._marketing = self.info["category"] == "marketing"
        self.reserve = reserve if reserve is not None else (reserve_marketing if marketing else None)
        self.checks = SendTimeCheck(store, self.info["category"], campaign_policy(self.info))
        self.api = check_api(campaign_api(self.info), self.info["category"])
        self._post = send_function(client, self.api)
        self._paused = False
        self._cancelled = False
        self._stopped = False
        self._message = ""
        self._rng = random.Random(options.seed)
        self._due = DueQueue()
        self._waiting_unknown: dict[int, float] = {}
        self._outcomes: list[ledger.Outcome] = []
        self._busy = 0
        self._template_wait: tuple[str, str] | None = None
        """The template Meta paused that holds this run; the run resumes when Meta re-approves it."""
        self.numbers = tuple(options.phone_number_ids)
        self._pacers = NumberPool(self.numbers, options.rate, time.monotonic())
        self._pair = PairLimiter(options.pair_interval)
        self._queue: asyncio.Queue[tuple[ledger.SendRow, int, str] | None] = asyncio.Queue()
        self.meter = ProgressMeter(store, campaign_id)
        self._last_progress = 0.0

    # control -----------------------------------------------------------------------------
    def pause(self) -> None:
        """Stop starting new requests (those in flight finish); ``resume()`` continues."""
        self._paused = True

    def resume(self) -> None:
        self._paused = False
        self._message = ""

    def cancel(self) -> None:
        """Stop: requests in flight finish, every row not yet sent becomes ``cancelled``."""
        self._cancelled = True

    def stop(self) -> None:
        """Leave the run: requests in flight finish, the rest stays planned for a later resume."""
        self._stopped = True

    @property
    def paused(self) -> bool:
        return self._paused

    # run ---------------------------------------------------------------------------------
    async def run(self) -> Progress:
        """Send (or resume) until every row is final, the run is cancelled, or nothing is left to do now."""
        if self.info["status"] in ("cancelled", "complete"):
            return self.progress(self.info["status"])
        shards = {(self.campaign_id, n) for n in self.numbers}
        if shards & _RUNNING:
            raise ledger.LedgerError(f"campaign {self.campaign_id!r} is already being sent in this process")
        ledger.acquire_lease(self.store, self.campaign_id, self.numbers)
        _RUNNING.update(shards)
        try:
            return await self._run()
        finally:
            _RUNNING.difference_update(shards)
            ledger.release_lease(self.store, self.campaign_id, self.numbers)

    async def _run(self) -> Progress:
        now = self.clock.now()
        ledger.set_campaign_status(self.store, self.campaign_id, "running", now)
        control.record_options(self.store, self.campaign_id, self.options.pace_request(), now)  # its steps' pace
        ledger.pin_numbers(self.store, self.campaign_id, self.numbers)
        ledger.recover_in_flight(self.store, self.campaign_id, now, self.numbers)
        self._prepare_unknown(now)
        start_at = self.options.start_at or 0.0
        for row in ledger.planned_sends(self.store, self.campaign_id, numbers=self.numbers):
            self._due.push(row, max(row.planned_at, start_at))
        for row in ledger.pending_holdouts(
            self.store, self.campaign_id, self.numbers
        ):  # checked when a message would go
            self._due.push(row, max(row.planned_at, start_at))
        workers = [asyncio.get_running_loop().create_task(self._worker()) for _ in range(self.options.concurrency)]
        self.meter.start = time.monotonic()
        self._emit(force=True)
        try:
            status = await self._loop()
        finally:
            await self._drain(workers)
        return self._finish(status)

    async def _loop(self) -> str:
        next_unknown_check = next_prune = next_template_check = 0.0
        while True:
            now = self.clock.now()
            if time.monotonic() >= next_template_check:
                self._check_templates()
                next_template_check = time.monotonic() + TEMPLATE_CHECK_SECONDS
            if time.monotonic() >= next_prune:
                self._pair.prune(time.monotonic())
                ledger.renew_lease(self.store, self.campaign_id)
                next_prune = time.monotonic() + 2.0
            if self._cancelled:
                return "cancelled"
            if self._stopped:
                return "paused"
            if self._paused:
                ledger.set_campaign_status(self.store, self.campaign_id, "paused", now)
                self._emit(force=True)
                while self._paused and not (self._cancelled or self._stopped):
                    await asyncio.sleep(0.05)
                    self._flush()
                    if self._template_wait is not None and time.monotonic() >= next_template_check:
                        self._check_templates()
                        next_template_check = time.monotonic() + TEMPLATE_CHECK_SECONDS
                    if time.monotonic() >= next_prune:
                        ledger.renew_lease(self.store, self.campaign_id)
                        next_prune = time.monotonic() + 2.0
                if not (self._cancelled or self._stopped):
                    ledger.set_campaign_status(self.store, self.campaign_id, "running", self.clock.now())
                continue
            if self._waiting_unknown and time.monotonic() >= next_unknown_check:
                self._check_unknown(now)
                next_unknown_check = time.monotonic() + 0.5
            if not self._due:
                if not self._busy and not self._waiting_unknown:
                    return "done"
                self._flush()
                self._emit()
                await asyncio.sleep(0.02)
                continue
            due = self._due.next_due
            idle = not self._busy and not self._waiting_unknown
            if due > now and idle and not self.options.wait_for_later:
                return "done"
            if due > now:
                self._flush()
                self._emit()
                await asyncio.sleep(min(0.2, due - now))
                continue
            launch, wait = self._admit(now, time.monotonic())
            if launch:
                self._launch(launch, now)
            else:
                self._flush()
            self._emit()
            await asyncio.sleep(min(max(wait, DISPATCH_TICK), 0.05))

    def _admit(self, now: float, mono: float) -> tuple[list[tuple[ledger.SendRow, int, str]], float]:
        """Rows due now that the pair rate, a number's bucket, the send-time compliance check and the
        24 h reservation let through, each with its attempt number and sending number; and how long
        until a bucket has a token."""
        room = 2 * self.options.concurrency - self._busy  # claimed rows waiting for a worker stay few
        due, wait = self._due.take(now, mono, room, self._pacers, self._pair)
        if not due:
            return [], wait
        verdicts = self.checks.check(
            [r.phone for r, _ in due], [r.message_type for r, _ in due], [r.timezone for r, _ in due], now
        )
        launch: list[tuple[ledger.SendRow, int, str]] = []
        for (row, pacer), verdict in zip(due, verdicts, strict=True):
            if pacer is not None and verdict.reason:  # its token goes back: nothing is sent
                pacer.refund()
            if verdict.defer_to is not None:
                self._outcomes.append(
                    ledger.Outcome(
                        row.send_id, row.attempts, "deferred", now, reason=verdict.reason, planned_at=verdict.defer_to
                    )
                )
                self._due.push(row, verdict.defer_to)
                continue
            if row.holdout:  # excluded exactly when a message would have been, so both sides count alike
                capped = self._marketing and marketing_taken(self.store, row.phone, self.campaign_id, now)
                reason = verdict.reason or ("marketing_cap_24h" if capped else "holdout")
                self._outcomes.append(ledger.Outcome(row.send_id, 0, "held", now, reason=reason))
                continue
            if verdict.reason:
                self._outcomes.append(ledger.Outcome(row.send_id, row.attempts, "excluded", now, reason=verdict.reason))
                continue
            if self.reserve is not None and not self.reserve(self.store, row.phone, self.campaign_id, now):
                pacer.refund()
                self._outcomes.append(
                    ledger.Outcome(row.send_id, row.attempts, "excluded", now, reason="marketing_cap_24h")
                )
                continue
            self._pair.note_sent(row.phone, mono)
            launch.append((row, row.attempts + 1, pacer.phone_number_id))
        return launch, wait

    def _launch(self, launch: list[tuple[ledger.SendRow, int, str]], now: float) -> None:
        """Claim the rows (with the last outcomes, one commit), then hand them to the workers."""
        done, self._outcomes = self._outcomes, []
        claimed = set(ledger.claim(self.store, ((r.send_id, n, pid) for r, n, pid in launch), now, done, api=self.api))
        for item in launch:
            if item[0].send_id in claimed:  # else cancelled or settled meanwhile: not ours to send
                self._busy += 1
                self._queue.put_nowait(item)
        if claimed:
            self.meter.claimed(len(claimed))

    async def _worker(self) -> None:
        """One of ``concurrency`` workers: sends claimed rows one after another."""
        while (item := await self._queue.get()) is not None:
            try:
                await self._send_one(*item)
            except Exception as exc:  # recording failed (e.g. the database): stop starting new sends
                self._message = scrub(f"paused: {type(exc).__name__}: {exc}")
                self._paused = True

    async def _send_one(self, row: ledger.SendRow, attempt: int, phone_number_id: str) -> None:
        t0 = time.monotonic()
        try:
            result = await self._post(phone_number_id, row.payload)
        except CloudAPIError as exc:
            self._on_error(row, attempt, phone_number_id, exc)
        except Exception as exc:  # a bug or unexpected transport failure: the outcome is unknown
            self._on_error(
                row, attempt, phone_number_id, OutcomeUnknownError(f"unexpected {type(exc).__name__} while sending")
            )
        else:
            self.meter.accepted()
            self._outcomes.append(
                ledger.Outcome(row.send_id, attempt, "accepted", self.clock.now(), wamid=result.wamid, http_status=200)
            )
        finally:
            self.meter.answered(time.monotonic() - t0)
            self._busy -= 1

    def _on_error(self, row: ledger.SendRow, attempt: int, phone_number_id: str, exc: CloudAPIError) -> None:
        """Apply the policy's decision: record the outcome, queue the row again, set the flags."""
        now = self.clock.now()
        decision = decide(
            exc,
            attempt=attempt,
            throttled=row.throttled,
            template=template_of(row.payload),
            options=self.options,
            now=now,
            jitter=self._rng.random(),
        )
        common = dict(
            error_code=exc.code,
            error_title=exc.message[:TITLE_LIMIT],
            http_status=exc.http_status,
            details=(exc.details or exc.message)[:500],
            fbtrace_id=exc.fbtrace_id or None,
        )
        again = replace(row, attempts=attempt)
        if isinstance(decision, Unknown):
            self._outcomes.append(ledger.Outcome(row.send_id, attempt, "unknown", now, **common))
            if decision.resend_at is not None:
                self._waiting_unknown[row.send_id] = decision.resend_at
        elif isinstance(decision, Fail):
            common["error_title"] = decision.title
            self._fail(row, attempt, now, common)
        else:
            self._outcomes.append(ledger.Outcome(row.send_id, attempt, "retry", now, **common))
            if isinstance(decision, Pause):
                self._due.push(again, now)
                self._hold(decision)
            elif isinstance(decision, Throttle):
                self.meter.throttled += 1
                self._pacers.throttled(phone_number_id, time.monotonic())  # AIMD: the number slows down
                self._due.push(replace(again, throttled=decision.throttled), decision.at)
            else:
                if decision.hold_recipient:
                    self._pair.hold(row.phone, decision.at - now, time.monotonic())
                self._due.push(again, decision.at)

    def _fail(self, row: ledger.SendRow, attempt: int, now: float, common: dict[str, Any]) -> None:
        self._outcomes.append(ledger.Outcome(row.send_id, attempt, "failed", now, **common))
        if self.reserve is reserve_marketing:
            release_marketing(self.store, row.phone, self.campaign_id)  # it never reached them

    # unknown outcomes ---------------------------------------------------------------------
    def _prepare_unknown(self, now: float) -> None:
        """Settle what webhooks already told; per policy, plan when the rest may be resent."""
        ledger.reconcile_unknown(self.store, self.campaign_id, now)
        self._waiting_unknown.update(unknown_resends(self.store, self.campaign_id, self.numbers, self.options))

    def _check_unknown(self, now: float) -> None:
        self._flush()
        ledger.reconcile_unknown(self.store, self.campaign_id, now)
        still = {sid for sid, _ in ledger.unknown_sends(self.store, self.campaign_id, self.numbers)}
        due = [sid for sid, t in self._waiting_unknown.items() if sid in still and t <= now]
        for sid in [s for s in self._waiting_unknown if s not in still]:
            del self._waiting_unknown[sid]
        if not due:
            return
        for sid in due:
            del self._waiting_unknown[sid]
        ledger.requeue(self.store, due, now)
        self.meter.resent += len(due)
        for row in ledger.planned_sends(self.store, self.campaign_id, due):
            self._due.push(row, now)

    # bookkeeping --------------------------------------------------------------------------
    def _check_templates(self) -> None:
        """Pause when Meta paused (or disabled) one of the campaign's templates; resume on our own
        when a pause we took for it is lifted (its status is back to APPROVED)."""
        if self._template_wait is not None and self._paused:
            if template_block(self.store, *self._template_wait) is None:
                self._template_wait = None
                self.resume()
            return
        for name, language in sorted(self._due.templates):
            block = template_block(self.store, name, language)
            if block is not None:
                self._hold(template_hold(name, language, block))
                return

    def _hold(self, pause: Pause) -> None:
        """Stop starting sends: wait while Meta pauses a template (resumed by
        :meth:`_check_templates`), leave the run for a disabled one, else wait for ``resume()``."""
        self._message = pause.message
        if pause.leaves:
            self._stopped = True
            return
        self._paused = True
        if pause.reason is PauseReason.TEMPLATE_PAUSED:
            self._template_wait = pause.template

    def _flush(self) -> None:
        if self._outcomes:
            batch, self._outcomes = self._outcomes, []
            ledger.record_outcomes(self.store, batch)

    async def _drain(self, workers: list[asyncio.Task]) -> None:
        """Let the claimed rows go out (they are in flight in the ledger), then stop the workers."""
        while self._busy and all(not w.done() for w in workers):
            await asyncio.sleep(0.005)
        for _ in workers:
            self._queue.put_nowait(None)
        await asyncio.gather(*workers, return_exceptions=True)
        self._flush()

    def _finish(self, status: str) -> Progress:
        now = self.clock.now()
        if status == "cancelled":
            ledger.cancel_open(self.store, self.campaign_id, now)
        review = 0
        if status == "done":
            mine = ledger.open_rows(self.store, self.campaign_id, self.numbers)
            still = mine["planned"] + mine["in_flight"]
            review = mine["unknown"] if still == 0 else 0
            status = "complete" if sum(ledger.open_rows(self.store, self.campaign_id).values()) == 0 else "paused"
        if status == "complete" or not ledger.held_elsewhere(self.store, self.campaign_id):
            ledger.set_campaign_status(self.store, self.campaign_id, status, now)  # else the other sender says
        if review:
            status = "needs_review"
            self._message = (
                f"{review:,} recipient(s) with an unknown outcome: the request left, but neither an "
                "answer nor a status webhook came. They are not sent again; resume later to settle "
                "them from status webhooks (or check the ledger's 'unknown' rows)"
            )
        self.meter.refresh_errors()  # the last report reads the ledger's errors fresh
        progress = self.progress(status)
        if self.on_progress:
            self.on_progress(progress)
        return progress

    def progress(self, status: str | None = None) -> Progress:
        """A snapshot now (reads the ledger, so webhook updates show too)."""
        if status is None:
            status = "paused" if self._paused else ("cancelling" if self._cancelled else "running")
        return self.meter.snapshot(
            status, pace=self._pacers.rate, message=self._message, unknown_waiting=len(self._waiting_unknown)
        )

    def _emit(self, force: bool = False) -> None:
        if self.on_progress is None:
            return
        mono = time.monotonic()
        if force or mono - self._last_progress >= self.options.progress_interval:
            self._last_progress = mono
            self._flush()
            self.on_progress(self.progress())


def unknown_resends(store: Store, campaign_id: str, numbers: tuple[str, ...], options: SendOptions) -> dict[int, float]:
    """The ``unknown`` rows of ``campaign_id`` pinned to ``numbers`` that the unknown policy of
    ``options`` resends when no status webhook settles them first, and when; the others wait for a
    person (a run ends ``needs_review`` with them)."""
    attempts = ledger.counted_attempts_of_unknown(store, campaign_id, numbers)  # not throttles
    resends = {}
    for send_id, started in ledger.unknown_sends(store, campaign_id, numbers):
        resend_at = unknown_resend_at(started, attempts.get(send_id, 0), options)
        if resend_at is not None:
            resends[send_id] = resend_at
    return resends


async def send_campaign(
    store: Store,
    client: SendClient,
    campaign_id: str,
    options: SendOptions,
    **kwargs: Any,
) -> Progress:
    """Send or resume ``campaign_id`` to the end; the one-call form of :class:`CampaignRunner`."""
    return await CampaignRunner(store, client, campaign_id, options, **kwargs).run()
