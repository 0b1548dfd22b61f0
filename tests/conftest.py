"""Shared fixtures: a free port, a Voila server on a real notebook, a headless Chromium page."""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from wamkt_nb.sandbox import Sandbox
from wamkt_nb.store import open_store

from pg_server import PostgresUnavailable, start_postgres

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def zone_where_it_is(hour: int, at: float | None = None) -> str:
    """An IANA zone where the local clock shows ``hour`` o'clock at ``at`` (default now): tests put
    recipients at noon (never in quiet hours) or at night, whatever the time the suite runs at."""
    utc_hour = time.gmtime(time.time() if at is None else at).tm_hour
    offset = (hour - utc_hour + 12) % 24 - 12  # -12 .. +11 hours from UTC
    return "Etc/GMT" + (f"{-offset:+d}" if offset else "")  # Etc/GMT signs are inverted (POSIX)


def wait_for_port(port: int, timeout: float = 60.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited early with code {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def wait_until(condition: Callable[[], Any], timeout: float = 60.0, interval: float = 0.02) -> None:
    """Poll ``condition`` until it is true; fail after ``timeout`` seconds. The deadline is generous on
    purpose: a starved CI machine is slow, not wrong, and a fixed sleep would fail there."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"condition still false after {timeout} s"
        time.sleep(interval)


async def wait_until_async(condition: Callable[[], Any], timeout: float = 60.0, interval: float = 0.01) -> None:
    """:func:`wait_until` for async tests: the event loop keeps running while it waits."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"condition still false after {timeout} s"
        await asyncio.sleep(interval)


def execute_notebook(path: Path, timeout: int = 180) -> tuple[Any, list]:
    """Run a notebook top to bottom in its own folder (nbclient, kernel python3), failing on any error.

    Returns the executed notebook and the outputs of its code cells.
    """
    # only the notebook tests run kernels: the other tests do not load jupyter_client
    import nbformat  # noqa: PLC0415
    from nbclient import NotebookClient  # noqa: PLC0415

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    errors = [o for o in outputs if o.output_type == "error"]
    assert not errors, errors[0].get("traceback")
    return nb, outputs


def widget_views(outputs: list) -> list:
    """The outputs that display a widget."""
    return [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]


def printed_text(outputs: list) -> str:
    """Everything the notebook printed."""
    return "".join(o.get("text", "") for o in outputs if o.output_type == "stream")


def stop_process(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """Terminate a server process, killing it if it does not exit within ``timeout`` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def voila_server(notebook: Path, env: dict[str, str] | None = None, log: Path | None = None) -> Iterator[str]:
    """Serve ``notebook`` with the real ``voila`` command; yield its URL."""
    port = free_port()
    out = open(log, "wb") if log else subprocess.DEVNULL
    proc = subprocess.Popen(
        [sys.executable, "-m", "voila", str(notebook), "--no-browser", f"--port={port}",
         "--Voila.ip=127.0.0.1"],
        cwd=ROOT, env=dict(os.environ, **(env or {})), stdout=out, stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, proc=proc)
        yield f"http://127.0.0.1:{port}/"
    finally:
        stop_process(proc)
        if log:
            out.close()


def open_dashboard(page, url: str, selector: str, timeout_ms: int = 120_000):
    """Load a Voila page, wait until its cells rendered and ``selector`` is visible; return that locator."""
    page.goto(url, timeout=timeout_ms)
    page.locator("#rendered_cells").wait_for(state="visible", timeout=timeout_ms)
    found = page.locator(selector).first
    found.wait_for(state="visible", timeout=timeout_ms)
    return found


SECRETS = {"WAMKT_ACCESS_TOKEN": "EAAGtesttokenDoNotShow123", "WAMKT_APP_SECRET": "appsecretDoNotShow456",
           "WAMKT_VERIFY_TOKEN": "verifyDoNotShow789"}
"""Known secret values the browser tests give their Voila servers: none may reach a page."""


def check_clean(page, phones: Iterable[str]) -> None:
    """No error box, no traceback, and in the whole page HTML no full phone number of ``phones``
    (E.164, with or without the plus) and no value of ``SECRETS``."""
    html = page.content()
    assert page.locator(".wamkt-error").count() == 0
    assert "Traceback" not in html and page.locator(".jp-OutputArea-output .ansi-red-fg").count() == 0
    leaked = [p for p in phones if p in html or p[1:] in html]
    assert not leaked, f"{len(leaked)} full phone numbers in the page"
    assert not [name for name, secret in SECRETS.items() if secret in html], "a secret in the page"


@pytest.fixture(scope="module")
def browser():
    """One headless Debian Chromium per test module (never a downloaded browser).

    Module scope, not session: Playwright's sync API keeps an event loop running while it is
    open, and pytest-asyncio cannot start its own loop for the async tests that follow.
    """
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("chromium is not installed: run the tests through scripts/test.sh")
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 (only the browser tests load Playwright)

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    from playwright.sync_api import expect  # noqa: PLC0415 (only the browser tests load Playwright)

    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    # a Voila kernel on a busy 2-core CI machine may take well over Playwright's 30 s / 5 s defaults
    context.set_default_timeout(120_000)
    expect.set_options(timeout=60_000)
    pg = context.new_page()
    yield pg
    context.close()


@pytest.fixture
def workspace(tmp_path, monkeypatch) -> Path:
    """An empty workspace folder, exported as WAMKT_WORKSPACE for notebooks and Voila."""
    monkeypatch.setenv("WAMKT_WORKSPACE", str(tmp_path))
    return tmp_path


@contextmanager
def sender_sandbox(customers, **options):
    """An embedded sandbox for sender tests: ``customers``, no pair rate, no messaging tier limit."""
    with Sandbox(customers=customers, **options) as sb:
        sb.configure(pair_interval=0.0, messaging_tier="TIER_UNLIMITED")
        yield sb


_fresh_databases = itertools.count(1)
"""Numbers the PostgreSQL databases the tests create on the session's server."""


def fresh_postgres_database(request) -> str:
    """The URL of a new database on the session's PostgreSQL server, copied from the migrated
    template (fast, and one per test)."""
    server = request.getfixturevalue("postgres_server")
    template = request.getfixturevalue("postgres_template")
    return server.create_database(f"wamkt_{os.getpid()}_{next(_fresh_databases)}", template)


_STORE_BACKENDS = [b.strip() for b in os.environ.get("WAMKT_TEST_STORE", "sqlite").split(",") if b.strip()]
"""Where the ``store`` fixture lives: ``WAMKT_TEST_STORE=postgresql`` runs its tests on the team
store, ``WAMKT_TEST_STORE=sqlite,postgresql`` on both. Modules marked ``both_stores`` (the store,
ledger, sender, receiver and reservation tests) always run on both."""

BOTH_STORES = ["sqlite", "postgresql"]


def pytest_generate_tests(metafunc):
    """Parametrise the ``store`` fixture by backend: both for ``both_stores`` modules (and when
    ``WAMKT_TEST_STORE`` names two), else the one backend ``WAMKT_TEST_STORE`` names."""
    if "store" not in metafunc.fixturenames:
        return
    backends = BOTH_STORES if metafunc.definition.get_closest_marker("both_stores") else _STORE_BACKENDS
    if len(backends) > 1:
        metafunc.parametrize("store", backends, indirect=True)


@pytest.fixture
def store(request, tmp_path):
    """A real store with migrations applied: a SQLite file (WAL) in the test's own folder, or a
    fresh database on the test PostgreSQL server (see ``pytest_generate_tests``). A module's own
    ``store`` fixture takes precedence."""
    backend = getattr(request, "param", _STORE_BACKENDS[0])
    s = open_store(fresh_postgres_database(request) if backend == "postgresql" else tmp_path / "w.db")
    yield s
    s.close()


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL server for the session (see ``pg_server.py``). When it cannot start, the
    tests that need it fail in CI (``CI`` set) and are skipped elsewhere, with the reason either way."""
    try:
        server = start_postgres(free_port())
    except (PostgresUnavailable, OSError, subprocess.SubprocessError) as exc:
        reason = f"PostgreSQL test server unavailable: {exc}"
        if os.environ.get("CI"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_url(postgres_server) -> str:
    """``postgresql://postgres@127.0.0.1:PORT/wamkt_test``: an empty database on the session's server."""
    return postgres_server.create_database("wamkt_test")


@pytest.fixture(scope="session")
def postgres_template(postgres_server) -> str:
    """A database with every migration applied, copied for each test that needs a fresh one."""
    open_store(postgres_server.create_database("wamkt_template")).close()
    return "wamkt_template"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_target(request, tmp_path) -> str:
    """A fresh, migrated database on each backend: a SQLite file's path, or the URL of a new
    PostgreSQL database (see ``fresh_postgres_database``)."""
    if request.param == "sqlite":
        open_store(tmp_path / "w.db").close()
        return str(tmp_path / "w.db")
    return fresh_postgres_database(request)


@pytest.fixture
def any_store(store_target):
    """A real store on SQLite and on PostgreSQL (the test runs once on each)."""
    s = open_store(store_target)
    yield s
    s.close()
