"""The shared widget parts: errors shown in the widget, theme contrast, masked exports."""

from __future__ import annotations

import logging
import re
import sqlite3
from pathlib import Path

import jupyterlab
import matplotlib
import pandas as pd
import pytest

matplotlib.use("Agg")
import ipywidgets as W
from matplotlib.figure import Figure

from wamkt_nb.widgets.export_bar import ExportBar
from wamkt_nb.widgets.feedback import StatusLine, guarded
from wamkt_nb.widgets.theme import CARD_PAIRS, TEXT_PAIRS, THEMES, contrast


class Closed(W.VBox):
    def __init__(self) -> None:
        self.status = StatusLine()
        conn = sqlite3.connect(":memory:")
        conn.close()
        self.conn = conn
        super().__init__([self.status])

    @guarded(lambda self: self.status, "Run dry-run")
    def run(self) -> int:
        return self.conn.execute("SELECT 1").fetchone()[0]


def test_a_callback_error_shows_in_the_widget_and_logs_the_trace(caplog):
    w = Closed()
    with caplog.at_level(logging.ERROR, logger="wamkt_nb.widgets"):
        assert w.run() is None
    assert w.status.level == "error"
    assert "Run dry-run failed: Cannot operate on a closed database" in w.status.text
    assert "run the set-up cells again" in w.status.text
    assert "Traceback" in caplog.text or caplog.records[0].exc_info


def test_status_escapes_text():
    s = StatusLine("<b>417</b> waiting", "info")
    assert "&lt;b&gt;417" in s.value


def _installed_theme(name: str) -> str | None:
    path = Path(jupyterlab.__file__).parent / "themes" / "@jupyterlab" / f"theme-{name}-extension" / "index.css"
    return path.read_text() if path.exists() else None


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_theme_values_match_the_installed_jupyterlab(theme):
    pytest.importorskip("jupyterlab")
    css = _installed_theme(theme)
    if css is None:
        pytest.skip("JupyterLab's theme files are not installed")
    for var, value in THEMES[theme].items():
        m = re.search(re.escape(var) + r":([^;}]+)", css)
        assert m, var
        declared = m.group(1).strip()
        fallback = re.search(r"(#[0-9a-fA-F]{3,6})\)$", declared)
        got = fallback.group(1) if fallback else declared
        got = {"white": "#fff"}.get(got, got).replace(" ", "").lower()
        if re.fullmatch(r"#[0-9a-f]{3}", got):
            got = "#" + "".join(c * 2 for c in got[1:])
        assert got == value.lower().replace(" ", ""), (var, declared)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_text_pairs_reach_wcag_aa(theme):
    values = THEMES[theme]
    for fg, bg in TEXT_PAIRS:
        assert contrast(values[fg], values[bg]) >= 4.5, (theme, fg, bg)


def test_card_pairs_reach_wcag_aa_and_the_old_bubble_did_not():
    for fg, bg in CARD_PAIRS:
        assert contrast(fg, bg) >= 4.5, (fg, bg)
    assert contrast("#ffffff", "#d9fdd3") < 1.5  # white text on the bubble: the reported bug
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0


def test_export_masks_personal_data_unless_full_is_ticked():
    table = pd.DataFrame({"customer_id": ["c1"], "phone": ["+4915112345678"], "note": ["call +4915112345678"]})
    fig = Figure()
    fig.add_subplot().plot([1, 2])
    bar = ExportBar(tables={"members": lambda: table}, figures={"chart": lambda: fig})
    files = bar.build()
    assert set(files) == {"members.csv", "members.xlsx", "chart.png", "chart.svg"}
    assert b"+4915112345678" not in files["members.csv"]
    assert files["chart.png"].startswith(b"\x89PNG") and b"<svg" in files["chart.svg"]
    assert "download='members.csv'" in bar.links.value and "masked" in bar.status.text
    bar.full.value = True
    assert bar.links.value == ""  # the masked links go when the choice changes
    assert b"+4915112345678" in bar.build()["members.csv"]


def test_export_with_nothing_yet_says_so():
    bar = ExportBar(tables={"plan": lambda: None})
    assert bar.build() == {}
    assert bar.status.level == "warn" and "run the widget first" in bar.status.text
