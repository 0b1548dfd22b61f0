"""Opening the database: pragmas, a lock for cross-thread use, and migrations on open."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import pandas as pd

from ..errors import WamktError
from ..private_files import private_file
from .migrations import apply_migrations


class StoreError(WamktError, RuntimeError):
    """The database cannot be opened or is of a version this code does not know."""


class Store:
    """A SQLite connection shared by the threads of one process, serialised by a lock.

    Other processes may open the same file; WAL plus a busy timeout let them write in turn.
    """

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path
        self.lock = threading.RLock()

    @contextmanager
    def transaction(self, immediate: bool = True) -> Iterator[sqlite3.Connection]:
        """Run a block in one transaction (BEGIN IMMEDIATE by default, so writers never deadlock)."""
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            else:
                self.conn.execute("COMMIT")

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> sqlite3.Cursor:
        with self.lock:
            return self.conn.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> sqlite3.Cursor:
        with self.lock:
            return self.conn.executemany(sql, rows)

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        with self.lock:
            return self.conn.execute(sql, params).fetchall()

    def read_frame(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()):
        """A query's result as a pandas DataFrame."""
        with self.lock:
            return pd.read_sql_query(sql, self.conn, params=params)

    def close(self) -> None:
        with self.lock:
            self.conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"


def open_store(path: str | Path) -> Store:
    """Open (creating if needed) the database at ``path`` and bring its schema up to date.

    A new database and its folders are created owner-only (0600 / 0700); SQLite gives the WAL and
    SHM files the database file's mode.
    """
    path = Path(path)
    if str(path) != ":memory:":
        try:
            private_file(path)
            for journal in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
                if journal.exists():  # left by an older version with the umask's mode
                    private_file(journal)
        except OSError as exc:
            raise StoreError(f"{path}: cannot create the database ({exc.strerror or exc}): check the path") from None
    try:
        conn = sqlite3.connect(
            str(path), timeout=30.0, isolation_level=None, check_same_thread=False
        )
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
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
