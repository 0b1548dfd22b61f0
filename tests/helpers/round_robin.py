"""A load balancer on 127.0.0.1 that hands each request to the next of several receivers in turn.

Meta posts webhooks to one callback URL; a team that runs two receiver processes puts a balancer
in front of them. This one forwards method, path, query, body and headers unchanged (the signature
checks the raw bytes) and answers with the receiver's status and body.
"""

from __future__ import annotations

import itertools
from typing import Any

import httpx

from wamkt_nb.webhooks.server import BackgroundServer

FORWARDED = ("content-type", "x-hub-signature-256")


class RoundRobin:
    """An ASGI app passing each HTTP request to ``upstreams`` (base URLs) in turn; ``served`` counts
    what each upstream answered with 2xx."""

    def __init__(self, upstreams: list[str]) -> None:
        self.upstreams = list(upstreams)
        self.served = dict.fromkeys(self.upstreams, 0)
        self._turn = itertools.cycle(self.upstreams)
        self._client: httpx.AsyncClient | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    self._client = httpx.AsyncClient(timeout=10)
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    if self._client is not None:
                        await self._client.aclose()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"] if k.decode().lower() in FORWARDED}
        upstream = next(self._turn)
        query = scope.get("query_string", b"").decode()
        url = upstream + scope["path"] + (f"?{query}" if query else "")
        assert self._client is not None
        try:
            answer = await self._client.request(scope["method"], url, content=body, headers=headers)
            status, content = answer.status_code, answer.content
        except httpx.HTTPError:  # a receiver that is down: the sender retries, as with Meta
            status, content = 502, b"upstream unavailable"
        if 200 <= status < 300:
            self.served[upstream] += 1
        await send(
            {"type": "http.response.start", "status": status, "headers": [(b"content-length", b"%d" % len(content))]}
        )
        await send({"type": "http.response.body", "body": content})


def balancer(upstreams: list[str]) -> tuple[BackgroundServer, RoundRobin]:
    """A started balancer over ``upstreams`` and its app (for ``served``); stop the server when done."""
    app = RoundRobin(upstreams)
    server = BackgroundServer(app)
    server.start()
    return server, app
