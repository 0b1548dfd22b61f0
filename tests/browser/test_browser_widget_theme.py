"""Voila serves the A/B results dashboard in JupyterLab's light and dark themes at 1,000 and 1,600 px:
the widget text reaches WCAG AA contrast on what is really behind it, and no input is clipped."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import ROOT
from helpers.browser import COLOURS, SECRETS, open_dashboard, voila_server
from helpers.experiments import experiment_store

from wamkt_nb.data.sample import generate
from wamkt_nb.widgets.theme import contrast
from wamkt_nb.workspace import save_customer_data

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_results_widget_is_readable_and_unclipped_in_both_themes(page, workspace: Path, tmp_path, theme):
    experiment_store(workspace / "wamkt.db").close()
    with voila_server(
        ROOT / "dashboards" / "ab_results.ipynb",
        env={"WAMKT_WORKSPACE": str(workspace), **SECRETS},
        log=tmp_path / "voila.log",
    ) as url:
        for width in (1000, 1600):
            page.set_viewport_size({"width": width, "height": 900})
            open_dashboard(page, f"{url}?theme={theme}", ".wamkt-ab-verdict .wamkt-status-ok")
            if theme == "dark":
                assert page.evaluate("document.body.dataset.jpThemeLight") == "false"
            for selector in (
                ".wamkt-ab-verdict .wamkt-status-ok",
                ".wamkt-ab-table td",
                ".wamkt-ab-table th",
                ".wamkt-ab-srm small",
            ):
                text, background = page.locator(selector).first.evaluate(COLOURS)
                assert contrast(text, background) >= 4.5, (theme, width, selector, text, background)
            for selector in (".wamkt-ab-metric select", ".wamkt-ab-experiment select", ".wamkt-ab-refresh"):
                box = page.locator(selector).first.bounding_box()
                assert box is not None and box["width"] >= 60, (selector, box)
                assert box["x"] >= 0 and box["x"] + box["width"] <= width, (width, selector, box)
            label = page.locator(".wamkt-export-prepare").first
            assert label.evaluate("b => b.scrollWidth <= b.clientWidth"), "the export button's label is cut"


def test_segment_builder_keeps_its_inputs_and_contrast_in_the_dark_theme_at_1000_px(page, workspace: Path, tmp_path):
    save_customer_data(generate(500, seed=5), workspace)
    with voila_server(
        ROOT / "dashboards" / "segments.ipynb",
        env={"WAMKT_WORKSPACE": str(workspace), **SECRETS},
        log=tmp_path / "voila.log",
    ) as url:
        page.set_viewport_size({"width": 1000, "height": 900})
        open_dashboard(page, f"{url}?theme=dark", ".wamkt-segment-count")
        page.wait_for_function("document.querySelector('.wamkt-segment-count').innerText.includes('customers match')")
        page.locator(".wamkt-segment-add-condition").first.click()
        page.locator(".wamkt-segment-condition").last.wait_for(state="visible")
        for selector in (".wamkt-segment-field select", ".wamkt-segment-op select", ".wamkt-segment-value"):
            box = page.locator(selector).last.bounding_box()
            assert box is not None and box["width"] >= 60 and box["x"] + box["width"] <= 1000, (selector, box)
        for selector in (".wamkt-segment-count", ".wamkt-segment-description", ".wamkt-segment-sample td"):
            text, background = page.locator(selector).first.evaluate(COLOURS)
            assert contrast(text, background) >= 4.5, (selector, text, background)
