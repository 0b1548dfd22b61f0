"""Export a chart to PNG/SVG and a table to CSV/Excel, as bytes (for download links) or files.

Tables are written by ``wamkt_nb.exports`` (formula cells defused, files owner-only).
"""

from __future__ import annotations

import io
from pathlib import Path

from matplotlib.figure import Figure

from ..exports import TABLE_FORMATS, save_table, table_bytes
from ..private_files import write_private_bytes

__all__ = ["FIGURE_FORMATS", "MIME", "TABLE_FORMATS", "figure_bytes", "save_figure", "save_table", "table_bytes"]

FIGURE_FORMATS = ("png", "svg")
MIME = {
    "png": "image/png",
    "svg": "image/svg+xml",
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def figure_bytes(fig: Figure, fmt: str = "png", dpi: int = 100) -> bytes:
    """The figure rendered as PNG or SVG."""
    if fmt not in FIGURE_FORMATS:
        raise ValueError(f"chart format {fmt!r} not supported; use one of {', '.join(FIGURE_FORMATS)}")
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=dpi)
    return buf.getvalue()


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Write the figure; the format comes from the file's suffix (.png or .svg)."""
    path = Path(path)
    return write_private_bytes(path, figure_bytes(fig, path.suffix.lstrip(".").lower()))
