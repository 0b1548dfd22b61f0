"""The webhook endpoint's logic, independent of any web framework.

Hosts (the ASGI app of ``wamkt serve``, the Jupyter server extension) pass the raw request in and
send the :class:`WebhookResponse` back. Order of checks on a POST: size (413), signature (401),
JSON (400), envelope (400), then the batch is recorded and only then 200 is answered.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass

from ..clock import Clock, SystemClock
from ..settings import Secret
from ..store import DATABASE_ERRORS, Store
from .record import InboundHandler, record_batch
from .signature import verify_signature
from .updates import PayloadError, parse_payload

log = logging.getLogger("wamkt_nb.webhooks")

DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
"""A little above Meta's 3 MB payload limit."""


@dataclass(frozen=True)
class WebhookResponse:
    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"


def _text(status: int, message: str) -> WebhookResponse:
    return WebhookResponse(status, message.encode("utf-8"))


def _reveal(secret: Secret | str) -> str:
    return secret.reveal() if isinstance(secret, Secret) else str(secret)


def _json_int(literal: str) -> int | str:
    """A JSON integer; one longer than Python converts (4,300 digits) stays a string of digits, so
    the item carrying it is judged (and rejected) on its own instead of the whole body failing."""
    return int(literal) if len(literal) <= 4_000 else literal


_DECODER = json.JSONDecoder(parse_int=_json_int)
"""Made once: ``json.loads`` with ``parse_int`` builds a decoder per body."""


def _decode(body: bytes) -> object:
    """``json.loads(body, parse_int=_json_int)``: the same encodings (UTF-8, -16, -32) and errors."""
    return _DECODER.decode(body.decode(json.detect_encoding(body), "surrogatepass"))


class WebhookReceiver:
    """Verifies, parses, deduplicates and records WhatsApp webhooks into ``store``."""

    def __init__(
        self,
        store: Store,
        app_secret: Secret | str,
        verify_token: Secret | str,
        *,
        clock: Clock | None = None,
        handler: InboundHandler | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        self.store = store
        self._app_secret = app_secret if isinstance(app_secret, Secret) else Secret(app_secret)
        self._verify_token = verify_token if isinstance(verify_token, Secret) else Secret(verify_token)
        self.clock = clock or SystemClock()
        self.handler = handler
        self.max_body_bytes = int(max_body_bytes)

    def __repr__(self) -> str:
        return f"WebhookReceiver({self.store!r}, max_body_bytes={self.max_body_bytes})"

    def too_large(self, size: int) -> bool:
        return size > self.max_body_bytes

    def handshake(self, params: Mapping[str, str]) -> WebhookResponse:
        """The GET verification: echo ``hub.challenge`` if the verify token matches, else 403."""
        token = str(params.get("hub.verify_token", ""))
        expected = _reveal(self._verify_token)
        ok = (
            params.get("hub.mode") == "subscribe"
            and bool(expected)
            and hmac.compare_digest(token.encode("utf-8", "replace"), expected.encode("utf-8"))
        )
        if not ok:
            return _text(403, "verification failed: wrong mode or verify token")
        challenge = str(params.get("hub.challenge", ""))
        if not challenge or len(challenge) > 256:
            return _text(400, "hub.challenge is missing or too long")
        return _text(200, challenge)

    def receive(self, body: bytes, signature: str | None) -> WebhookResponse:
        """Handle one POST: verify, parse, record durably, then hand new inbound messages on."""
        started = time.perf_counter()
        if self.too_large(len(body)):
            return _text(413, f"body larger than {self.max_body_bytes} bytes")
        if not verify_signature(body, signature, self._app_secret):
            return _text(401, "missing or invalid X-Hub-Signature-256")
        try:
            payload = _decode(body)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            return _text(400, f"body is not valid JSON: {str(exc)[:200]}")
        try:
            batch = parse_payload(payload)
        except PayloadError as exc:
            return _text(400, f"not a WhatsApp webhook: {exc}")
        except RecursionError:
            return _text(400, "not a WhatsApp webhook: nested too deeply")
        try:
            result = record_batch(self.store, batch, self.clock.now(), self.handler)
        except DATABASE_ERRORS as exc:
            log.error("webhook not recorded, asking Meta to retry: %s", exc)
            return _text(503, "could not record the update, retry later")
        for rej in batch.rejects[:5]:
            log.warning("webhook item rejected (kept in webhook_rejects): %s: %s", ascii(rej.field), rej.reason)
        if len(batch.rejects) > 5:
            log.warning("webhook: %d more items of the same POST rejected", len(batch.rejects) - 5)
        if self.handler is not None and result.jobs:
            self.handler.dispatch(result.jobs, started)
        return WebhookResponse(200, json.dumps(result.as_dict()).encode(), "application/json")
