"""Customers from a SQL database: a query's result goes through the same validation as a file.

URLs (SQLAlchemy's spelling for the file databases)::

    sqlite:///relative/path.db     sqlite:////absolute/path.db
    duckdb:///path.duckdb          duckdb://   (in memory: query Parquet/CSV files directly,
                                                e.g. SELECT * FROM 'customers.parquet')
    postgresql://user:password@host:5432/database   (also postgres://; psycopg 3)

The database is opened read-only (SQLite ``mode=ro``, DuckDB ``read_only``, a PostgreSQL
read-only transaction), so a query cannot change it. Any failure (bad URL, missing file,
unreachable server, SQL error, no rows) is a ``LoadError`` whose message shows the URL with its
password masked (``redact_url``). The whole result is fetched into memory, like a file load.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import pandas as pd

from ..redact import MASK, redact_url
from .loaders import LoadResult, load_customers
from .phones import DEFAULT_REGION
from .readers import LoadError, RawTable

SCHEMES = ("sqlite", "duckdb", "postgresql", "postgres")
CONNECT_TIMEOUT_S = 10


def read_sql_table(url: str, query: str) -> RawTable:
    """The query's rows as a RawTable (1-based row numbers, values as the driver returns them)."""
    shown = redact_url(url)
    if not isinstance(query, str) or not query.strip():
        raise LoadError("a SQL source needs a query, e.g. SELECT * FROM customers")
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in SCHEMES:
        raise LoadError(
            f"{shown} is not a supported database URL: use sqlite:///file.db, "
            "duckdb:///file.duckdb (or duckdb:// for files queried directly) or postgresql://..."
        )
    try:
        columns, rows = _FETCH[scheme](url, query)
    except LoadError:
        raise
    except Exception as exc:  # each driver raises its own error classes
        raise LoadError(f"{shown}: {_one_line(exc, url)}") from None
    if not rows:
        raise LoadError(f"{shown}: the query returned no rows")
    frame = pd.DataFrame.from_records(rows, columns=columns).astype(object)
    frame.index = pd.Index(range(1, len(frame) + 1), name="row")
    return RawTable(frame, f"{shown} (SQL query)", [], [f"SQL query on {scheme}"])


def split_password(url: str) -> tuple[str, str | None]:
    """The URL without the password in its userinfo (the user kept), and that password (decoded)."""
    scheme, rest, at = _userinfo_end(url)
    user, colon, password = rest[:at].partition(":") if at >= 0 else ("", "", "")
    if not colon:
        return url, None
    return f"{scheme}://{user}{rest[at:]}", unquote(password)


def with_password(url: str, password: str) -> str:
    """The URL with ``password`` (percent-encoded) in its userinfo; unchanged without a user part."""
    scheme, rest, at = _userinfo_end(url)
    if not password or at < 0:
        return url
    return f"{scheme}://{rest[:at].partition(':')[0]}:{quote(password, safe='')}{rest[at:]}"


def _userinfo_end(url: str) -> tuple[str, str, int]:
    """(scheme, the rest after ``://``, index of the ``@`` ending its userinfo or -1)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url, "", -1
    authority_end = min([i for i in (rest.find(c) for c in "/?#") if i >= 0] + [len(rest)])
    return scheme, rest, rest.rfind("@", 0, authority_end)


def load_customers_sql(
    url: str,
    query: str,
    mapping: Mapping[str, str | None] | None = None,
    default_region: str = DEFAULT_REGION,
    id_key: bytes | None = None,
) -> LoadResult:
    """``load_customers`` over a query's result: good rows plus rejected rows with reasons."""
    return load_customers(read_sql_table(url, query), mapping, default_region, id_key=id_key)


def _file_path(url: str, scheme: str) -> str:
    """The path after ``scheme:///`` (relative) or ``scheme:////`` (absolute); must exist."""
    path = url.split("://", 1)[1]
    if not path.startswith("/") or path == "/":
        raise LoadError(f"{redact_url(url)}: name the file as {scheme}:///relative.db or {scheme}:////absolute.db")
    path = path[1:]
    if not Path(path).is_file():
        raise LoadError(f"{redact_url(url)}: no database file at {path}")
    return path


def _sqlite(url: str, query: str) -> tuple[list[str], list[tuple]]:
    path = _file_path(url, "sqlite")
    return _fetch_and_close(sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True), query)


def _duckdb(url: str, query: str) -> tuple[list[str], list[tuple]]:
    import duckdb  # noqa: PLC0415 (heavy, ~0.6 s to import: only for duckdb:// sources)

    in_memory = url.split("://", 1)[1] in ("", "/", "/:memory:")
    con = duckdb.connect() if in_memory else duckdb.connect(_file_path(url, "duckdb"), read_only=True)
    return _fetch_and_close(con, query)


def _fetch_and_close(con, query: str) -> tuple[list[str], list[tuple]]:
    """Column names and rows of ``query`` on a DB-API connection, which is closed afterwards."""
    try:
        cur = con.execute(query)
        return [d[0] for d in cur.description or ()], cur.fetchall()
    finally:
        con.close()


def _postgres(url: str, query: str) -> tuple[list[str], list[tuple]]:
    import psycopg  # noqa: PLC0415 (loads libpq: only for postgresql:// sources)

    if not urlsplit(url).hostname:
        raise LoadError(f"{redact_url(url)}: name the server, e.g. postgresql://user@host:5432/database")
    with psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_S) as con:
        con.read_only = True
        cur = con.execute(query)
        return [d.name for d in cur.description or ()], cur.fetchall()


_FETCH = {"sqlite": _sqlite, "duckdb": _duckdb, "postgresql": _postgres, "postgres": _postgres}


def _one_line(exc: Exception, url: str) -> str:
    """The driver's message on one line, without the URL's password should a driver echo it."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    try:
        password = urlsplit(url).password
    except ValueError:  # a malformed URL (e.g. a bad port): nothing reliable to mask beyond redact_url
        password = None
    return text.replace(password, MASK) if password else text
