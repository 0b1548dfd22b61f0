"""Answering a customer from the inbox: a session message inside the 24 h window, a template outside."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..aio import run_sync
from ..clock import Clock, SystemClock
from ..cloudapi.payloads import template_message, text_message
from ..compliance.rules import window_open
from ..errors import WamktError
from ..store import Store
from ..webhooks.replies import MessageSender, ReplyOutcome, deliver_reply, queue_reply


class WindowClosedError(WamktError, ValueError):
    """Free text was asked for, but the customer's 24 h service window is closed: use a template."""


@dataclass(frozen=True)
class TemplateChoice:
    """An approved template and its body parameters."""

    name: str
    language: str
    params: tuple[str, ...] | dict[str, str] = field(default_factory=tuple)


def compose_answer(
    store: Store, phone: str, now: float, text: str | None = None, template: TemplateChoice | None = None
) -> dict[str, Any]:
    """The request body for an answer: text if the window is open (and text given), else the template."""
    if text and window_open(store, phone, now):
        return text_message(phone, text)
    if template is not None:
        return template_message(
            phone,
            template.name,
            template.language,
            body_params=(dict(template.params) if isinstance(template.params, dict) else list(template.params)) or None,
        )
    if text:
        raise WindowClosedError(
            f"the 24 h service window of {phone[:6]}… is closed: only an approved template can be sent"
        )
    raise ValueError("give a text (inside the window) or a template")


async def answer_async(
    store: Store,
    sender: MessageSender,
    phone: str,
    *,
    text: str | None = None,
    template: TemplateChoice | None = None,
    agent: str = "team",
    phone_number_id: str | None = None,
    clock: Clock | None = None,
) -> ReplyOutcome:
    """Record and send an agent's answer through an async sender (e.g. ``AsyncCloudClient``)."""
    clock = clock or SystemClock()
    now = clock.now()
    payload = compose_answer(store, phone, now, text, template)
    last = store.query("SELECT wamid FROM inbound_messages WHERE phone = ? ORDER BY timestamp DESC LIMIT 1", (phone,))
    with store.transaction() as conn:
        reply_id = queue_reply(
            conn,
            phone=phone,
            kind="agent",
            payload=payload,
            phone_number_id=phone_number_id,
            now=now,
            source=agent,
            in_reply_to=last[0][0] if last else None,
        )
    return await deliver_reply(store, sender, reply_id, clock=clock, default_phone_number_id=phone_number_id)


def answer(store: Store, client: Any, phone: str, **options: Any) -> ReplyOutcome:
    """Blocking :func:`answer_async` for notebooks and widgets, with a blocking ``CloudClient``.

    Runs on the background loop (:func:`wamkt_nb.aio.run_sync`) with the client's async half, so it
    also works while Jupyter's event loop is running.
    """
    return run_sync(answer_async(store, client.aclient, phone, **options))
