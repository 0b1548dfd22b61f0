"""Fixtures every test folder may use: a headless Chromium page, a workspace folder, stores on SQLite and
PostgreSQL. Plain helper functions live in the ``helpers`` package."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers.browser import CHROMIUM_ARGS
from helpers.journeys import play_journey
from helpers.pg_server import PostgresUnavailable, start_postgres
from helpers.processes import free_port

from wamkt_nb.store import open_store


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


_fresh_databases = itertools.count(1)
"""Numbers the PostgreSQL databases the tests create on the session's server."""


def fresh_postgres_database(request) -> str:
    """The URL of a new database on the session's PostgreSQL server, copied from the migrated
    template (fast, and one per test); dropped when the requesting fixture ends, so the server's
    data directory holds only the databases of the running test."""
    server = request.getfixturevalue("postgres_server")
    template = request.getfixturevalue("postgres_template")
    name = f"wamkt_{os.getpid()}_{next(_fresh_databases)}"
    url = server.create_database(name, template)
    request.addfinalizer(lambda: server.drop_database(name))
    return url


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
def played_journey(tmp_path_factory):
    """``(workspace folder, per-step funnel)`` of the journey in ``helpers/journeys.py``, played once
    for the session: the overview's widget and browser tests read the same ledger, neither writes it."""
    directory = tmp_path_factory.mktemp("journey")
    return directory, play_journey(directory)


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL server for the session, one per pytest-xdist process, each on its own free port
    and in its own temp folder (see ``helpers/pg_server.py``). When it cannot start, the
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
