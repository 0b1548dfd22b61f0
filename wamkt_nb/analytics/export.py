"""Export a chart to PNG/SVG and a table to CSV/Excel, as bytes (for download links) or files."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

FIGURE_FORMATS = ("png", "svg")
TABLE_FORMATS = ("csv", "xlsx")
MIME = {
    "png": "image/png", "svg": "image/svg+xml", "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def figure_bytes(fig: Figure, fmt: str = "png", dpi: int = 100) -> bytes:
    """The figure rendered as PNG or SVG."""
    if fmt not in FIGURE_FORMATS:
        raise ValueError(f"chart format {fmt!r} not supported; use one of {', '.join(FIGURE_FORMATS)}")
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=dpi)
    return buf.getvalue()


def _excel_ready(table: pd.DataFrame) -> pd.DataFrame:
    """Excel cannot store time zones: write UTC wall time instead."""
    out = table.copy()
    for col in out.columns:
        if isinstance(out[col].dtype, pd.DatetimeTZDtype):
            out[col] = out[col].dt.tz_convert("UTC").dt.tz_localize(None)
    return out


def table_bytes(table: pd.DataFrame, fmt: str = "csv") -> bytes:
    """The table as CSV (UTF-8) or an Excel workbook."""
    if fmt == "csv":
        return table.to_csv(index=False).encode("utf-8")
    if fmt == "xlsx":
        buf = io.BytesIO()
        _excel_ready(table).to_excel(buf, index=False, engine="openpyxl")
        return buf.getvalue()
    raise ValueError(f"table format {fmt!r} not supported; use one of {', '.join(TABLE_FORMATS)}")


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Write the figure; the format comes from the file's suffix (.png or .svg)."""
    path = Path(path)
    path.write_bytes(figure_bytes(fig, path.suffix.lstrip(".").lower()))
    return path


def save_table(table: pd.DataFrame, path: str | Path) -> Path:
    """Write the table; the format comes from the file's suffix (.csv or .xlsx)."""
    path = Path(path)
    path.write_bytes(table_bytes(table, path.suffix.lstrip(".").lower()))
    return path
