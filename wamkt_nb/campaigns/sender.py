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
import heapq
import itertools
import random
import time
from collections import deque
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, Callable, Protocol

import pandas as pd

from ..clock import Clock, SystemClock
from ..cloudapi.errors import (
    CloudAPIError, InvalidURLError, OutcomeUnknownError, PairRateLimitError, RateLimitError, TransportError,
    error_meaning,
)
from ..compliance import SendTimeCheck, marketing_taken, release_marketing, reserve_marketing
from .. import ledger
from ..ledger.states import HELD_BY_META, HELD_LABEL
from ..scrub import scrub
from ..store import Store
from .policy import campaign_policy
from .template_status import TEMPLATE_DISABLED, TEMPLATE_PAUSED, template_block, template_of
from .pacing import NumberPacer, PairLimiter, jittered, resolve_rate
from .send_api import campaign_api, check_api, send_function

DISPATCH_TICK = 0.01
"""The dispatcher wakes at most every 10 ms and claims what the buckets allow in one ledger
transaction with the outcomes of the last tick (buckets save up 50 ms, so no rate is lost)."""
ERRORS_REFRESH = 0.5
"""The error breakdown is read from the ledger (where status webhooks write async failures) at
most this often, however often progress is reported."""
STOP_CODES = frozenset({190, 368, 131031})
TEMPLATE_CHECK_SECONDS = 0.5
"""How often (real seconds) the run re-reads its templates' status from the webhooks recorded."""
"""Errors that concern the account, not the recipient: the run pauses instead of failing rows."""


_RUNNING: set[str] = set()
"""Campaigns this process is sending now (other processes are kept out by the ledger's lease)."""


class UnknownPolicy(str, Enum):
    """What to do with a request whose outcome was lost (timeout, dropped response, crash)."""

    WAIT_THEN_RESEND = "wait_then_resend"
    """Wait up to ``unknown_wait`` seconds for a status webhook; resend if none came (may duplicate)."""
    NEVER_RESEND = "never_resend"
    """Never resend: the row stays ``unknown`` unless a webhook settles it (may lose the message)."""


@dataclass(frozen=True)
class SendOptions:
    """How a campaign is sent; every limit here is visible to the analyst."""

    phone_number_ids: tuple[str, ...]
    pace: str | float = "safe"
    confirm_high_rate: bool = False
    max_rate: float | None = None
    """The per-number cap of a real number (settings ``max_rate``); None for the sandbox."""
    concurrency: int = 8
    max_attempts: int = 5
    unknown_policy: UnknownPolicy = UnknownPolicy.WAIT_THEN_RESEND
    unknown_wait: float = 60.0
    start_at: float | None = None
    pair_interval: float = 6.0
    wait_for_later: bool = True
    """Keep running until rows planned for later are due; False sends what is due now and stops."""
    max_throttled: int = 30
    """Throttle answers (130429) do not count as attempts; a row throttled this often fails anyway
    (the number's limit is far below the pace for a long time: something to look at)."""
    backoff_scale: float = 1.0
    """Multiplies the wait each error class suggests (``retry_after``); below 1 only for tests."""
    progress_interval: float = 0.25
    seed: int | None = None

    def __post_init__(self) -> None:
        if not self.phone_number_ids:
            raise ValueError("at least one sending phone number id is needed")
        if self.concurrency < 1 or self.max_attempts < 1 or self.max_throttled < 1:
            raise ValueError("concurrency, max_attempts and max_throttled must be at least 1")
        object.__setattr__(self, "unknown_policy", UnknownPolicy(self.unknown_policy))
        resolve_rate(self.pace, confirm_high_rate=self.confirm_high_rate, max_rate=self.max_rate)  # fail early

    @property
    def rate(self) -> float:
        """Messages per second per phone number."""
        return resolve_rate(self.pace, confirm_high_rate=self.confirm_high_rate, max_rate=self.max_rate)


