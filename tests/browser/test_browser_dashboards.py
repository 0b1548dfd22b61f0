"""The analytics dashboards in a real browser: Voila serves each one, headless Chromium looks at it."""

from __future__ import annotations

import re
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from helpers import ROOT
from helpers.browser import SECRETS, check_clean, open_dashboard, voila_server

from wamkt_nb.analytics.synthetic import write_ledger
from wamkt_nb.data.sample import generate
from wamkt_nb.store import open_store
from wamkt_nb.workspace import save_customer_data

pytestmark = pytest.mark.browser
PAINT_MS = 90_000


@pytest.fixture(scope="module")
def filled(tmp_path_factory) -> tuple[Path, list[str]]:
    directory = tmp_path_factory.mktemp("dash-workspace")
    data = generate(400, seed=11)
    save_customer_data(data, directory)
    store = open_store(directory / "wamkt.db")
    write_ledger(store, data.customers, 4_000, time.time(), seed=11)
    store.close()
    return directory, data.customers["phone"].astype(str).tolist()


def choose_and_wait_for_redraw(page, select: str, chart: str, **option) -> None:
    """Pick an option in the ``select`` control and wait until ``chart``'s image is a new one."""
    before = page.locator(f"{chart} img").first.get_attribute("src") or ""
    page.locator(f"{select} select").select_option(**option)
    page.wait_for_function(
        "([css, before]) => document.querySelector(css + ' img').src !== before",
        arg=[chart, before],
        timeout=PAINT_MS,
    )


@contextmanager
def analytics_dashboard(page, filled, notebook: str, chart: str):
    """``notebook`` served with the filled workspace and the test secrets, painted up to ``chart``."""
    directory, _ = filled
    env = {"WAMKT_WORKSPACE": str(directory), **SECRETS}
    with voila_server(ROOT / "dashboards" / notebook, env) as url:
        open_dashboard(page, url, ".wamkt-analytics", PAINT_MS)
        page.wait_for_selector(f"{chart} img", state="visible", timeout=PAINT_MS)
        yield


def test_campaign_overview(page, filled):
    phones = filled[1]
    with analytics_dashboard(page, filled, "campaign_overview.ipynb", ".wamkt-chart-funnel"):
        read = page.locator(".wamkt-kpi-read-rate").inner_text()
        assert 30 < float(read.rstrip("%")) <= 100
        campaigns = int(page.locator(".wamkt-kpi-campaigns").inner_text().replace(",", ""))
        assert campaigns == 20
        assert page.locator(".wamkt-chart-funnel .wamkt-export-png").count() == 1
        check_clean(page, phones)
        choose_and_wait_for_redraw(page, ".wamkt-select-campaign", ".wamkt-chart-funnel", index=2)
        page.wait_for_function(
            "() => document.querySelector('.wamkt-kpi-campaigns').innerText === '1'", timeout=PAINT_MS
        )
        check_clean(page, phones)


def test_segment_comparison(page, filled):
    phones = filled[1]
    with analytics_dashboard(page, filled, "segment_comparison.ipynb", ".wamkt-chart-segments"):
        table = page.locator(".wamkt-chart-segments .wamkt-table").inner_text()
        assert "unsegmented" in table and "frequent_buyers" in table
        rates = [float(x) for x in re.findall(r"(\d+\.\d)%", table)]
        assert rates and all(0 <= r <= 1000 for r in rates)
        check_clean(page, phones)
        choose_and_wait_for_redraw(page, ".wamkt-select-segment", ".wamkt-chart-segment-rates", value="active_7d")
        check_clean(page, phones)


def test_send_times(page, filled):
    phones = filled[1]
    with analytics_dashboard(page, filled, "send_times.ipynb", ".wamkt-chart-heatmap"):
        best = page.locator(".wamkt-chart-best-hours .wamkt-table").inner_text()
        hours = [int(h) for h in re.findall(r"^\S+\s+\d\s+(\d+)\s", best, flags=re.M)]
        assert hours and all(0 <= h <= 23 for h in hours)
        decay = page.locator(".wamkt-chart-reply-decay").inner_text()
        assert "after the customer read the message" in decay and "65 % within 3 min" in decay
        assert "Read rate by local send hour" in page.locator(".wamkt-send-times").inner_text()
        check_clean(page, phones)
        choose_and_wait_for_redraw(page, ".wamkt-select-segment", ".wamkt-chart-best-hours", value="frequent_buyers")
        check_clean(page, phones)


def test_empty_workspace_shows_friendly_state(page, tmp_path):
    with voila_server(ROOT / "dashboards" / "campaign_overview.ipynb", {"WAMKT_WORKSPACE": str(tmp_path)}) as url:
        open_dashboard(page, url, ".wamkt-analytics", PAINT_MS)
        page.wait_for_selector(".wamkt-empty", state="visible", timeout=PAINT_MS)
        assert "No campaigns yet" in page.locator(".wamkt-empty").inner_text()
        assert page.locator(".wamkt-error").count() == 0
