"""The worker's health and counts over HTTP: ``GET /health`` and ``GET /counts`` as JSON.

A plain asyncio server on the worker's own loop (no web framework for two read-only answers), bound
to 127.0.0.1 by default: a process supervisor or a load balancer's probe asks ``/health``; a person
or a dashboard asks ``/counts``. Neither answer holds phone numbers or secrets.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import orjson

MAX_REQUEST_BYTES = 8192
"""A GET to this server is one short line and a few headers; anything larger is refused."""


class HealthServer:
    """Answers ``/health`` and ``/counts`` (``/metrics`` is the same) from the given report functions."""

    def __init__(
        self,
        health: Callable[[], dict[str, Any]],
        counts: Callable[[], dict[str, Any]],
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.routes = {"/health": health, "/counts": counts, "/metrics": counts}
        self.host, self.port = host, port
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        """Listen; return the port (a free one when ``port`` was 0)."""
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5.0)
            status, body = self._answer(head[:MAX_REQUEST_BYTES])
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            status, body = "400 Bad Request", {"error": "bad request"}
        except Exception as exc:  # the database is unreachable: the worker is not healthy
            status, body = "503 Service Unavailable", {"status": "error", "error": type(exc).__name__}
        data = orjson.dumps(body, default=str)
        writer.write(
            f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n"
            "Connection: close\r\n\r\n".encode()
            + data
        )
        try:
            await writer.drain()
        finally:
            writer.close()

    def _answer(self, head: bytes) -> tuple[str, Any]:
        parts = head.split(b"\r\n", 1)[0].decode("latin-1").split()
        if len(parts) != 3 or parts[0] != "GET":
            return "405 Method Not Allowed", {"error": "GET only"}
        route = self.routes.get(parts[1].split("?", 1)[0])
        if route is None:
            return "404 Not Found", {"error": "not found", "paths": sorted(self.routes)}
        return "200 OK", route()


async def serve_worker(
    worker: Any,
    *,
    port: int | None = None,
    host: str = "127.0.0.1",
    once: bool = False,
    on_listen: Callable[[int], None] | None = None,
) -> None:
    """Run ``worker`` (a :class:`~.worker.Worker`) with its health server (``port`` None: none) until it stops."""
    server = None
    if port is not None:
        server = HealthServer(worker.health_report, worker.counts_report, host, port)
        bound = await server.start()
        worker.log("health_listening", url=f"http://{host}:{bound}/health")
        if on_listen is not None:
            on_listen(bound)
    try:
        await worker.serve(once=once)
    finally:
        if server is not None:
            await server.close()
