"""Voila serves the A/B results dashboard; headless Chromium sees the verdict, the table, a metric change
that moves the verdict, and no full phone number or secret in the page."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import ROOT
from helpers.browser import SECRETS, check_clean, open_dashboard, voila_server
from helpers.experiments import experiment_store

pytestmark = pytest.mark.browser


def test_results_dashboard_shows_the_verdict(page, workspace: Path, tmp_path):
    store = experiment_store(workspace / "wamkt.db")  # A converts 6 %, B 9.5 % of 1,000 each
    phones = [phone for (phone,) in store.query("SELECT phone FROM sends")]
    store.close()
    with voila_server(
        ROOT / "dashboards" / "ab_results.ipynb",
        env={"WAMKT_WORKSPACE": str(workspace), **SECRETS},
        log=tmp_path / "voila.log",
    ) as url:
        verdict = open_dashboard(page, url, ".wamkt-ab-verdict")
        page.wait_for_function("document.querySelector('.wamkt-ab-verdict').innerText.includes('Winner')")
        assert "Winner: B" in verdict.inner_text()
        assert "B reaches 9.50% vs 6.00% for A" in verdict.inner_text()
        table = page.locator(".wamkt-ab-table").inner_text()
        assert "A (control)" in table and "1,000" in table
        chart = page.locator("img.wamkt-ab-chart")
        page.wait_for_function("document.querySelector('img.wamkt-ab-chart').naturalWidth > 0")
        assert chart.count() == 1
        check_clean(page, phones)

        page.locator(".wamkt-ab-metric select").select_option("read")
        page.wait_for_function("!document.querySelector('.wamkt-ab-verdict').innerText.includes('Winner')")
        assert "Winner" not in verdict.inner_text()
        check_clean(page, phones)
