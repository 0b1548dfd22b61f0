"""The campaign overview in a real browser over a journey played on the real sandbox: Voila serves
the dashboard, headless Chromium shows the journey's per-step funnel (sent → converted, with the
clicked step) beside the campaign funnel's clicked step, and no phone number appears."""

from __future__ import annotations

import re

import pytest
from helpers import ROOT
from helpers.browser import SECRETS, check_clean, open_dashboard, voila_server
from helpers.journeys import JOURNEY_TITLE, play_journey

from wamkt_nb.store import open_store

pytestmark = pytest.mark.browser
PAINT_MS = 90_000


def test_overview_shows_the_journey_per_step_and_the_click_funnel(page, tmp_path):
    results = play_journey(tmp_path).set_index("step")
    with open_store(tmp_path / "wamkt.db") as store:
        phones = [r[0] for r in store.query("SELECT phone FROM sends")]
    env = {"WAMKT_WORKSPACE": str(tmp_path), **SECRETS}
    with voila_server(ROOT / "dashboards" / "campaign_overview.ipynb", env) as url:
        open_dashboard(page, url, ".wamkt-analytics", PAINT_MS)
        page.wait_for_selector(".wamkt-chart-journeys img", state="visible", timeout=PAINT_MS)
        table = page.locator(".wamkt-chart-journeys .wamkt-table")
        header = table.locator("th").all_inner_texts()
        assert [h for h in header if h in ("sent", "delivered", "read", "clicked", "replied", "converted")] == [
            "sent",
            "delivered",
            "read",
            "clicked",
            "replied",
            "converted",
        ]
        rows = [r.locator("td").all_inner_texts() for r in table.locator("tbody tr").all()]
        assert [(r[0], r[1], r[2]) for r in rows] == [
            (JOURNEY_TITLE, "0", "campaign"),
            (JOURNEY_TITLE, "1", "not_clicked"),
            (JOURNEY_TITLE, "2", "any"),
        ]
        at = {name: header.index(name) for name in ("sent", "clicked")}
        for row in rows:
            step = int(row[1])
            for name, i in at.items():
                assert int(row[i].replace(",", "")) == results.loc[step, name]
        assert results.loc[0, "clicked"] > 0
        assert page.locator(".wamkt-chart-journeys .wamkt-export-png").count() == 1

        funnel = page.locator(".wamkt-chart-funnel .wamkt-table").inner_text()
        assert re.search(r"\bclicked\b", funnel)  # the campaign funnel's click step
        check_clean(page, phones)
