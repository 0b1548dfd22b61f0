"""The redirect endpoint ``GET /l/{token}``: 302 to the destination with its UTM parameters.

Every request of a known token is recorded with its client class (see :mod:`.agents`); only a
person's browser counts as a click. An unknown or malformed token gets the same plain 404 page
(nothing tells a guesser whether a token ever existed). No request gets a 500: if the store
cannot be read the answer is 503, and a click that cannot be recorded still redirects.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from ..clock import Clock, SystemClock
from ..store import Store
from .agents import classify
from .repository import record_click, resolve
from .urls import PATH, TOKEN

log = logging.getLogger(__name__)

NOT_FOUND = (
    b"<!doctype html><html><head><meta charset='utf-8'><title>Link not found</title></head>"
    b"<body><p>This link is not valid.</p></body></html>"
)
_URL_CHARS = ":/?#[]@!$&'()*+,;=%~"
UNAVAILABLE = b"<!doctype html><html><body><p>Please try again in a moment.</p></body></html>"


@dataclass(frozen=True)
class Redirect:
    """The answer to one request: status, Location (for 302) and body."""

    status: int
    location: str | None = None
    body: bytes = b""

    def headers(self) -> list[tuple[bytes, bytes]]:
        out = [
            (b"cache-control", b"no-store"),
            (b"referrer-policy", b"no-referrer"),
            (b"content-type", b"text/html; charset=utf-8"),
            (b"content-length", str(len(self.body)).encode()),
        ]
        if self.location:  # non-ASCII (e.g. "größe" in a path) percent-encoded, the rest kept as it is
            out.append((b"location", quote(self.location, safe=_URL_CHARS).encode("ascii")))
        return out


def follow(store: Store, token: str, method: str, user_agent: str | None, now: float) -> Redirect:
    """Resolve ``token``, record the request, and say where to send the client."""
    if method not in ("GET", "HEAD"):
        return Redirect(405, body=b"method not allowed")
    if not TOKEN.match(token):
        return Redirect(404, body=NOT_FOUND)
    try:
        link = resolve(store, token)
    except Exception:  # a locked or damaged store must not turn into a 500 page for the customer
        log.exception("links: cannot resolve a token")
        return Redirect(503, body=UNAVAILABLE)
    if link is None:
        return Redirect(404, body=NOT_FOUND)
    try:
        record_click(store, link, classify(method, user_agent), now)
    except Exception:  # the customer still gets where they wanted to go
        log.exception("links: cannot record a click of campaign %s", link.campaign_id)
    return Redirect(302, location=link.target)


def is_link_path(path: str) -> bool:
    return path.startswith(PATH)


def link_app(store: Store, clock: Clock | None = None) -> Callable[..., Any]:
    """An ASGI app answering ``/l/{token}`` (other paths: 404); mounted by ``wamkt serve``."""
    clock = clock or SystemClock()

    async def app(scope: dict[str, Any], receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        token = path[len(PATH) :] if is_link_path(path) else ""
        agent = dict(scope.get("headers") or []).get(b"user-agent")
        try:
            answer = follow(store, token, method, agent.decode("latin-1") if agent else None, clock.now())
        except Exception:
            log.exception("links: request failed")
            answer = Redirect(503, body=UNAVAILABLE)
        await send({"type": "http.response.start", "status": answer.status, "headers": answer.headers()})
        await send({"type": "http.response.body", "body": b"" if method == "HEAD" else answer.body})

    return app
