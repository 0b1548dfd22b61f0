"""Voila serves the customer data dashboard; headless Chromium sees the summary and no full phone number."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import ROOT, open_dashboard, voila_server
from wamkt_nb.data.sample import generate
from wamkt_nb.workspace import save_customer_data

pytestmark = pytest.mark.browser


def test_dashboard_shows_the_summary_with_masked_phones(page, workspace: Path, tmp_path):
    data = generate(437, seed=11)
    save_customer_data(data, workspace)
    with voila_server(ROOT / "dashboards" / "customer_data.ipynb", env={"WAMKT_WORKSPACE": str(workspace)},
                      log=tmp_path / "voila.log") as url:
        summary = open_dashboard(page, url, ".wamkt-data-summary")
        text = summary.inner_text()
        assert re.search(r"customers\s+437", text)
        assert re.search(rf"orders\s+{len(data.orders):,}", text)
        assert re.search(rf"interactions\s+{len(data.interactions):,}", text)
        assert "DE " in text
        preview = page.locator(".wamkt-data-preview")
        assert "*****" in preview.inner_text()
        content = page.content()
        assert data.customers["phone"].iloc[0] not in content
        assert not re.search(r"\+\d{10,15}\b", content), "a full phone number in the page"
        assert "Traceback" not in content
