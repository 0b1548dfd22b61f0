"""Opening the database (a SQLite file or a PostgreSQL server): a lock for cross-thread use, and
migrations on open. Both answer through the same ``Store``, so every caller has one code path."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg

from ..errors import WamktError
from ..private_files import private_file
from ..redact import redact_url, redact_urls
from .dialect import POSTGRES, SQLITE, Dialect
from .migrations import apply_migrations
from .postgres import connect

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def _driver_errors(name: str) -> tuple[type[Exception], ...]:
    return (getattr(sqlite3, name), getattr(psycopg, name))


INTEGRITY_ERRORS = _driver_errors("IntegrityError")
"""A constraint refused the write (unique, check, foreign key), on either database."""
DATABASE_ERRORS = _driver_errors("Error")
"""Any error the database driver raised, on either database."""
VALUE_ERRORS: tuple[type[Exception], ...] = (
    *INTEGRITY_ERRORS,
    *_driver_errors("DataError"),
    *_driver_errors("InterfaceError"),
    *_driver_errors("ProgrammingError"),
)
"""The database refused the values of one write (a constraint, a NUL character PostgreSQL text
cannot hold, a number beyond 64 bits, a value the driver cannot bind), not the database itself
(locked, disk full, connection lost)."""


class StoreError(WamktError, RuntimeError):
    """The database cannot be opened or is of a version this code does not know."""


class Store:
    """A database connection shared by the threads of one process, serialised by a lock.

    On SQLite other processes may open the same file; WAL plus a busy timeout let them write in
    turn. On PostgreSQL (``url`` set, ``path`` None) the server does that, and a writing
    transaction holds an advisory lock that keeps writers one at a time, as on SQLite.
    """

    def __init__(self, conn: Any, path: Path | None, url: str | None = None) -> None:
        self.conn = conn
        self.path = path
        self.url = url
        self.dialect: Dialect = POSTGRES if url else SQLITE
        self.lock = threading.RLock()

    @property
    def target(self) -> str:
        """What ``open_store`` takes to open this database again (another process, another
        connection): the URL (with its password; never print it, see ``where``) or the path."""
        return self.url or str(self.path)

    @property
    def where(self) -> str:
        """The database for messages: the file, or the server URL with its password masked."""
        return redact_url(self.url) if self.url else str(self.path)

    @contextmanager
    def transaction(self, immediate: bool = True) -> Iterator[Any]:
        """Run a block in one transaction and yield the connection to run it on.

        ``immediate`` (the default) is a writing transaction: writers run one at a time, so a
        block that reads and then writes never races another (SQLite's BEGIN IMMEDIATE). With
        ``immediate=False`` concurrent transactions proceed side by side, which on PostgreSQL is
        what row locks (``claim_rows``) need."""
        with self.lock:
            for begin in self.dialect.begin_write if immediate else self.dialect.begin_read:
                self.conn.execute(begin)
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            else:
                self.conn.execute("COMMIT")

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        with self.lock:
            return self.conn.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> Any:
        with self.lock:
            return self.conn.executemany(sql, rows)

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Any]:
        """All rows of a query; each reads as ``row["column"]`` or ``row[0]``."""
        with self.lock:
            return self.conn.execute(sql, params).fetchall()

    def query_tuples(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[tuple[Any, ...]]:
        """All rows of a query as plain tuples: the fastest read of many rows (no named access)."""
        with self.lock:
            if self.url is None:
                cur = self.conn.cursor()
                cur.row_factory = None
                return cur.execute(sql, params).fetchall()
            return [tuple(r) for r in self.conn.execute(sql, params).fetchall()]

    def columns(self, table: str) -> list[str]:
        """The columns of ``table`` (a name written in code) as the database has them, in order."""
        with self.lock:
            cursor = self.conn.execute(f"SELECT * FROM {table} LIMIT 0")
            return [c[0] for c in cursor.description]

    def read_frame(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> pd.DataFrame:
        """A query's result as a pandas DataFrame."""
        with self.lock:
            if self.url is None:
                return pd.read_sql_query(sql, self.conn, params=params)
            cur = self.conn.execute(sql, params)
            rows = [tuple(r) for r in cur.fetchall()]
            columns = [c.name for c in cur.description or ()]
        return pd.DataFrame.from_records(rows, columns=columns, coerce_float=True)

    def close(self) -> None:
        with self.lock:
            self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.where!r})"


def is_database_url(target: object) -> bool:
    """Whether ``target`` names a PostgreSQL server rather than a SQLite file."""
    return isinstance(target, str) and target.startswith(POSTGRES_SCHEMES)


def open_store(target: str | Path) -> Store:
    """Open the database ``target`` names and bring its schema up to date.

    ``target`` is a ``postgresql://`` URL (the team store on a server; the database must exist)
    or the path of a SQLite file. A new SQLite file and its folders are created owner-only
    (0600 / 0700); SQLite gives the WAL and SHM files the database file's mode.
    """
    if is_database_url(target):
        return _open_postgres(str(target))
    path = Path(target)
    if str(path) != ":memory:":
        try:
            private_file(path)
            for journal in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
                if journal.exists():  # left by an older version with the umask's mode
                    private_file(journal)
        except OSError as exc:
            raise StoreError(f"{path}: cannot create the database ({exc.strerror or exc}): check the path") from None
    try:
        conn = sqlite3.connect(str(path), timeout=30.0, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        _write_ahead_log(conn)
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=30000")
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path}: cannot open as a SQLite database: {exc}") from None
    try:
        apply_migrations(conn)
    except ValueError as exc:
        conn.close()
        raise StoreError(f"{path}: {exc}") from None
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise StoreError(f"{path}: not a wamkt_nb database or damaged: {exc}") from None
    return Store(conn, path)


def _write_ahead_log(conn: sqlite3.Connection, wait: float = 30.0) -> None:
    """Switch a connection to WAL. Another process creating the same new file at the same moment
    holds the lock this needs, and SQLite answers "database is locked" at once here instead of
    waiting as it does for writes: try again until ``wait`` seconds have passed."""
    deadline = time.monotonic() + wait
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _open_postgres(url: str) -> Store:
    shown = redact_url(url)
    try:
        conn = connect(url)
    except psycopg.Error as exc:
        raise StoreError(f"{shown}: cannot connect to PostgreSQL: {redact_urls(str(exc)).strip()}") from None
    try:
        apply_migrations(conn, POSTGRES)
    except ValueError as exc:
        conn.close()
        raise StoreError(f"{shown}: {exc}") from None
    except psycopg.Error as exc:
        conn.close()
        raise StoreError(f"{shown}: not a wamkt_nb database or damaged: {redact_urls(str(exc)).strip()}") from None
    return Store(conn, None, url)
