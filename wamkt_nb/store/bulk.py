"""Bulk writes of many rows: PostgreSQL's ``COPY`` (an order of magnitude faster than inserts
there), SQLite's ``executemany`` in one transaction; and a table's secondary indexes set aside
while millions of rows go in, then built once (a sort, instead of one index update per row).

For synthetic histories (the benchmarks, demo data), not for the ledger's normal writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from .db import Store

_COPY_BATCH = 100_000


def copy_rows(store: Store, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Append ``rows`` (values in ``columns`` order) to ``table`` (a name written in code)."""
    names = ", ".join(columns)
    if store.url is None:
        with store.transaction() as conn:
            conn.executemany(f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})", rows)
        return
    with store.transaction() as conn, conn.cursor() as cur, cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _index_definitions(store: Store, table: str) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of ``table``'s indexes that no constraint owns."""
    if store.url is None:
        return [
            (r[0], r[1])
            for r in store.query_tuples(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
                (table,),
            )
        ]
    return [
        (r[0], r[1])
        for r in store.query_tuples(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ? AND schemaname = current_schema()"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = indexname)",
            (table,),
        )
    ]


@contextmanager
def indexes_set_aside(store: Store, table: str) -> Iterator[None]:
    """Drop ``table``'s secondary indexes for the block, create them again after it (also when it
    fails, so the schema is never left without them)."""
    definitions = _index_definitions(store, table)
    with store.transaction() as conn:
        for name, _sql in definitions:
            conn.execute(f'DROP INDEX "{name}"')
    try:
        yield
    finally:
        with store.transaction() as conn:
            for _name, sql in definitions:
                conn.execute(sql)