@dataclass
class Progress:
    """A snapshot of a running campaign, passed to the progress callback."""

    campaign_id: str
    status: str
    total: int
    counts: dict[str, int]
    elapsed: float
    rate: float
    eta_seconds: float | None
    errors: dict[int | None, int] = field(default_factory=dict)
    traces: dict[int | None, str] = field(default_factory=dict)
    """The latest ``fbtrace_id`` Meta gave per error code (for a support request)."""
    meanings: dict[int | None, str] = field(default_factory=dict)
    """Each code's meaning as :func:`ledger.error_breakdown` gives it."""
    requests: int = 0
    throttled: int = 0
    resent_after_unknown: int = 0
    pace: float = 0.0
    message: str = ""
    unknown_waiting: int = 0
    held: int = 0
    """Failed rows that are Meta holding the message back (131049), not failures of ours."""

    @property
    def failed_ours(self) -> int:
        """Failures, without the messages Meta held back."""
        return self.counts["failed"] - self.held

    @property
    def done(self) -> int:
        """Rows in a final state, plus ``unknown`` rows that will not be resent."""
        unknown_final = max(0, self.counts["unknown"] - self.unknown_waiting)
        return sum(self.counts[s] for s in ledger.FINAL_STATES) + unknown_final

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0

    def errors_frame(self) -> pd.DataFrame:
        """Errors by Meta code with their meaning and latest fbtrace_id, most frequent first; a
        131049 says it is Meta holding the message back, not a failure."""
        rows = [{"code": c, "count": n,
                 "meaning": (f"{HELD_LABEL} (not a failure): {error_meaning(c)}" if c == HELD_BY_META
                             else self.meanings.get(c) or error_meaning(c)),
                 "fbtrace_id": self.traces.get(c)}
                for c, n in sorted(self.errors.items(), key=lambda kv: -kv[1])]
        return pd.DataFrame(rows, columns=["code", "count", "meaning", "fbtrace_id"])


class Reserve(Protocol):
    def __call__(self, store: Store, phone: str, campaign_id: str, now: float) -> bool: ...


class SendClient(Protocol):
    async def send_message(self, phone_number_id: str, payload: dict[str, Any]) -> Any: ...


