"""Files to raw tables: CSV (any delimiter and encoding), Excel, Parquet, JSON and NDJSON.

A reader returns every data record as a row of the raw table (``row`` numbers start at 1 with
the first data record) plus the records it could not read at all (a CSV line with too many
fields, an NDJSON line that is not JSON), so the loader can account for every record.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

DELIMITERS = (",", ";", "\t", "|")
RECORD_KEYS = ("data", "results", "customers", "records", "items", "orders", "interactions", "rows")
REJECT_COLUMNS = ("row", "column", "value", "reason")


class LoadError(ValueError):
    """A source that cannot be loaded at all (empty, unreadable, no usable columns)."""


@dataclass
class RawTable:
    """Source records as text/objects, before mapping and validation."""

    frame: pd.DataFrame  # index: row number (1-based); columns as in the source
    source: str
    rejects: list[dict] = field(default_factory=list)  # records that could not be read
    notes: list[str] = field(default_factory=list)  # e.g. the detected encoding and delimiter

    @property
    def rows_in(self) -> int:
        return len(self.frame) + len({r["row"] for r in self.rejects})


def read_source(source: str | Path | bytes, name: str | None = None, sheet: str | int = 0) -> RawTable:
    """Read a file path (or its bytes, with ``name`` giving the file type) into a RawTable."""
    if isinstance(source, (bytes, bytearray)):
        data, label = bytes(source), name or "upload"
    else:
        path = Path(source).expanduser()
        if not path.is_file():
            raise LoadError(f"{path}: no such file")
        data, label = path.read_bytes(), name or path.name
    suffix = Path(label).suffix.lower()
    if not data.strip():
        raise LoadError(f"{label} is empty")
    if suffix in (".xlsx", ".xlsm", ".xls"):
        return _read_excel(data, label, sheet)
    if suffix == ".parquet":
        return _read_parquet(data, label)
    if suffix in (".ndjson", ".jsonl"):
        return _read_ndjson(decode_text(data, label)[0], label)
    if suffix == ".json":
        return read_json_text(decode_text(data, label)[0], label)
    return read_csv_bytes(data, label)


def decode_text(data: bytes, label: str) -> tuple[str, list[str]]:
    """Bytes to text: UTF-8 (with or without BOM), else cp1252/Latin-1, line by line if mixed."""
    notes: list[str] = []
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
        notes.append("encoding UTF-8 with BOM")
    try:
        text = data.decode("utf-8")
        if not notes:
            notes.append("encoding UTF-8")
        return text, notes
    except UnicodeDecodeError:
        pass
    lines = data.splitlines(keepends=True)
    utf8_lines, legacy_lines, out = [], [], []
    for number, line in enumerate(lines, start=1):
        try:
            out.append(line.decode("utf-8"))
            if not line.isascii():
                utf8_lines.append(number)
        except UnicodeDecodeError:
            out.append(_decode_legacy(line))
            legacy_lines.append(number)
    if utf8_lines:
        notes.append(
            f"mixed encodings in {label}: lines {_line_list(legacy_lines)} are Latin-1/cp1252, "
            f"lines {_line_list(utf8_lines)} UTF-8; each line was decoded on its own"
        )
    else:
        notes.append("encoding Latin-1/cp1252")
    return "".join(out), notes


def read_csv_bytes(data: bytes, label: str = "upload.csv") -> RawTable:
    text, notes = decode_text(data, label)
    return read_csv_text(text, label, notes)


def read_csv_text(text: str, label: str, notes: list[str] | None = None) -> RawTable:
    """Parse CSV text with a sniffed delimiter; lines with too many fields become rejects."""
    notes = list(notes or [])
    delimiter = sniff_delimiter(text)
    notes.append(f"delimiter {'tab' if delimiter == chr(9) else repr(delimiter)}")
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header: list[str] | None = None
    records, rows, rejects = [], [], []
    number = 0
    for fields in reader:
        if not fields or (header is None and not any(f.strip() for f in fields)):
            continue  # blank lines are not records
        if header is None:
            header = _unique_headers(fields)
            continue
        number += 1
        if not any(f.strip() for f in fields):
            rejects.append({"row": number, "column": "", "value": delimiter.join(fields),
                            "reason": f"empty row (line {reader.line_num})"})
            continue
        if len(fields) > len(header) and not any(f.strip() for f in fields[len(header):]):
            fields = fields[: len(header)]  # trailing delimiters
        if len(fields) > len(header):
            rejects.append({
                "row": number, "column": "", "value": delimiter.join(fields)[:80],
                "reason": f"{len(fields)} fields but the header has {len(header)} "
                          f"(line {reader.line_num}; unquoted {delimiter!r} inside a value?)",
            })
            continue
        records.append(fields + [""] * (len(header) - len(fields)))
        rows.append(number)
    if header is None:
        raise LoadError(f"{label} is empty")
    if not records and not rejects:
        raise LoadError(f"{label} has a header ({', '.join(header[:8])}) but no data rows")
    frame = pd.DataFrame(records, columns=header, index=pd.Index(rows, name="row"), dtype=object)
    return RawTable(frame, label, rejects, notes)


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first lines into the same number (>1) of fields."""
    sample = [line for line in text.splitlines()[:50] if line.strip()]
    best, best_score = ",", (0.0, 0)
    for delimiter in DELIMITERS:
        counts = [len(r) for r in csv.reader(io.StringIO("\n".join(sample)), delimiter=delimiter)]
        if not counts:
            continue
        header_fields = counts[0]
        if header_fields < 2:
            continue
        agreeing = sum(1 for c in counts if c == header_fields) / len(counts)
        score = (agreeing, header_fields)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def read_json_text(text: str, label: str, records_path: str | None = None) -> RawTable:
    """A JSON array of objects, or an object holding one (under ``records_path`` or a usual key)."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LoadError(f"{label} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    records = extract_records(doc, label, records_path)
    if not records:
        raise LoadError(f"{label} has no records")
    return records_to_table(records, label)


def extract_records(doc: object, label: str, records_path: str | None = None) -> list:
    """The list of records inside a JSON document (``records_path`` like 'data' or 'result.items')."""
    if records_path:
        node = doc
        for part in records_path.split("."):
            if not isinstance(node, dict) or part not in node:
                raise LoadError(f"{label}: no {records_path!r} in the response (keys: {_keys(doc)})")
            node = node[part]
        doc = node
    elif isinstance(doc, dict):
        key = next((k for k in RECORD_KEYS if isinstance(doc.get(k), list)), None)
        if key is None:
            raise LoadError(f"{label}: expected a list of records or an object with one of "
                            f"{', '.join(RECORD_KEYS)} (keys: {_keys(doc)})")
        doc = doc[key]
    if not isinstance(doc, list):
        raise LoadError(f"{label}: expected a list of records, got {type(doc).__name__}")
    return doc


def records_to_table(records: list, label: str, numbers: list[int] | None = None) -> RawTable:
    """JSON records (nested objects flattened to 'a.b' columns) as a RawTable; non-objects rejected."""
    numbers = numbers if numbers is not None else list(range(1, len(records) + 1))
    good, rows, rejects = [], [], []
    for number, record in zip(numbers, records):
        if isinstance(record, dict):
            good.append(record)
            rows.append(number)
        else:
            rejects.append({"row": number, "column": "", "value": str(record)[:80],
                            "reason": f"record is a {type(record).__name__}, not an object"})
    frame = pd.json_normalize(good).astype(object) if good else pd.DataFrame()
    frame.index = pd.Index(rows, name="row")
    return RawTable(frame, label, rejects, [])


def _read_ndjson(text: str, label: str) -> RawTable:
    records, numbers, rejects = [], [], []
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        number = len(records) + len(rejects) + 1
        try:
            records.append(json.loads(line))
            numbers.append(number)
        except json.JSONDecodeError as exc:
            rejects.append({"row": number, "column": "", "value": line[:80],
                            "reason": f"line {line_no} is not valid JSON: {exc.msg}"})
    table = records_to_table(records, label, numbers)
    table.rejects.extend(rejects)
    table.notes.append("NDJSON")
    return table


def _read_excel(data: bytes, label: str, sheet: str | int) -> RawTable:
    try:
        frame = pd.read_excel(io.BytesIO(data), sheet_name=sheet, dtype=object, engine="openpyxl")
    except Exception as exc:  # openpyxl raises many types for broken files
        raise LoadError(f"{label} is not a readable Excel workbook: {exc}") from None
    frame = frame.dropna(how="all")
    if frame.empty:
        raise LoadError(f"{label} has no data rows in sheet {sheet!r}")
    frame.columns = _unique_headers([str(c) for c in frame.columns])
    frame.index = pd.Index(range(1, len(frame) + 1), name="row")
    return RawTable(frame, label, [], [f"Excel sheet {sheet!r}"])


def _read_parquet(data: bytes, label: str) -> RawTable:
    try:
        frame = pd.read_parquet(io.BytesIO(data))
    except Exception as exc:  # pyarrow's errors vary with the damage
        raise LoadError(f"{label} is not a readable Parquet file: {exc}") from None
    if frame.empty:
        raise LoadError(f"{label} has no rows")
    frame = frame.reset_index(drop=True).astype(object)
    frame.index = pd.Index(range(1, len(frame) + 1), name="row")
    return RawTable(frame, label, [], ["Parquet"])


def _unique_headers(fields: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for i, f in enumerate(fields):
        name = f.strip() or f"column_{i + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name}_{seen[name]}"
        else:
            seen[name] = 1
        out.append(name)
    return out


def _decode_legacy(line: bytes) -> str:
    try:
        return line.decode("cp1252")
    except UnicodeDecodeError:
        return line.decode("latin-1")


def _line_list(numbers: list[int], limit: int = 8) -> str:
    shown = ", ".join(map(str, numbers[:limit]))
    return shown + (f" and {len(numbers) - limit} more" if len(numbers) > limit else "")


def _keys(doc: object) -> str:
    return ", ".join(list(doc)[:10]) if isinstance(doc, dict) else type(doc).__name__
