"""Wiring: store + receiver + auto-replier + reply dispatcher, from settings or explicit parts.

One :class:`WebhookService` is what every host serves: ``wamkt serve`` (ASGI app), the Jupyter
server extension and the demo's sandbox → receiver wiring.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..autoreply.engine import DEFAULT_COOLDOWN_SECONDS, DEFAULT_MAX_PER_HOUR, AutoReplier
from ..clock import Clock, SystemClock
from ..cloudapi import AsyncCloudClient
from ..links import link_app
from ..settings import Secret, Settings
from ..store import Store
from ..webhooks.asgi import create_app
from ..webhooks.receiver import DEFAULT_MAX_BODY_BYTES, WebhookReceiver
from ..webhooks.replies import MessageSender, ReplyDispatcher

WEBHOOK_PATH = "/webhook"


@dataclass
class WebhookService:
    """Everything behind the webhook URL; ``start``/``stop`` run in the serving event loop."""

    store: Store
    receiver: WebhookReceiver
    autoreplier: AutoReplier
    dispatcher: ReplyDispatcher
    sender: MessageSender

    async def start(self) -> None:
        await self.dispatcher.start()

    async def stop(self) -> None:
        await self.dispatcher.stop()
        close = getattr(self.sender, "aclose", None)
        if close is not None:
            await close()

    def asgi_app(self, path: str = WEBHOOK_PATH):
        """The ASGI app serving this service at ``path`` (plus ``/healthz`` and the tracked links ``/l/``)."""
        return create_app(
            self.receiver,
            path,
            on_startup=[self.start],
            on_shutdown=[self.stop],
            links=link_app(self.store, self.receiver.clock),
        )


def build_service(
    store: Store,
    sender: MessageSender,
    *,
    app_secret: Secret | str,
    verify_token: Secret | str,
    clock: Clock | None = None,
    default_phone_number_id: str | None = None,
    cooldown_seconds: float = DEFAULT_COOLDOWN_SECONDS,
    max_per_hour: int = DEFAULT_MAX_PER_HOUR,
    language_of: Callable[[str], str | None] | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> WebhookService:
    """Assemble a service; replies go out through ``sender`` (e.g. an ``AsyncCloudClient``)."""
    clock = clock or SystemClock()
    dispatcher = ReplyDispatcher(store, sender, clock=clock, default_phone_number_id=default_phone_number_id)
    autoreplier = AutoReplier(
        dispatcher,
        cooldown_seconds=cooldown_seconds,
        max_per_hour=max_per_hour,
        language_of=language_of,
        default_phone_number_id=default_phone_number_id,
    )
    receiver = WebhookReceiver(
        store, app_secret, verify_token, clock=clock, handler=autoreplier, max_body_bytes=max_body_bytes
    )
    return WebhookService(store, receiver, autoreplier, dispatcher, sender)


def service_from_settings(settings: Settings, store: Store, **options) -> WebhookService:
    """A service sending replies through the Cloud API (or sandbox) that ``settings`` point at."""
    return build_service(
        store,
        AsyncCloudClient(settings),
        app_secret=settings.app_secret,
        verify_token=settings.verify_token,
        default_phone_number_id=settings.phone_number_ids[0] if settings.phone_number_ids else None,
        **options,
    )
