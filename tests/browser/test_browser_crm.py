"""Voila + headless Chromium: a CRM fetch runs while the dashboard stays live; Cancel answers mid-fetch."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import ROOT
from helpers.browser import open_dashboard, voila_server
from helpers.crm_server import TOKEN, crm_server, make_customers
from playwright.sync_api import expect

from wamkt_nb.data.sample import generate
from wamkt_nb.workspace import save_customer_data

pytestmark = pytest.mark.browser
DEADLINE_MS = 60_000


def _poll(condition: Callable[[], object], what: str, page, timeout_ms: int = DEADLINE_MS) -> None:
    deadline = time.monotonic() + timeout_ms / 1000
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        page.wait_for_timeout(50)


def _records(text: str) -> int:
    match = re.search(r"([\d,]+) records", text)
    return int(match.group(1).replace(",", "")) if match else -1


def test_fetch_shows_progress_and_cancel_answers_while_fetching(page, workspace: Path, tmp_path):
    save_customer_data(generate(40, seed=5), workspace)
    with crm_server(make_customers(3_000)) as crm:
        crm.delay = 0.05  # 300 pages of 10: fifteen seconds at least, cancelled after a few
        with voila_server(
            ROOT / "dashboards" / "customer_data.ipynb",
            env={"WAMKT_WORKSPACE": str(workspace)},
            log=tmp_path / "voila.log",
        ) as url:
            open_dashboard(page, url, ".wamkt-data-sources")
            page.locator(".wamkt-data-sources .lm-TabBar-tab", has_text="CRM").click()
            page.locator(".wamkt-data-crm-url input").fill(crm.base + "/page/customers")
            page.locator(".wamkt-data-crm-token input").fill(TOKEN)
            page.locator(".wamkt-data-crm-fetch").click()

            progress = page.locator(".wamkt-data-crm-progress")
            _poll(lambda: _records(progress.inner_text()) >= 20, "two pages in the progress line", page)
            first = _records(progress.inner_text())
            _poll(lambda: _records(progress.inner_text()) > first, "the progress line to move on", page)
            assert "of 300" in progress.inner_text() and "/page/customers" in progress.inner_text()

            page.locator(".wamkt-data-crm-cancel").click()
            status = page.locator(".wamkt-data-status")
            expect(status).to_contain_text("cancelled", timeout=DEADLINE_MS)
            expect(status).to_contain_text("Nothing was loaded")
            received = crm.hits["/page/customers"] * 10
            assert received < 3_000
            partial = page.locator(".wamkt-data-crm-partial")
            expect(partial).to_be_visible()
            expect(partial).to_contain_text(f"Load the {received:,} records fetched")

            partial.click()
            expect(status).to_contain_text("incomplete", timeout=DEADLINE_MS)
            expect(page.locator(".wamkt-data-summary")).to_contain_text(f"{received:,}")
            shown = status.inner_text() + progress.inner_text()
            assert TOKEN not in shown and "Traceback" not in page.content()