class CampaignRunner:
    """Sends one campaign; ``await run()`` to start or resume, ``pause()``/``resume()``/``cancel()``
    from anywhere (plain flags, safe from another thread)."""

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
        self._seq = itertools.count()
        # (due, sequence, row): plain tuples, so the heap compares in C, not through Python methods
        self._heap: list[tuple[float, int, ledger.SendRow]] = []
        self._waiting_unknown: dict[int, float] = {}
        self._outcomes: list[ledger.Outcome] = []
        self._busy = 0
        self._turn = 0
        self._errors: dict[int | None, int] = {}
        self._traces: dict[int | None, str] = {}
        self._meanings: dict[int | None, str] = {}
        self._errors_at = float("-inf")
        self._held = 0
        self._templates: set[tuple[str, str]] = set()
        self._template_wait: tuple[str, str] | None = None
        """The template Meta paused that holds this run; the run resumes when Meta re-approves it."""
        self._requests = 0
        self._throttled = 0
        self._resent = 0
        self._sent_times: deque[float] = deque(maxlen=20_000)
        self._start = time.monotonic()
        self._last_progress = 0.0
        self.latencies: deque[float] = deque(maxlen=200_000)
        self.dispatched = 0
        self.first_dispatch = self.last_dispatch = 0.0

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
        if self.campaign_id in _RUNNING:
            raise ledger.LedgerError(f"campaign {self.campaign_id!r} is already being sent in this process")
        ledger.acquire_lease(self.store, self.campaign_id)
        _RUNNING.add(self.campaign_id)
        try:
            return await self._run()
        finally:
            _RUNNING.discard(self.campaign_id)
            ledger.release_lease(self.store, self.campaign_id)

    async def _run(self) -> Progress:
        now = self.clock.now()
        ledger.set_campaign_status(self.store, self.campaign_id, "running", now)
        ledger.recover_in_flight(self.store, self.campaign_id, now)
        self._prepare_unknown(now)
        start_at = self.options.start_at or 0.0
        for row in ledger.planned_sends(self.store, self.campaign_id):
            self._push(row, max(row.planned_at, start_at))
        for row in ledger.pending_holdouts(self.store, self.campaign_id):  # checked when a message would go
            self._push(row, max(row.planned_at, start_at))
        mono = time.monotonic()
        self._pacers = [NumberPacer(pid, self.options.rate, mono) for pid in self.options.phone_number_ids]
        self._pair = PairLimiter(self.options.pair_interval)
        self._queue: asyncio.Queue = asyncio.Queue()
        workers = [asyncio.get_running_loop().create_task(self._worker())
                   for _ in range(self.options.concurrency)]
        self._start = mono
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
            if not self._heap:
                if not self._busy and not self._waiting_unknown:
                    return "done"
                self._flush()
                self._emit()
                await asyncio.sleep(0.02)
                continue
            due = self._heap[0][0]
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
        due: list[tuple[ledger.SendRow, NumberPacer | None]] = []
        wait = 0.0
        while self._heap and self._heap[0][0] <= now and len(due) < room:
            row = self._heap[0][2]
            if row.holdout:  # nothing is sent: no pair slot, no token
                heapq.heappop(self._heap)
                due.append((row, None))
                continue
            pair_wait = self._pair.wait_time(row.phone, mono)
            if pair_wait > 0:
                heapq.heappop(self._heap)
                self._push(row, now + pair_wait)
                continue
            pacer, wait = self._take_token(mono)
            if pacer is None:
                break
            heapq.heappop(self._heap)
            due.append((row, pacer))
        if not due:
            return [], wait
        verdicts = self.checks.check([r.phone for r, _ in due], [r.message_type for r, _ in due],
                                     [r.timezone for r, _ in due], now)
        launch: list[tuple[ledger.SendRow, int, str]] = []
        for (row, pacer), verdict in zip(due, verdicts):
            if pacer is not None and verdict.reason:  # its token goes back: nothing is sent
                pacer.refund()
            if verdict.defer_to is not None:
                self._outcomes.append(ledger.Outcome(row.send_id, row.attempts, "deferred", now,
                                                     reason=verdict.reason, planned_at=verdict.defer_to))
                self._push(row, verdict.defer_to)
                continue
            if row.holdout:  # excluded exactly when a message would have been, so both sides count alike
                capped = self._marketing and marketing_taken(self.store, row.phone, self.campaign_id, now)
                reason = verdict.reason or ("marketing_cap_24h" if capped else "holdout")
                self._outcomes.append(ledger.Outcome(row.send_id, 0, "held", now, reason=reason))
                continue
            if verdict.reason:
                self._outcomes.append(ledger.Outcome(row.send_id, row.attempts, "excluded", now,
                                                     reason=verdict.reason))
                continue
            if self.reserve is not None and not self.reserve(self.store, row.phone, self.campaign_id, now):
                pacer.refund()
                self._outcomes.append(ledger.Outcome(row.send_id, row.attempts, "excluded", now,
                                                     reason="marketing_cap_24h"))
                continue
            self._pair.note_sent(row.phone, mono)
            launch.append((row, row.attempts + 1, pacer.phone_number_id))
        return launch, wait

    def _take_token(self, mono: float) -> tuple[NumberPacer | None, float]:
        """A token from the next number in turn that has one; else the shortest wait for one."""
        waits = []
        for i in range(len(self._pacers)):
            pacer = self._pacers[(self._turn + i) % len(self._pacers)]
            wait = pacer.try_take(mono)
            if wait == 0.0:
                self._turn = (self._turn + i + 1) % len(self._pacers)
                return pacer, 0.0
            waits.append(wait)
        return None, min(waits)

    def _launch(self, launch: list[tuple[ledger.SendRow, int, str]], now: float) -> None:
        """Claim the rows (with the last outcomes, one commit), then hand them to the workers."""
        done, self._outcomes = self._outcomes, []
        claimed = set(ledger.claim(self.store, ((r.send_id, n, pid) for r, n, pid in launch), now, done,
                                   api=self.api))
        for item in launch:
            if item[0].send_id in claimed:  # else cancelled or settled meanwhile: not ours to send
                self._busy += 1
                self._queue.put_nowait(item)
        if claimed:
            mono = time.monotonic()
            self.first_dispatch = self.first_dispatch or mono
            self.last_dispatch = mono
            self.dispatched += len(claimed)

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
            self._on_error(row, attempt, phone_number_id,
                           OutcomeUnknownError(f"unexpected {type(exc).__name__} while sending"))
        else:
            self._sent_times.append(time.monotonic())
            self._outcomes.append(ledger.Outcome(row.send_id, attempt, "accepted", self.clock.now(),
                                                 wamid=result.wamid, http_status=200))
        finally:
            self._requests += 1
            self.latencies.append(time.monotonic() - t0)
            self._busy -= 1

    def _on_error(self, row: ledger.SendRow, attempt: int, phone_number_id: str, exc: CloudAPIError) -> None:
        now = self.clock.now()
        mono = time.monotonic()
        common = dict(error_code=exc.code, error_title=exc.message[:300], http_status=exc.http_status,
                      details=(exc.details or exc.message)[:500], fbtrace_id=exc.fbtrace_id or None)
        again = replace(row, attempts=attempt)
        counted = attempt - row.throttled  # throttle answers (130429) do not use up attempts
        if exc.outcome_unknown:
            self._outcomes.append(ledger.Outcome(row.send_id, attempt, "unknown", now, **common))
            if self.options.unknown_policy is UnknownPolicy.WAIT_THEN_RESEND and counted < self.options.max_attempts:
                self._waiting_unknown[row.send_id] = now + self.options.unknown_wait
            return
        template = template_of(row.payload) if exc.code in (TEMPLATE_PAUSED, TEMPLATE_DISABLED) else None
        if template is not None:  # Meta's pause is not the recipient's failure: wait for it to lift
            self._outcomes.append(ledger.Outcome(row.send_id, attempt, "retry", now, **common))
            self._push(again, now)
            self._hold_for_template(*template, "PAUSED" if exc.code == TEMPLATE_PAUSED else "DISABLED")
            return
        if exc.code in STOP_CODES or isinstance(exc, InvalidURLError):  # nothing can go out until it is fixed
            self._outcomes.append(ledger.Outcome(row.send_id, attempt, "retry", now, **common))
            self._push(again, now)
            problem = exc.message if exc.code is None else f"{exc.meaning} ({exc.code})"
            self._message = f"paused: {problem}; fix it, then resume"
            self._paused = True
            return
        if isinstance(exc, RateLimitError) and exc.code == ledger.THROTTLED:
            self._throttled += 1
            for p in self._pacers:
                if p.phone_number_id == phone_number_id:
                    p.throttled(mono)  # AIMD: the number slows down
            throttled = row.throttled + 1
            if throttled < self.options.max_throttled:  # back to the queue, the attempt is not counted
                delay = jittered(exc.retry_after(throttled) * self.options.backoff_scale, self._rng)
                self._outcomes.append(ledger.Outcome(row.send_id, attempt, "retry", now, **common))
                self._push(replace(again, throttled=throttled), now + delay)
                return
            common["error_title"] = f"gave up after {throttled} throttled attempts: {common['error_title']}"[:300]
            self._fail(row, attempt, now, common)
            return
        if isinstance(exc, TransportError) and counted >= self.options.max_attempts:
            self._outcomes.append(ledger.Outcome(row.send_id, attempt, "retry", now, **common))
            self._push(again, now)
            self._message = f"paused: cannot reach the API ({exc.message}); resume when it is back"
            self._paused = True
            return
        if exc.retryable and counted < self.options.max_attempts:
            delay = jittered(exc.retry_after(counted) * self.options.backoff_scale, self._rng)
            if isinstance(exc, PairRateLimitError):
                self._pair.hold(row.phone, delay, mono)
            self._outcomes.append(ledger.Outcome(row.send_id, attempt, "retry", now, **common))
            self._push(again, now + delay)
            return
        if exc.retryable:
            common["error_title"] = f"gave up after {counted} attempts: {common['error_title']}"[:300]
        self._fail(row, attempt, now, common)

    def _fail(self, row: ledger.SendRow, attempt: int, now: float, common: dict[str, Any]) -> None:
        self._outcomes.append(ledger.Outcome(row.send_id, attempt, "failed", now, **common))
        if self.reserve is reserve_marketing:
            release_marketing(self.store, row.phone, self.campaign_id)  # it never reached them

    # unknown outcomes ---------------------------------------------------------------------
    def _prepare_unknown(self, now: float) -> None:
        """Settle what webhooks already told; per policy, plan when the rest may be resent."""
        ledger.reconcile_unknown(self.store, self.campaign_id, now)
        if self.options.unknown_policy is not UnknownPolicy.WAIT_THEN_RESEND:
            return
        attempts = ledger.counted_attempts_of_unknown(self.store, self.campaign_id)  # throttle answers do not count
        for send_id, started in ledger.unknown_sends(self.store, self.campaign_id):
            if attempts.get(send_id, 0) < self.options.max_attempts:
                self._waiting_unknown[send_id] = started + self.options.unknown_wait

    def _check_unknown(self, now: float) -> None:
        self._flush()
        ledger.reconcile_unknown(self.store, self.campaign_id, now)
        still = {sid for sid, _ in ledger.unknown_sends(self.store, self.campaign_id)}
        due = [sid for sid, t in self._waiting_unknown.items() if sid in still and t <= now]
        for sid in [s for s in self._waiting_unknown if s not in still]:
            del self._waiting_unknown[sid]
        if not due:
            return
        for sid in due:
            del self._waiting_unknown[sid]
        ledger.requeue(self.store, due, now)
        self._resent += len(due)
        for row in ledger.planned_sends(self.store, self.campaign_id, due):
            self._push(row, now)

    # bookkeeping --------------------------------------------------------------------------
    def _push(self, row: ledger.SendRow, due: float) -> None:
        template = template_of(row.payload) if row.payload else None
        if template is not None:
            self._templates.add(template)
        heapq.heappush(self._heap, (due, next(self._seq), row))

    def _check_templates(self) -> None:
        """Pause when Meta paused (or disabled) one of the campaign's templates; resume on our own
        when a pause we took for it is lifted (its status is back to APPROVED)."""
        if self._template_wait is not None and self._paused:
            if template_block(self.store, *self._template_wait) is None:
                self._template_wait = None
                self.resume()
            return
        for name, language in sorted(self._templates):
            block = template_block(self.store, name, language)
            if block is not None:
                self._hold_for_template(name, language, block)
                return

    def _hold_for_template(self, name: str, language: str, block: str) -> None:
        """Wait while Meta pauses the template; a disabled one will not come back: leave the run
        (the rest stays planned)."""
        if block == "PAUSED":
            self._template_wait = (name, language)
            self._paused = True
            self._message = (f"paused: Meta paused template {name} ({language}) for low quality; the run "
                             "resumes when Meta re-approves it")
        else:
            self._stopped = True
            self._message = f"paused: Meta disabled template {name} ({language}); choose another template"

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
            counts = ledger.state_counts(self.store, self.campaign_id)
            still = counts["planned"] + counts["in_flight"] + len(ledger.pending_holdouts(self.store, self.campaign_id))
            review = counts["unknown"] if still == 0 else 0
            status = "complete" if still + counts["unknown"] == 0 else "paused"
        ledger.set_campaign_status(self.store, self.campaign_id, status, now)
        if review:
            status = "needs_review"
            self._message = (f"{review:,} recipient(s) with an unknown outcome: the request left, but neither an "
                             "answer nor a status webhook came. They are not sent again; resume later to settle "
                             "them from status webhooks (or check the ledger's 'unknown' rows)")
        self._errors_at = float("-inf")  # the last report reads the ledger's errors fresh
        progress = self.progress(status)
        if self.on_progress:
            self.on_progress(progress)
        return progress

    def progress(self, status: str | None = None) -> Progress:
        """A snapshot now (reads the ledger, so webhook updates show too)."""
        counts = ledger.state_counts(self.store, self.campaign_id)
        total = sum(counts.values())
        mono = time.monotonic()
        recent = [t for t in self._sent_times if t >= mono - 5.0]
        window = min(5.0, max(mono - self._start, 1e-9))
        rate = len(recent) / window if recent else 0.0
        left = counts["planned"] + counts["in_flight"]
        eta = left / rate if rate > 0 else None
        if status is None:
            status = "paused" if self._paused else ("cancelling" if self._cancelled else "running")
        if mono - self._errors_at >= ERRORS_REFRESH:  # sync errors and async failures from webhooks
            self._errors, self._traces, self._meanings = _codes(ledger.error_breakdown(self.store, self.campaign_id))
            self._held = ledger.held_count(self.store, self.campaign_id)
            self._errors_at = mono
        return Progress(
            campaign_id=self.campaign_id, status=status, total=total, counts=counts,
            elapsed=mono - self._start, rate=rate, eta_seconds=eta, errors=dict(self._errors),
            traces=dict(self._traces), meanings=dict(self._meanings),
            requests=self._requests, throttled=self._throttled, resent_after_unknown=self._resent,
            pace=sum(p.rate for p in getattr(self, "_pacers", [])), message=self._message,
            unknown_waiting=len(self._waiting_unknown), held=self._held,
        )

    def _emit(self, force: bool = False) -> None:
        if self.on_progress is None:
            return
        mono = time.monotonic()
        if force or mono - self._last_progress >= self.options.progress_interval:
            self._last_progress = mono
            self._flush()
            self.on_progress(self.progress())


def _codes(frame: pd.DataFrame) -> tuple[dict[int | None, int], dict[int | None, str], dict[int | None, str]]:
    """Counts, latest fbtrace_id and meaning per code from :func:`ledger.error_breakdown`."""
    codes = [None if pd.isna(c) else int(c) for c in frame["code"]]
    traces = {c: t for c, t in zip(codes, frame["fbtrace_id"]) if isinstance(t, str) and t}
    return {c: int(n) for c, n in zip(codes, frame["count"])}, traces, dict(zip(codes, frame["meaning"]))


async def send_campaign(
    store: Store,
    client: SendClient,
    campaign_id: str,
    options: SendOptions,
    **kwargs: Any,
) -> Progress:
    """Send or resume ``campaign_id`` to the end; the one-call form of :class:`CampaignRunner`."""
    return await CampaignRunner(store, client, campaign_id, options, **kwargs).run()
