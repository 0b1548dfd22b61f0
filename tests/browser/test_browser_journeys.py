"""The campaign overview in a real browser over a journey played on the real sandbox: Voila serves
the dashboard, headless Chromium shows the journey's per-step funnel (sent → converted, with the
clicked step) beside the campaign funnel's clicked step, and no phone number appears."""

from __future__ import annotations

import re

import nbformat
import pytest
from helpers import ROOT
from helpers.browser import COLOURS, SECRETS, check_clean, open_dashboard, voila_server
from helpers.journeys import JOURNEY_TITLE

from wamkt_nb.store import open_store
from wamkt_nb.widgets.theme import contrast

pytestmark = pytest.mark.browser
PAINT_MS = 90_000


def test_overview_shows_the_journey_per_step_and_the_click_funnel(page, played_journey):
    tmp_path, funnel = played_journey
    results = funnel.set_index("step")
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


EDITOR = """from wamkt_nb import Workspace
from wamkt_nb.widgets.journey import JourneyEditor

JourneyEditor(Workspace().campaign("herbst"), templates=[])"""
"""A notebook showing the journey editor of the played journey (no templates: no Cloud API call)."""


def test_journey_editor_is_readable_and_unclipped_in_both_themes(page, played_journey, tmp_path):
    directory, _ = played_journey
    notebook = tmp_path / "journey.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(EDITOR)]), notebook)
    env = {"WAMKT_WORKSPACE": str(directory), **SECRETS}
    with voila_server(notebook, env, log=tmp_path / "voila.log") as url:
        page.set_viewport_size({"width": 1000, "height": 900})
        for theme in ("light", "dark"):
            open_dashboard(page, f"{url}?theme={theme}", ".wamkt-journey .wamkt-table td", PAINT_MS)
            page.locator(".wamkt-journey-cart").click()
            page.locator(".wamkt-journey-step").nth(2).wait_for(state="visible", timeout=PAINT_MS)
            assert page.locator(".wamkt-journey-step").count() == 3
            for selector in (".wamkt-journey .wamkt-table td", ".wamkt-journey .wamkt-status", ".wamkt-journey h3"):
                text, background = page.locator(selector).first.evaluate(COLOURS)
                assert contrast(text, background) >= 4.5, (theme, selector, text, background)
            for selector in (".wamkt-journey-step select", ".wamkt-journey-step input", ".wamkt-journey-save"):
                box = page.locator(selector).last.bounding_box()
                assert box is not None and box["width"] >= 40 and box["x"] + box["width"] <= 1000, (selector, box)
