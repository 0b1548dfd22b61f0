"""A plain ASGI app around :class:`WebhookReceiver`, served by uvicorn in ``wamkt serve``.

Routes: ``GET|POST {path}`` (the webhook), ``GET /healthz`` and, given a ``links`` app, the
tracked links ``GET /l/{token}`` (see :mod:`wamkt_nb.links`). The body is read with the
receiver's size limit, so an oversized upload is refused with 413 before it is buffered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

from ..errors import WamktError
from ..links.urls import PATH as LINK_PATH
from .receiver import WebhookReceiver, WebhookResponse
from .signature import SIGNATURE_HEADER

Hook = Callable[[], Awaitable[None] | None]
_SIG = SIGNATURE_HEADER.lower().encode()


class _TooLarge(WamktError):
    pass


async def _read_body(receive: Callable, limit: int) -> bytes:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ConnectionError("client went away")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def _send(send: Callable, resp: WebhookResponse) -> None:
    headers = [(b"content-type", resp.content_type.encode()), (b"content-length", str(len(resp.body)).encode())]
    await send({"type": "http.response.start", "status": resp.status, "headers": headers})
    await send({"type": "http.response.body", "body": resp.body})


async def _run_hooks(hooks: Iterable[Hook]) -> None:
    for hook in hooks:
        result = hook()
        if result is not None:
            await result


def create_app(
    receiver: WebhookReceiver,
    path: str = "/webhook",
    on_startup: Iterable[Hook] = (),
    on_shutdown: Iterable[Hook] = (),
    links: Callable[..., Awaitable[None]] | None = None,
) -> Callable[..., Awaitable[None]]:
    """The ASGI callable; ``on_startup``/``on_shutdown`` run in the server's event loop (lifespan)."""
    startup, shutdown = list(on_startup), list(on_shutdown)

    async def app(scope: dict[str, Any], receive: Callable, send: Callable) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await _run_hooks(startup)
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await _run_hooks(shutdown)
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        method, route = scope["method"], scope["path"]
        if route == "/healthz" and method == "GET":
            await _send(send, WebhookResponse(200, b"ok"))
            return
        if links is not None and route.startswith(LINK_PATH):
            await links(scope, receive, send)
            return
        if route.rstrip("/") != path.rstrip("/"):
            await _send(send, WebhookResponse(404, b"not found"))
            return
        if method == "GET":
            params = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
            await _send(send, receiver.handshake(params))
            return
        if method != "POST":
            await _send(send, WebhookResponse(405, b"method not allowed"))
            return
        headers = dict(scope.get("headers") or [])
        try:
            declared = int(headers.get(b"content-length", b"0"))
        except ValueError:
            declared = 0
        if receiver.too_large(declared):
            await _send(send, WebhookResponse(413, b"body too large"))
            return
        try:
            body = await _read_body(receive, receiver.max_body_bytes)
        except _TooLarge:
            await _send(send, WebhookResponse(413, b"body too large"))
            return
        except ConnectionError:
            return
        signature = headers.get(_SIG)
        await _send(send, receiver.receive(body, signature.decode("latin-1") if signature else None))

    return app
