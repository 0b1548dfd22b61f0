"""A PostgreSQL connection that answers like the sqlite3 one the store's callers were written for.

Callers pass SQLite's ``?`` or ``:name`` placeholders and read rows as ``row["col"]`` or ``row[0]``; this
connection rewrites the placeholders (see ``dialect``), hands ``bool`` parameters over as 0/1
(the schema keeps SQLite's integer flags) and returns sums and averages of integers as Python
numbers rather than ``Decimal``, as SQLite does. It runs in autocommit mode: a statement outside
``Store.transaction`` commits on its own, as on SQLite with ``isolation_level=None``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, ClassVar

import psycopg
from psycopg.adapt import Loader
from psycopg.pq import TransactionStatus
from psycopg.types.numeric import Int8Dumper

from .dialect import POSTGRES, pyformat

_WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


class Row(tuple):
    """A result row read by position or by column name, like ``sqlite3.Row``."""

    __slots__ = ()
    _names: ClassVar[dict[str, int]] = {}

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            try:
                return tuple.__getitem__(self, self._names[key])
            except KeyError:
                lowered = {k.lower(): i for k, i in self._names.items()}
                if key.lower() in lowered:
                    return tuple.__getitem__(self, lowered[key.lower()])
                raise IndexError(f"No item with that key: {key!r}") from None
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._names)


def _row_factory(cursor: psycopg.Cursor) -> Any:
    names = [c.name for c in cursor.description or ()]
    cls = type("Row", (Row,), {"__slots__": (), "_names": {n: i for i, n in enumerate(names)}})
    return lambda values: cls(values)


class _Number(Loader):
    """``numeric`` (sum/avg of integers) as an ``int`` when whole, else a ``float``."""

    def load(self, data: Any) -> Any:
        value = Decimal(bytes(data).decode())
        return int(value) if value == value.to_integral_value() else float(value)


class _FlagDumper(Int8Dumper):
    """``True``/``False`` as 1/0: flags are integer columns, as in SQLite."""

    def dump(self, obj: Any) -> bytes:
        return b"1" if obj else b"0"


class PostgresConnection:
    """The subset of ``sqlite3.Connection`` the store's callers use, over one psycopg connection.

    A write outside a transaction runs in a writing transaction of its own (the writers' advisory
    lock, see ``dialect.POSTGRES``): on SQLite such a write waits for the current writer too, so
    it can never slip between another transaction's read and its write."""

    dialect = POSTGRES

    def __init__(self, conn: psycopg.Connection) -> None:
        self.raw = conn

    def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> psycopg.Cursor:
        named = isinstance(params, Mapping)
        args = dict(params) if named else tuple(params)
        with self._writing(sql):
            return self.raw.execute(pyformat(sql, named), args)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any] | Mapping[str, Any]]) -> psycopg.Cursor:
        rows = list(rows)
        named = bool(rows) and isinstance(rows[0], Mapping)
        cur = self.raw.cursor()
        with self._writing(sql):
            cur.executemany(pyformat(sql, named), [dict(r) if named else tuple(r) for r in rows])
        return cur

    @contextmanager
    def _writing(self, sql: str) -> Iterator[None]:
        """Around a lone ``INSERT``/``UPDATE``/``DELETE``: a writing transaction; else nothing."""
        if self.raw.info.transaction_status != TransactionStatus.IDLE or not _WRITE.match(sql):
            yield
            return
        with self.raw.transaction():
            for begin in POSTGRES.begin_write[1:]:  # psycopg has begun the transaction
                self.raw.execute(begin)
            yield

    def cursor(self) -> psycopg.Cursor:
        return self.raw.cursor()

    def close(self) -> None:
        self.raw.close()


def connect(url: str) -> PostgresConnection:
    """A connection with JIT compilation off: the store's queries are short, and an aggregate over a
    large ledger whose estimated cost crosses ``jit_above_cost`` spent longer compiling than running
    (``bench/dashboards.py``)."""
    conn = psycopg.connect(url, autocommit=True, row_factory=_row_factory)
    conn.execute("SET jit = off")  # for the session (autocommit), whatever options the URL gives
    conn.adapters.register_loader("numeric", _Number)
    conn.adapters.register_dumper(bool, _FlagDumper)
    return PostgresConnection(conn)
