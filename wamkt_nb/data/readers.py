"""Files to raw tables: CSV (any delimiter and encoding), Excel, Parquet, JSON and NDJSON.

A reader returns every data record as a row of the raw table (``row`` numbers start at 1 with
the first data record) plus the records it could not read at all (a CSV line with too many
fields or an unclosed quote, an NDJSON line that is not JSON), so the loader can account for
every record. A file that is not a table at all (binary data, an old .xls, JSON nested beyond
reason) is a ``LoadError`` with a one-line message, never a traceback.

CSV is read as a stream of lines, decoded line by line and collected in chunks of
``CHUNK_ROWS`` records, so a million-row file never exists as one list of Python lists. The
file's type comes from its content where the name lies (an Excel workbook renamed .csv is read
as Excel); UTF-16 text (Excel's "Unicode text") is recognised by its byte-order mark.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import BinaryIO

import pandas as pd

from ..errors import WamktError

DELIMITERS = (",", ";", "\t", "|")
RECORD_KEYS = ("data", "results", "customers", "records", "items", "orders", "interactions", "rows")
REJECT_COLUMNS = ("row", "column", "value", "reason")
CHUNK_ROWS = 20_000
MAX_COLUMNS = 10_000  # more is not a customer table (a wrong delimiter, or not a table at all)
_FIELD_LIMIT = csv.field_size_limit()
_SNIFF_LINES = 50
_SNIFF_BYTES = 1 << 20
_LONE_CR = re.compile(r"\r(?!\n)")
_ZIP, _PARQUET, _OLE2 = b"PK\x03\x04", b"PAR1", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_GZIP = b"\x1f\x8b"
_EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")
_TEXT_CONTROLS = frozenset(range(32)) - {9, 10, 12, 13}


class LoadError(WamktError, ValueError):
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
        label = name or "upload"
        return _read_stream(io.BytesIO(bytes(source)), label, sheet)
    path = Path(source).expanduser()
    label = name or path.name
    if path.is_dir():
        raise LoadError(f"{path} is a folder, not a file")
    if not path.exists():
        raise LoadError(f"{path}: no such file")
    if not path.is_file():  # opening a pipe nobody writes to would wait forever
        raise LoadError(f"{path} is not a regular file (a pipe, socket or device): save it as a file first")
    try:
        with path.open("rb") as stream:
            return _read_stream(stream, label, sheet)
    except OSError as exc:
        raise LoadError(f"{path}: cannot be read ({exc.strerror or exc})") from None


def _read_stream(stream: BinaryIO, label: str, sheet: str | int) -> RawTable:
    """Dispatch on the content's signature first, the name's suffix second."""
    head = stream.read(_SNIFF_BYTES)
    suffix = Path(label).suffix.lower()
    if not head.strip():
        raise LoadError(f"{label} is empty")
    if head.startswith(_GZIP):
        raise LoadError(f"{label} is gzip-compressed: decompress it (gunzip) and load the file inside")
    if head.startswith(_OLE2):
        raise LoadError(f"{label} is an old Excel 97-2003 workbook (.xls): save it as .xlsx or CSV and load that")
    if head.startswith(_ZIP) or suffix in _EXCEL_SUFFIXES:
        table = _read_excel(head + stream.read(), label, sheet)
        if suffix not in _EXCEL_SUFFIXES:
            table.notes.append(f"{label} is an Excel workbook although named {suffix or 'without a suffix'}")
        return table
    if head.startswith(_PARQUET) or suffix == ".parquet":
        return _read_parquet(head + stream.read(), label)
    if suffix in (".ndjson", ".jsonl", ".json"):
        text = decode_text(head + stream.read(), label)[0]
        return _read_ndjson(text, label) if suffix != ".json" else read_json_text(text, label)
    encoding, bom = _text_encoding(head, label)
    if encoding is not None:  # UTF-16/32: decoded whole (such files come from Excel, not from a bulk export)
        data = head[len(bom) :] + stream.read()
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as exc:
            raise LoadError(
                f"{label} starts like {encoding.upper()} text but is not: {exc.reason} at byte {exc.start}"
            ) from None
        return read_csv_lines(io.StringIO(text, newline=""), label, [f"encoding {encoding.upper()}"])
    lines = _LineDecoder(chain([head], iter(lambda: stream.read(_SNIFF_BYTES), b"")), label)
    return read_csv_lines(lines, label, lines.notes)


def _text_encoding(head: bytes, label: str) -> tuple[str | None, bytes]:
    """(``utf-16``/``utf-32``, its BOM) for Unicode text with a byte-order mark, (None, b"") for
    byte text (UTF-8 or a legacy code page); binary data is a LoadError."""
    for bom, encoding in (
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if head.startswith(bom):
            return encoding, bom
    sample = head[:65536]
    zeros = sample.count(0)
    if zeros and zeros >= len(sample) // 3:
        even_zeros = sample[0::2].count(0)
        encoding = "utf-16-be" if even_zeros > zeros // 2 else "utf-16-le"
        return encoding, b""
    controls = sum(1 for byte in sample if byte in _TEXT_CONTROLS)  # NUL included
    if controls > len(sample) // 100:  # a stray control byte in a text file is a value's problem, not the file's
        raise LoadError(
            f"{label} is not a text table (binary data: {controls:,} control bytes in its first "
            f"{len(sample):,}): is it the right file? CSV, Excel, Parquet, JSON and NDJSON can be loaded"
        )
    return None, b""


class _LineDecoder:
    """Text lines from byte blocks: UTF-8 (BOM dropped), else cp1252/Latin-1, decided per line.

    ``notes`` says which encoding was seen, once the lines have been read. Line ends are
    normalised for the CSV reader: classic Mac files (CR only) are split at CR, and a stray CR
    inside a line of a file with LF line ends is read as a space.
    """

    def __init__(self, blocks: Iterable[bytes], label: str) -> None:
        self.blocks = iter(blocks)
        self.label = label
        self.notes: list[str] = []
        self.utf8_lines: list[int] = []
        self.legacy_lines: list[int] = []
        self.stray_cr = 0
        self.number = 0
        self._lines = self._decoded()

    def __iter__(self) -> Iterator[str]:
        return self._lines

    def _raw_lines(self) -> Iterator[bytes]:
        first = next(self.blocks, b"")
        if first.startswith(codecs.BOM_UTF8):
            first = first[3:]
            self.notes.append("encoding UTF-8 with BOM")
        mac = b"\n" not in first and b"\r" in first
        if mac:
            self.notes.append("classic Mac line ends (CR)")
        pending: list[bytes] = []  # the start of a line that continues in the next block
        for block in chain([first], self.blocks):
            if mac:
                block = block.replace(b"\r", b"\n")
            lines = block.split(b"\n")
            if len(lines) == 1:
                pending.append(block)
                continue
            if pending:
                lines[0] = b"".join(pending) + lines[0]
            pending = [lines.pop()]
            for line in lines:
                yield line + b"\n"
        if pending and any(pending):
            yield b"".join(pending)

    def _decoded(self) -> Iterator[str]:
        for line in self._raw_lines():
            self.number += 1
            if line.isascii():
                text = line.decode("ascii")
            else:
                try:
                    text = line.decode("utf-8")
                    self.utf8_lines.append(self.number)
                except UnicodeDecodeError:
                    text = _decode_legacy(line)
                    self.legacy_lines.append(self.number)
            if "\r" in text and _LONE_CR.search(text):
                self.stray_cr += len(_LONE_CR.findall(text))
                text = _LONE_CR.sub(" ", text)
            yield text
        self._finish_notes()

    def _finish_notes(self) -> None:
        if self.legacy_lines and self.utf8_lines:
            self.notes.append(
                f"mixed encodings in {self.label}: lines {_line_list(self.legacy_lines)} are Latin-1/cp1252, "
                f"lines {_line_list(self.utf8_lines)} UTF-8; each line was decoded on its own"
            )
        elif self.legacy_lines:
            self.notes.append("encoding Latin-1/cp1252")
        elif not any(n.startswith("encoding") for n in self.notes):
            self.notes.append("encoding UTF-8")
        if self.stray_cr:
            self.notes.append(f"{self.stray_cr:,} stray carriage return(s) (CR) inside values read as spaces")


def decode_text(data: bytes, label: str) -> tuple[str, list[str]]:
    """Bytes to text: UTF-16/32 by their BOM, UTF-8 (with or without BOM), else cp1252/Latin-1
    line by line."""
    encoding, bom = _text_encoding(data[:_SNIFF_BYTES], label)
    if encoding is not None:
        try:
            return data[len(bom) :].decode(encoding), [f"encoding {encoding.upper()}"]
        except UnicodeDecodeError as exc:
            raise LoadError(f"{label} is not valid {encoding.upper()} text: {exc.reason} at byte {exc.start}") from None
    lines = _LineDecoder([data], label)
    text = "".join(lines)
    return text, lines.notes


def read_csv_bytes(data: bytes, label: str = "upload.csv") -> RawTable:
    return _read_stream(io.BytesIO(data), label, 0)


def read_csv_lines(lines: Iterable[str], label: str, notes: list[str] | None = None) -> RawTable:
    """Parse CSV lines with a sniffed delimiter, in chunks of ``CHUNK_ROWS`` records.

    A record with too many fields, an unclosed quote or a value over the CSV field limit becomes
    a reject naming its lines; the rest of the file is read on.
    """
    lines = iter(lines)
    sample: list[str] = []
    size = 0
    for line in lines:
        sample.append(line)
        size += len(line)
        if len(sample) >= _SNIFF_LINES or size >= _SNIFF_BYTES:
            break
    delimiter = sniff_delimiter("".join(sample))
    tracked = _TrackedLines(chain(sample, lines))
    reader = csv.reader(tracked, delimiter=delimiter, strict=True)
    header: list[str] | None = None
    chunks: list[pd.DataFrame] = []
    records: list[list[str]] = []
    rows: list[int] = []
    rejects: list[dict] = []
    number = 0
    while True:
        first_line = reader.line_num + 1
        tracked.taken.clear()
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            fields = _after_csv_error(exc, tracked.taken, delimiter)
            if fields is None:
                if header is None:
                    raise LoadError(f"{label}: the header line cannot be read ({exc})") from None
                number += 1
                rejects.append(
                    {
                        "row": number,
                        "column": "",
                        "value": "".join(tracked.taken)[:80],
                        "reason": _csv_error_reason(exc, first_line, reader.line_num),
                    }
                )
                continue
        if not fields or (header is None and not "".join(fields).strip()):
            continue  # blank lines are not records
        if header is None:
            if len(fields) > MAX_COLUMNS:
                raise LoadError(
                    f"{label}: the header has {len(fields):,} columns (at most {MAX_COLUMNS:,} are read): "
                    "is it a table, and is the delimiter right?"
                )
            header = _unique_headers(fields)
            continue
        number += 1
        if not "".join(fields).strip():
            rejects.append(
                {
                    "row": number,
                    "column": "",
                    "value": delimiter.join(fields)[:80],
                    "reason": f"empty row (line {reader.line_num})",
                }
            )
            continue
        if len(fields) > len(header) and not "".join(fields[len(header) :]).strip():
            fields = fields[: len(header)]  # trailing delimiters
        if len(fields) > len(header):
            rejects.append(
                {
                    "row": number,
                    "column": "",
                    "value": delimiter.join(fields[:40])[:80],
                    "reason": f"{len(fields):,} fields but the header has {len(header):,} "
                    f"(line {reader.line_num}; unquoted {delimiter!r} inside a value?)",
                }
            )
            continue
        records.append(fields + [""] * (len(header) - len(fields)))
        rows.append(number)
        if len(records) >= CHUNK_ROWS:
            chunks.append(_chunk(records, header, rows))
            records, rows = [], []
    if header is None:
        raise LoadError(f"{label} is empty")
    if records or not chunks:
        chunks.append(_chunk(records, header, rows))
    frame = chunks[0] if len(chunks) == 1 else pd.concat(chunks)
    if frame.empty and not rejects:
        shown = ", ".join(_short(h) for h in header[:8])
        raise LoadError(f"{label} has a header ({shown}) but no data rows")
    notes = [] if notes is None else notes  # the decoder's list: it adds the encoding once all is read
    notes.append(f"delimiter {'tab' if delimiter == chr(9) else repr(delimiter)}")
    return RawTable(frame, label, rejects, notes)


class _TrackedLines:
    """The lines the CSV reader took for the record in progress (to re-read or show a bad one)."""

    def __init__(self, lines: Iterator[str]) -> None:
        self.lines = lines
        self.taken: list[str] = []

    def __iter__(self) -> _TrackedLines:
        return self

    def __next__(self) -> str:
        line = next(self.lines)
        self.taken.append(line)
        return line


def _after_csv_error(exc: csv.Error, taken: list[str], delimiter: str) -> list[str] | None:
    """A record the strict reader refused but a lenient one reads as the spreadsheet would
    (``"a"b`` is the value ``ab``); None when the record cannot be read."""
    if "expected after" not in str(exc):
        return None
    try:
        records = list(csv.reader(taken, delimiter=delimiter, strict=False))
    except csv.Error:
        return None
    return records[0] if len(records) == 1 else None


def _csv_error_reason(exc: csv.Error, first: int, last: int) -> str:
    where = f"line {first}" if last <= first else f"lines {first}-{last}"
    message = str(exc)
    if "unexpected end of data" in message:
        return f"{where}: a quote opened here is never closed (the rest of the file is inside it)"
    if "field larger than field limit" in message:
        return f"{where}: a value longer than {_FIELD_LIMIT:,} characters (an unclosed quote?)"
    return f"{where}: not readable as CSV ({message})"


def _chunk(records: list[list[str]], header: list[str], rows: list[int]) -> pd.DataFrame:
    return pd.DataFrame(records, columns=header, index=pd.Index(rows, name="row", dtype="int64"), dtype="str")


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first lines into the same number (>1) of fields."""
    sample = [line for line in text.splitlines()[:_SNIFF_LINES] if line.strip()]
    best, best_score = ",", (0.0, 0)
    for delimiter in DELIMITERS:
        try:
            counts = [len(r) for r in csv.reader(io.StringIO("\n".join(sample)), delimiter=delimiter)]
        except csv.Error:  # e.g. a line longer than the field limit without this delimiter
            continue
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
    doc = parse_json(text, label)
    records = extract_records(doc, label, records_path)
    if not records:
        raise LoadError(f"{label} has no records")
    return records_to_table(records, label)


