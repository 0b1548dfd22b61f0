"""Download links for what a widget shows: its table as CSV/Excel, its chart as PNG/SVG.

Personal data (phone numbers, e-mails, and any number or address inside text) is masked by
:func:`wamkt_nb.data.privacy.mask_frame` unless the analyst ticks "full export" on purpose. The
files are built when "Prepare downloads" is pressed (not at every refresh) and offered as
``data:`` links, which work in JupyterLab and Voila without a server route.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Callable

import ipywidgets as W
import pandas as pd
from matplotlib.figure import Figure

from ..analytics.export import (
    FIGURE_FORMATS,
    MIME,
    TABLE_FORMATS,
    figure_bytes,
    table_bytes,
)
from ..data.privacy import mask_frame
from .feedback import StatusLine, guarded

TableSource = Callable[[], "pd.DataFrame | None"]
FigureSource = Callable[[], "Figure | None"]


class ExportBar(W.VBox):
    """Export buttons for one widget's table(s) and chart(s).

    ``tables`` and ``figures`` map a file stem to a function giving the current table or figure
    (None when there is nothing yet).
    """

    def __init__(
        self, tables: dict[str, TableSource] | None = None, figures: dict[str, FigureSource] | None = None
    ) -> None:
        self.tables = dict(tables or {})
        self.figures = dict(figures or {})
        self.full = W.Checkbox(
            value=False, indent=False, description="full export (personal data unmasked)", layout=W.Layout(width="auto")
        )
        self.full.add_class("wamkt-export-full")
        self.prepare = W.Button(description="Prepare downloads", icon="download", layout=W.Layout(width="auto"))
        self.prepare.add_class("wamkt-export-prepare")
        self.links = W.HTML()
        self.links.add_class("wamkt-export-links")
        self.status = StatusLine()
        self.prepare.on_click(lambda _b: self.build())
        self.full.observe(lambda _c: setattr(self.links, "value", ""), names="value")
        row = W.HBox(
            [self.prepare, self.full] if self.tables else [self.prepare], layout=W.Layout(flex_flow="row wrap")
        )
        super().__init__([row, self.links, self.status])
        self.add_class("wamkt-export")

    def files(self) -> dict[str, bytes]:
        """Every file the links offer, by file name (tables masked unless ``full`` is ticked)."""
        out: dict[str, bytes] = {}
        for stem, source in self.tables.items():
            table = source()
            if table is None:
                continue
            shown = table if self.full.value else mask_frame(table)
            for fmt in TABLE_FORMATS:
                out[f"{stem}.{fmt}"] = table_bytes(shown, fmt)
        for stem, draw in self.figures.items():
            fig = draw()
            if fig is None:
                continue
            for fmt in FIGURE_FORMATS:
                out[f"{stem}.{fmt}"] = figure_bytes(fig, fmt)
        return out

    @guarded(lambda self: self.status, "Preparing the downloads")
    def build(self) -> dict[str, bytes]:
        """Build the files and show one download link per file."""
        files = self.files()
        if not files:
            self.links.value = ""
            self.status.show("Nothing to export yet: run the widget first.", "warn")
            return files
        anchors = " · ".join(
            f"<a download='{html.escape(name)}' href='data:{MIME[name.rsplit('.', 1)[1]]};base64,"
            f"{base64.b64encode(data).decode()}'>{html.escape(name)}</a>"
            for name, data in files.items()
        )
        self.links.value = f"<div class='wamkt-export-anchors'>{anchors}</div>"
        masked = (
            "" if self.full.value or not self.tables else " Personal data is masked; tick full export to include it."
        )
        self.status.show(f"{len(files)} file(s) ready.{masked}", "ok")
        return files
