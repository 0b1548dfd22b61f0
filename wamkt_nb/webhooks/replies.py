"""Service replies to customers (auto-replies and inbox answers): recorded first, then sent.

A reply row is written as ``queued`` in the same transaction as the inbound message that caused
it, then a background :class:`ReplyDispatcher` sends it and marks it ``accepted`` or ``failed``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import sqlite3
import time
from dataclasses import dataclass
from typing import Any, Protocol

from ..clock import Clock, SystemClock
from ..scrub import scrub
from ..store import Store

log = logging.getLogger("wamkt_nb.webhooks")


class MessageSender(Protocol):
    """Anything with the Cloud API's send call (``wamkt_nb.cloudapi.AsyncCloudClient``)."""

    async def send_message(self, phone_number_id: str, payload: dict[str, Any]) -> Any: ...


@dataclass(frozen=True)
class ReplyOutcome:
    reply_id: int
    state: str
    wamid: str | None = None
    error: str | None = None
    latency_ms: float | None = None


def queue_reply(
    conn: sqlite3.Connection,
    *,
    phone: str,
    kind: str,
    payload: dict[str, Any],
    phone_number_id: str | None,
    now: float,
    source: str | None = None,
    in_reply_to: str | None = None,
    received_at: float | None = None,
) -> int:
    """Record a reply to send (inside the caller's transaction); returns its ``reply_id``."""
    message_type = payload.get("type", "text")
    body = payload.get("text", {}).get("body") if message_type == "text" else payload.get("template", {}).get("name")
    cur = conn.execute(
        "INSERT INTO replies (phone, kind, source, in_reply_to, message_type, body, payload_json,"
        " phone_number_id, received_at, created_at) VALUES (?,?,?,?,?,?,?,?,?,?) RETURNING reply_id",
        (
            phone,
            kind,
            source,
            in_reply_to,
            message_type,
            body,
            json.dumps(payload, ensure_ascii=False),
            phone_number_id,
            received_at,
            now,
        ),
    )
    return int(cur.fetchone()[0])


RETRY_BUDGET_SECONDS = 1.5
"""Transient errors are retried while the reply can still arrive within the 2 s the WhatsApp
marketing guide, 2024 allows."""


async def _send_with_retries(sender: MessageSender, number: str, payload: dict[str, Any], budget: float) -> Any:
    """Retry errors that say retrying soon can work and that surely sent nothing (no duplicate replies)."""
    deadline = time.monotonic() + budget
    attempt = 0
    while True:
        attempt += 1
        try:
            return await sender.send_message(number, payload)
        except Exception as exc:
            retry = getattr(exc, "retryable", False) and not getattr(exc, "outcome_unknown", True)
            wait = exc.retry_after(attempt) if retry else None
            if wait is None or time.monotonic() + wait > deadline:
                raise
            await asyncio.sleep(wait)


async def deliver_reply(
    store: Store,
    sender: MessageSender,
    reply_id: int,
    *,
    clock: Clock | None = None,
    started: float | None = None,
    default_phone_number_id: str | None = None,
    retry_budget: float = RETRY_BUDGET_SECONDS,
) -> ReplyOutcome:
    """Send one queued reply and record the outcome; ``started`` is ``perf_counter()`` at receipt."""
    clock = clock or SystemClock()
    rows = store.query("SELECT payload_json, phone_number_id, state FROM replies WHERE reply_id = ?", (reply_id,))
    if not rows or rows[0]["state"] != "queued":
        return ReplyOutcome(reply_id, rows[0]["state"] if rows else "missing")
    number = rows[0]["phone_number_id"] or default_phone_number_id
    try:
        if not number:
            raise ValueError("no phone number id to send from (set WAMKT_PHONE_NUMBER_IDS)")
        result = await _send_with_retries(sender, number, json.loads(rows[0]["payload_json"]), retry_budget)
    except Exception as exc:  # every failure is recorded on the row, the worker keeps going
        code = getattr(exc, "code", None)
        error = scrub(exc)  # any sender's error, not only the Cloud API client's (already scrubbed)
        store.execute(
            "UPDATE replies SET state = 'failed', error_code = ?, error_title = ? WHERE reply_id = ?",
            (code if isinstance(code, int) else None, error[:500], reply_id),
        )
        log.warning("reply %s failed: %s", reply_id, error)
        return ReplyOutcome(reply_id, "failed", error=error)
    latency = (time.perf_counter() - started) * 1000 if started is not None else None
    store.execute(
        "UPDATE replies SET state = 'accepted', wamid = ?, accepted_at = ?, latency_ms = ? WHERE reply_id = ?",
        (result.wamid, clock.now(), latency, reply_id),
    )
    return ReplyOutcome(reply_id, "accepted", result.wamid, latency_ms=latency)


class ReplyDispatcher:
    """Sends queued replies from the event loop it was started in, without blocking the caller.

    ``submit`` may be called from any thread. ``start`` also sends replies left queued by a
    previous run (younger than ``recover_seconds``) and marks older ones failed.
    """

    def __init__(
        self,
        store: Store,
        sender: MessageSender,
        *,
        clock: Clock | None = None,
        default_phone_number_id: str | None = None,
        concurrency: int = 32,
        recover_seconds: float = 300.0,
    ) -> None:
        self.store = store
        self.sender = sender
        self.clock = clock or SystemClock()
        self.default_phone_number_id = default_phone_number_id
        self.concurrency = concurrency
        self.recover_seconds = recover_seconds
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots: asyncio.Semaphore | None = None
        self._tasks: set[asyncio.Task] = set()

    def __repr__(self) -> str:
        return f"ReplyDispatcher({self.store!r}, pending={len(self._tasks)})"

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._slots = asyncio.Semaphore(self.concurrency)
        cutoff = self.clock.now() - self.recover_seconds
        self.store.execute(
            "UPDATE replies SET state = 'failed', error_title = 'expired before it could be sent'"
            " WHERE state = 'queued' AND created_at < ?",
            (cutoff,),
        )
        left = [r[0] for r in self.store.query("SELECT reply_id FROM replies WHERE state = 'queued'")]
        self._spawn(left, None)

    def submit(self, reply_ids: list[int], started: float | None = None) -> None:
        if self._loop is None:  # not started: the rows stay queued and go out on the next start()
            log.warning("reply dispatcher not started; %d replies stay queued", len(reply_ids))
            return
        self._loop.call_soon_threadsafe(self._spawn, list(reply_ids), started)

    def _spawn(self, reply_ids: list[int], started: float | None) -> None:
        for reply_id in reply_ids:
            task = asyncio.ensure_future(self._one(reply_id, started))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _one(self, reply_id: int, started: float | None) -> None:
        assert self._slots is not None
        async with self._slots:
            await deliver_reply(
                self.store,
                self.sender,
                reply_id,
                clock=self.clock,
                started=started,
                default_phone_number_id=self.default_phone_number_id,
            )

    async def drain(self) -> None:
        """Wait for every reply in flight (used at shutdown and by tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """From another thread: block until every reply submitted so far was sent or failed; False on
        timeout. Lets a simulation move its clock on only after the auto-replies went out."""
        loop = self._loop
        if loop is None:
            return True
        done = asyncio.run_coroutine_threadsafe(self.drain(), loop)
        try:
            done.result(timeout)
        except concurrent.futures.TimeoutError:
            done.cancel()
            return False
        return True

    async def stop(self) -> None:
        await self.drain()
        self._loop = None
