"""Voila serves the segment dashboard; in headless Chromium a preset and a checkbox move the count, and
no full phone number or secret reaches the page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers import ROOT
from helpers.browser import SECRETS, check_clean, open_dashboard, voila_server
from playwright.sync_api import expect

from wamkt_nb.data.sample import generate
from wamkt_nb.workspace import save_customer_data

pytestmark = pytest.mark.browser


def count(page) -> int:
    text = page.locator(".wamkt-segment-count").inner_text()
    return int(re.search(r"([\d,]+) customers match", text).group(1).replace(",", ""))


def test_changing_controls_changes_the_count(page, workspace: Path, tmp_path):
    data = generate(2_000, seed=5)
    save_customer_data(data, workspace)
    with voila_server(
        ROOT / "dashboards" / "segments.ipynb",
        env={"WAMKT_WORKSPACE": str(workspace), **SECRETS},
        log=tmp_path / "voila.log",
    ) as url:
        open_dashboard(page, url, ".wamkt-segment-count")
        page.wait_for_function("document.querySelector('.wamkt-segment-count').innerText.includes('customers match')")
        start = count(page)
        assert "interacted in the last 7 days" in page.locator(".wamkt-segment-description").inner_text()

        page.locator(".wamkt-segment-preset select").select_option(label="Frequent buyers")
        page.wait_for_function(f"!document.querySelector('.wamkt-segment-count').innerText.startsWith('{start:,} ')")
        frequent = count(page)
        assert frequent != start
        # the count is redrawn first, the description after it: wait for it rather than read it at once
        expect(page.locator(".wamkt-segment-description")).to_contain_text("frequent buyers")

        page.locator(".wamkt-segment-include-inactive input").check()
        page.wait_for_function(f"!document.querySelector('.wamkt-segment-count').innerText.startsWith('{frequent:,} ')")
        assert count(page) > frequent
        expect(page.locator(".wamkt-segment-inactive")).to_contain_text("included")
        expect(page.locator(".wamkt-segment-sample")).to_contain_text("*****")  # phones in the sample are masked
        check_clean(page, data.customers["phone"].tolist())
