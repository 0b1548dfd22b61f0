"""Demo wiring: the embedded sandbox posts its webhooks to a receiver on 127.0.0.1, and the
receiver's auto-replies go back to the sandbox's Cloud API."""

from __future__ import annotations

import secrets
from typing import Any

from ..store import Store
from ..webhooks.server import BackgroundServer
from .service import WEBHOOK_PATH, WebhookService, service_from_settings


class SandboxLink:
    """A running receiver registered as the sandbox's callback; ``close()`` undoes both."""

    def __init__(self, sandbox: Any, service: WebhookService, server: BackgroundServer) -> None:
        self.sandbox = sandbox
        self.service = service
        self.server = server
        self.url = server.url + WEBHOOK_PATH
        self.link_base_url = server.url
        """The same server answers the tracked links (``/l/{token}``): the demo's ``link_base_url``."""

    def close(self) -> None:
        self.sandbox.set_webhook(None)
        self.server.stop()

    def __enter__(self) -> SandboxLink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SandboxLink({self.url})"


def connect_sandbox(sandbox: Any, store: Store, port: int = 0, **options: Any) -> SandboxLink:
    """Start a receiver for ``sandbox`` (a started ``wamkt_nb.sandbox.Sandbox``) and register it.

    ``options`` go to :func:`build_service` (cooldown_seconds, max_per_hour, language_of, ...).
    """
    verify_token = secrets.token_urlsafe(16)
    settings = sandbox.settings(verify_token=verify_token)
    service = service_from_settings(settings, store, clock=sandbox.clock, **options)
    server = BackgroundServer(service.asgi_app(WEBHOOK_PATH), port=port)
    server.start()
    try:
        sandbox.set_webhook(server.url + WEBHOOK_PATH, verify_token)
    except Exception:
        server.stop()
        raise
    return SandboxLink(sandbox, service, server)
