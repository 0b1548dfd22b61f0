"""Tables written for people to open in a spreadsheet: CSV or Excel, formula cells defused.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a
formula by Excel, LibreOffice and Google Sheets (``=HYPERLINK(...)``, ``+cmd|...``, ``@SUM``): a
customer's name or a rejected value could do that to whoever opens the file. Following the OWASP
rule on CSV injection, such text cells get a leading ``'`` so they are shown as text; text that is
just a number (``-12.5``, ``+4915112345678``) and numeric columns stay as they are. Every CSV or
Excel file wamkt_nb writes goes through ``table_bytes`` (and ``save_table`` writes it owner-only).
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd

from .private_files import write_private_bytes

TABLE_FORMATS = ("csv", "xlsx")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?")


def defuse_formula(value: object) -> object:
    """``value`` with a leading ``'`` when it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def spreadsheet_safe(table: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``table`` whose text cells and column names cannot run as formulas."""
    out = table.copy()
    for column in out.columns:
        if isinstance(out[column].dtype, pd.CategoricalDtype):  # its categories are text cells too
            out[column] = out[column].astype(object).map(defuse_formula, na_action="ignore")
        elif out[column].dtype == object or isinstance(out[column].dtype, pd.StringDtype):
            out[column] = out[column].map(defuse_formula, na_action="ignore").astype(out[column].dtype)
    out.columns = [defuse_formula(str(c)) if isinstance(c, str) else c for c in out.columns]
    return out


def table_bytes(table: pd.DataFrame, fmt: str = "csv") -> bytes:
    """The table as CSV (UTF-8, CRLF) or an Excel workbook, formula cells defused."""
    safe = spreadsheet_safe(table)
    if fmt == "csv":
        # CRLF line ends (RFC 4180) make the writer quote a value holding a lone CR, which a
        # spreadsheet would otherwise read as the start of a new row
        return safe.to_csv(index=False, lineterminator="\r\n").encode("utf-8", "replace")
    if fmt == "xlsx":
        buf = io.BytesIO()
        _excel_ready(safe).to_excel(buf, index=False, engine="openpyxl")
        return buf.getvalue()
    raise ValueError(f"table format {fmt!r} not supported; use one of {', '.join(TABLE_FORMATS)}")


def save_table(table: pd.DataFrame, path: str | Path) -> Path:
    """Write the table owner-only; the format comes from the file's suffix (.csv or .xlsx)."""
    path = Path(path)
    return write_private_bytes(path, table_bytes(table, path.suffix.lstrip(".").lower()))


def _excel_ready(table: pd.DataFrame) -> pd.DataFrame:
    """Excel cannot store time zones: write UTC wall time instead."""
    out = table.copy()
    for col in out.columns:
        if isinstance(out[col].dtype, pd.DatetimeTZDtype):
            out[col] = out[col].dt.tz_convert("UTC").dt.tz_localize(None)
    return out
