"""Webhooks from the sandbox: Meta's envelopes, HMAC signing, batching, retries with backoff."""

from __future__ import annotations

import heapq
import itertools
import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson

from ..errors import WamktError
from ..redact import redact_url
from ..webhooks.signature import sign_body
from .faults import Faults

log = logging.getLogger(__name__)


def envelope(waba_id: str, changes: list[dict[str, Any]]) -> dict[str, Any]:
    """``{"object": "whatsapp_business_account", "entry": [...]}`` around a list of ``changes``.

    Changes that carry a ``time`` (template status and quality updates) go into an entry with that
    trigger time, as Meta sends them; the others share the first entry."""
    entries: dict[int | None, dict[str, Any]] = {None: {"id": waba_id, "changes": []}}
    for change in changes:
        at = change.get("time")
        if at is not None:
            change = {k: v for k, v in change.items() if k != "time"}
        entry = entries.get(at)
        if entry is None:  # not setdefault: that would build a dict for every change
            entry = entries[at] = {"id": waba_id, "time": at, "changes": []}
        entry["changes"].append(change)
    return {"object": "whatsapp_business_account", "entry": [e for e in entries.values() if e["changes"]]}


class WebhookError(WamktError, RuntimeError):
    """The callback URL did not pass the verification handshake."""


def verify_callback(url: str, verify_token: str, timeout: float = 5.0) -> None:
    """Meta's GET handshake: the endpoint must echo ``hub.challenge`` when the token matches."""
    challenge = str(secrets.randbelow(10**9) + 1)
    query = urlencode({"hub.mode": "subscribe", "hub.challenge": challenge, "hub.verify_token": verify_token})
    sep = "&" if "?" in url else "?"
    where = redact_url(url)
    try:
        resp = httpx.get(f"{url}{sep}{query}", timeout=timeout)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise WebhookError(f"callback {where} is not reachable: {type(exc).__name__}") from None
    if resp.status_code != 200 or resp.text.strip() != challenge:
        raise WebhookError(f"callback {where} failed verification: HTTP {resp.status_code}, challenge not echoed")


class WebhookEmitter:
    """Collects webhook ``changes``, POSTs them in signed batches, retries non-200 with backoff.

    Every batch (delivered or not, and without a callback URL) is kept for inspection (:meth:`records`).
    """

    def __init__(
        self,
        waba_id: str,
        app_secret: Callable[[], str],
        faults: Faults,
        batch_size: int = 100,
        batch_wait: float = 0.02,
        max_attempts: int = 6,
        retry_base: float = 0.2,
        timeout: float = 5.0,
        log_limit: int = 100_000,
    ) -> None:
        self.waba_id = waba_id
        self._secret = app_secret
        self.faults = faults
        self.batch_size = batch_size
        self.batch_wait = batch_wait
        self.max_attempts = max_attempts
        self.retry_base = retry_base
        self.url: str | None = None
        self.emitted: deque[dict[str, Any]] = deque(maxlen=log_limit)
        self.counters = {"batches": 0, "posts": 0, "retries": 0, "duplicates": 0, "gave_up": 0, "updates": 0}
        self._pending: list[dict[str, Any]] = []
        self._retries: list[tuple[float, int, dict[str, Any]]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._stop = False
        self._busy = False
        self._flushing = 0  # callers in wait_idle: post at once instead of waiting to fill a batch
        self._http = httpx.Client(timeout=timeout)
        self._thread = threading.Thread(target=self._run, name="wamkt-sandbox-webhooks", daemon=True)

    def records(self) -> list[dict[str, Any]]:
        """The emitted batches with their payload decoded (kept as raw bytes until asked)."""
        return [
            {k: v for k, v in r.items() if k != "body"} | {"payload": orjson.loads(r["body"])}
            for r in list(self.emitted)
        ]

    def push(self, changes: list[dict[str, Any]]) -> None:
        if not changes:
            return
        with self._cond:
            if self._stop:
                return
            if not self._thread.is_alive():  # started on first use: an unused sandbox costs no thread
                self._thread.start()
            self._pending.extend(changes)
            self._cond.notify_all()  # notify_all: wait_idle callers share the condition with the thread

    def idle(self) -> bool:
        """True when nothing waits to be sent (pending or to retry)."""
        with self._cond:
            return self._idle()

    def _idle(self) -> bool:
        return not self._pending and not self._retries and not self._busy

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Send what is pending now (no batching wait) and block until idle; False on timeout."""
        with self._cond:
            self._flushing += 1
            self._cond.notify_all()
            try:
                return self._cond.wait_for(self._idle, timeout)
            finally:
                self._flushing -= 1

    def close(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(5)
        self._http.close()

    def clear(self) -> None:
        with self._cond:
            self._pending.clear()
            self._retries.clear()
            self.emitted.clear()
            for key in self.counters:
                self.counters[key] = 0
            self._cond.notify_all()

    def _next_job(self) -> tuple[dict[str, Any], int] | None:
        with self._cond:
            while not self._stop:
                now = time.monotonic()
                if self._retries and self._retries[0][0] <= now:
                    _, _, job = heapq.heappop(self._retries)
                    self._busy = True
                    return job["batch"], job["attempt"]
                if self._pending:
                    # a push wakes the thread too: wait out the whole batch_wait unless the batch fills
                    filled_by = now + self.batch_wait
                    while (
                        len(self._pending) < self.batch_size
                        and not self._flushing
                        and not self._stop
                        and (left := filled_by - time.monotonic()) > 0
                    ):
                        self._cond.wait(left)
                    if not self._pending:  # cleared meanwhile
                        continue
                    changes = self._pending[: self.batch_size]
                    del self._pending[: self.batch_size]
                    self._busy = True
                    return {"changes": changes, "body": None}, 1
                wait = self._retries[0][0] - now if self._retries else None
                self._cond.wait(wait)
            return None

    def _run(self) -> None:
        while (job := self._next_job()) is not None:
            batch, attempt = job
            try:
                self._deliver(batch, attempt)
            except Exception:  # the emitter thread must survive anything
                log.exception("webhook delivery failed unexpectedly")
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _deliver(self, batch: dict[str, Any], attempt: int) -> None:
        if batch["body"] is None:
            batch["body"] = orjson.dumps(envelope(self.waba_id, batch["changes"]))
            self.counters["batches"] += 1
            self.counters["updates"] += sum(
                len(c["value"].get("statuses", ())) + len(c["value"].get("messages", ())) for c in batch["changes"]
            )
        body: bytes = batch["body"]
        record = {"at": time.time(), "attempt": attempt, "url": self.url, "status_code": None, "body": body}
        if self.url is None:
            self.emitted.append(record)
            return
        status = self._post(body)
        record["status_code"] = status
        self.emitted.append(record)
        if status == 200:
            if self.faults.duplicate():
                self.counters["duplicates"] += 1
                self.emitted.append({**record, "duplicate": True, "status_code": self._post(body)})
            return
        if attempt >= self.max_attempts:
            self.counters["gave_up"] += 1
            log.warning("webhook batch dropped after %d attempts (last status %s)", attempt, status)
            return
        self.counters["retries"] += 1
        due = time.monotonic() + self.retry_base * 2 ** (attempt - 1)
        with self._cond:
            heapq.heappush(self._retries, (due, next(self._seq), {"batch": batch, "attempt": attempt + 1}))

    def _post(self, body: bytes) -> int | None:
        self.counters["posts"] += 1
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sign_body(body, self._secret())}
        try:
            return self._http.post(self.url, content=body, headers=headers).status_code  # type: ignore[arg-type]
        except httpx.HTTPError:
            return None
