"""A small fake CRM REST API on 127.0.0.1 for tests: three pagination styles, auth and failures.

Routes (``TOKEN`` is the only accepted credential):
  /page/customers?page=N&per_page=M   Bearer; {"data": [...], "meta": {"page", "total_pages"}}
  /cursor/contacts?cursor=C&limit=M   X-API-Key; {"results": [...], "next_cursor": "..." | null}
  /next/customers?offset=O            Bearer; {"customers": [...], "links": {"next": URL | null}}
  /flaky/customers                    429 (Retry-After: 1) then 503, then the first page style
  /broken/customers                   always 500
  /html/customers                     a login page (text/html, 200)
  /badjson/customers                  200 with a body that is not JSON
  /forbidden/customers                403
  /hang/customers                     answers only after ``hang`` seconds (for client timeouts)
Anything else is 404. ``hits`` counts requests per path. A test module imports the fixtures ``crm``
(one server per module, ``CRM_CUSTOMERS`` contacts) and ``fresh_crm`` (autouse: resets it per test).
``delay`` (seconds) slows every page of the three paging routes, so a test can watch a fetch in
progress; ``fail_from`` makes /page/customers answer 500 from that page on.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from helpers.processes import free_port

from .processes import free_port

TOKEN = "crm-secret-token-123"


def make_customers(n: int) -> list[dict]:
    """CRM-style contacts: nested, German field names, some bad and duplicate phones."""
    people = []
    for i in range(1, n + 1):
        phone = f"0151 {1000000 + i:07d}"
        if i % 10 == 0:
            phone = "unbekannt"  # rejected
        if i % 13 == 0:
            phone = f"+49151{1000000 + i - 1:07d}"  # the previous customer again: merged
        people.append(
            {
                "id": i,
                "Vorname": f"Kunde{i}",
                "Nachname": "Test",
                "Mobil": phone,
                "Einwilligung": "ja" if i % 3 else "nein",
                "address": {"Stadt": "Berlin"},
            }
        )
    return people


class FakeCrm:
    def __init__(self, customers: list[dict]) -> None:
        self.customers = customers
        self.hits: Counter[str] = Counter()
        self.base = ""
        self.delay = 0.0
        self.hang = 2.0
        self.fail_from: int | None = None
        self.app = Starlette(
            routes=[
                Route("/page/customers", self.page),
                Route("/cursor/contacts", self.cursor),
                Route("/next/customers", self.next_link),
                Route("/flaky/customers", self.flaky),
                Route("/broken/customers", lambda r: self._count(r) or PlainTextResponse("boom", 500)),
                Route(
                    "/html/customers",
                    lambda r: self._count(r) or HTMLResponse("<!doctype html><html><body>Login</body></html>"),
                ),
                Route(
                    "/badjson/customers",
                    lambda r: self._count(r) or Response('{"data": [1, 2', media_type="application/json"),
                ),
                Route("/forbidden/customers", lambda r: self._count(r) or JSONResponse({"error": "forbidden"}, 403)),
                Route("/hang/customers", self.hanging),
            ]
        )

    def reset(self) -> None:
        """Forget the hits and the faults a test set (one server serves a whole test module)."""
        self.hits.clear()
        self.delay, self.fail_from = 0.0, None

    def _count(self, request: Request) -> None:
        self.hits[request.url.path] += 1

    async def _slow(self, request: Request) -> None:
        self._count(request)
        if self.delay:
            await asyncio.sleep(self.delay)

    async def hanging(self, request: Request) -> Response:
        self._count(request)
        await asyncio.sleep(self.hang)
        return JSONResponse({"data": []})

    @staticmethod
    def _authorised(request: Request, scheme: str) -> bool:
        if scheme == "bearer":
            return request.headers.get("authorization") == f"Bearer {TOKEN}"
        return request.headers.get("x-api-key") == TOKEN

    def _deny(self) -> JSONResponse:
        return JSONResponse({"error": "unauthorized"}, 401)

    async def page(self, request: Request) -> Response:
        await self._slow(request)
        if not self._authorised(request, "bearer"):
            return self._deny()
        page, size = int(request.query_params.get("page", 1)), int(request.query_params.get("per_page", 10))
        if self.fail_from is not None and page >= self.fail_from:
            return PlainTextResponse("database on fire", 500)
        total = max(1, -(-len(self.customers) // size))
        chunk = self.customers[(page - 1) * size : page * size]
        return JSONResponse({"data": chunk, "meta": {"page": page, "total_pages": total}})

    async def cursor(self, request: Request) -> Response:
        await self._slow(request)
        if not self._authorised(request, "api_key"):
            return self._deny()
        start, size = int(request.query_params.get("cursor", "0") or 0), int(request.query_params.get("limit", 7))
        end = start + size
        return JSONResponse(
            {"results": self.customers[start:end], "next_cursor": str(end) if end < len(self.customers) else None}
        )

    async def next_link(self, request: Request) -> Response:
        await self._slow(request)
        if not self._authorised(request, "bearer"):
            return self._deny()
        offset = int(request.query_params.get("offset", 0))
        end = offset + 9
        link = f"{self.base}/next/customers?offset={end}" if end < len(self.customers) else None
        return JSONResponse({"customers": self.customers[offset:end], "links": {"next": link}})

    async def flaky(self, request: Request) -> Response:
        self._count(request)
        n = self.hits[request.url.path]
        if n == 1:
            return JSONResponse({"error": "slow down"}, 429, headers={"Retry-After": "1"})
        if n == 2:
            return PlainTextResponse("unavailable", 503)
        return await self.page(request)


@contextmanager
def crm_server(customers: list[dict]) -> Iterator[FakeCrm]:
    """Serve a FakeCrm on a free 127.0.0.1 port in a thread; stop it afterwards."""
    crm = FakeCrm(customers)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(crm.app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(200):
            if server.started:
                break
            threading.Event().wait(0.05)
        else:
            raise RuntimeError("fake CRM did not start")
        crm.base = f"http://127.0.0.1:{port}"
        yield crm
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def crm(request: pytest.FixtureRequest) -> Iterator[FakeCrm]:
    """One fake CRM for the test module, with its ``CRM_CUSTOMERS`` contacts (default 47)."""
    with crm_server(make_customers(getattr(request.module, "CRM_CUSTOMERS", 47))) as server:
        yield server


@pytest.fixture(autouse=True)
def fresh_crm(crm: FakeCrm) -> FakeCrm:
    """Every test starts with no hits and no faults."""
    crm.reset()
    return crm