def parse_json(text: str, label: str) -> object:
    """JSON as Python objects; integers too long for a number stay text (a phone column's digits
    are kept, never refused by Python's 4,300-digit limit); nesting too deep is a LoadError."""
    try:
        return json.loads(text, parse_int=_json_int)
    except json.JSONDecodeError as exc:
        raise LoadError(f"{label} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise LoadError(f"{label} is nested too deeply to be a table of records") from None


def _json_int(digits: str) -> int | str:
    return int(digits) if len(digits) <= 40 else digits


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
            raise LoadError(
                f"{label}: expected a list of records or an object with one of "
                f"{', '.join(RECORD_KEYS)} (keys: {_keys(doc)})"
            )
        doc = doc[key]
    if not isinstance(doc, list):
        raise LoadError(f"{label}: expected a list of records, got {type(doc).__name__}")
    return doc


def records_to_table(records: list, label: str, numbers: list[int] | None = None) -> RawTable:
    """JSON records (nested objects flattened to 'a.b' columns) as a RawTable; non-objects rejected."""
    numbers = numbers if numbers is not None else list(range(1, len(records) + 1))
    good, rows, rejects = [], [], []
    for number, record in zip(numbers, records, strict=True):
        if isinstance(record, dict):
            good.append(record)
            rows.append(number)
        else:
            rejects.append(
                {
                    "row": number,
                    "column": "",
                    "value": str(record)[:80],
                    "reason": f"record is a {type(record).__name__}, not an object",
                }
            )
    frame, failed = _flatten(good)
    if failed:
        kept = [n for i, n in enumerate(rows) if i not in failed]
        rejects.extend({"row": rows[i], "column": "", "value": "", "reason": reason} for i, reason in failed.items())
        rows = kept
    frame.index = pd.Index(rows, name="row", dtype="int64")
    return RawTable(frame, label, rejects, [])


def _flatten(records: list[dict]) -> tuple[pd.DataFrame, dict[int, str]]:
    """Records with nested objects as 'a.b' columns; a record that cannot be flattened (nested
    beyond Python's recursion limit) is left out with a reason, keyed by its position."""
    if not records:
        return pd.DataFrame(), {}
    try:
        return pd.json_normalize(records).astype(object), {}
    except (RecursionError, ValueError, TypeError):
        pass
    frames, failed = [], {}
    for position, record in enumerate(records):
        try:
            frames.append(pd.json_normalize(record))
        except UnicodeError:
            failed[position] = "record holds text that is not valid Unicode (a lone surrogate escape)"
        except (RecursionError, ValueError, TypeError) as exc:
            failed[position] = f"record cannot be read as a table row ({type(exc).__name__})"
    frame = pd.concat(frames, ignore_index=True).astype(object) if frames else pd.DataFrame()
    return frame, failed


def _read_ndjson(text: str, label: str) -> RawTable:
    records, numbers, rejects = [], [], []
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        number = len(records) + len(rejects) + 1
        try:
            records.append(parse_json(line, f"line {line_no}"))
            numbers.append(number)
        except LoadError as exc:
            rejects.append({"row": number, "column": "", "value": line[:80], "reason": str(exc)})
    table = records_to_table(records, label, numbers)
    table.rejects.extend(rejects)
    table.notes.append("NDJSON")
    return table


def _read_excel(data: bytes, label: str, sheet: str | int) -> RawTable:
    try:
        frame = pd.read_excel(io.BytesIO(data), sheet_name=sheet, dtype=object, engine="openpyxl")
    except Exception as exc:  # openpyxl raises many types for broken files
        raise LoadError(f"{label} is not a readable Excel workbook: {_one_line(exc)}") from None
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
        raise LoadError(f"{label} is not a readable Parquet file: {_one_line(exc)}") from None
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


def _short(text: str, limit: int = 40) -> str:
    flat = " ".join(str(text).split())
    return flat[:limit] + ("..." if len(flat) > limit else "")


def _one_line(exc: Exception, limit: int = 160) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:limit] + ("..." if len(text) > limit else "")


def _keys(doc: object) -> str:
    return ", ".join(list(doc)[:10]) if isinstance(doc, dict) else type(doc).__name__
