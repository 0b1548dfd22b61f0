"""Jupyter server extension: the webhook endpoint at ``{base_url}wamkt/webhook`` inside JupyterLab.

Enable with ``jupyter lab --ServerApp.jpserver_extensions=wamkt_nb.serving=True`` (or the same
key in ``jupyter_server_config.json``); it is not on by default. With the ``worker`` setting it
also hosts the campaign worker (:mod:`.jupyter_worker`). Meta cannot log in to Jupyter nor send an
XSRF token, so the handler skips both and authenticates every POST by ``X-Hub-Signature-256``
and the GET handshake by the verify token. Settings come from ``WAMKT_*`` / ``wamkt.toml``; the
database is the team store (``WAMKT_DATABASE_URL``) when one is named, else the workspace's file.
"""

from __future__ import annotations

import asyncio
from typing import Any

from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.utils import url_path_join
from tornado import web

from ..settings import load_settings
from ..store import open_store
from ..webhooks.signature import SIGNATURE_HEADER
from ..workspace import database_target
from .jupyter_worker import host_worker
from .service import WebhookService, service_from_settings

ROUTE = "wamkt/webhook"


@web.stream_request_body
class WebhookHandler(web.RequestHandler):
    """Tornado shell over :class:`WebhookReceiver`; the body is streamed so oversize stops at the limit."""

    def initialize(self, service: WebhookService, started: dict[str, Any]) -> None:
        self.service = service
        self._started = started
        self._chunks: list[bytes] = []
        self._size = 0

    def check_xsrf_cookie(self) -> None:
        """Meta sends no XSRF token; the HMAC signature authenticates the request instead."""

    def prepare(self) -> None:
        declared = self.request.headers.get("Content-Length")
        if declared and declared.isdigit() and self.service.receiver.too_large(int(declared)):
            self._reply(413, b"body too large", "text/plain")
            self.finish()

    def data_received(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if not self.service.receiver.too_large(self._size):
            self._chunks.append(chunk)

    def _reply(self, status: int, body: bytes, content_type: str) -> None:
        self.set_status(status)
        self.set_header("Content-Type", content_type)
        self.write(body)

    @allow_unauthenticated
    def get(self) -> None:
        params = {k: self.get_query_argument(k) for k in self.request.query_arguments}
        resp = self.service.receiver.handshake(params)
        self._reply(resp.status, resp.body, resp.content_type)

    @allow_unauthenticated
    async def post(self) -> None:
        if self.service.receiver.too_large(self._size):
            self._reply(413, b"body too large", "text/plain")
            return
        lock: asyncio.Lock = self._started["lock"]
        async with lock:
            if not self._started["done"]:
                await self.service.start()
                self._started["done"] = True
        resp = self.service.receiver.receive(b"".join(self._chunks), self.request.headers.get(SIGNATURE_HEADER))
        self._reply(resp.status, resp.body, resp.content_type)


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Register the handler; the store and reply sender are set up from wamkt settings."""
    settings = load_settings()
    store = open_store(database_target())
    service = service_from_settings(settings, store)
    route = url_path_join(serverapp.web_app.settings["base_url"], ROUTE)
    state = {"done": False, "lock": asyncio.Lock()}
    serverapp.web_app.add_handlers(".*$", [(route, WebhookHandler, {"service": service, "started": state})])
    serverapp.log.info("wamkt_nb webhook receiver at %s (database %s)", route, store.where)
    if settings.worker:
        host_worker(serverapp, settings, open_store(database_target()))
    if not settings.app_secret or not settings.verify_token:
        serverapp.log.warning("wamkt_nb: WAMKT_APP_SECRET / WAMKT_VERIFY_TOKEN not set: every webhook is refused")
