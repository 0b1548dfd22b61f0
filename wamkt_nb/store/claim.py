"""Claiming rows for work: each row goes to exactly one of several concurrent workers.

On PostgreSQL the claim selects with ``FOR UPDATE SKIP LOCKED`` in an ordinary transaction, so
concurrent claimers lock disjoint rows and none waits for another; on SQLite the claim runs as a
writing transaction, and writers there run one at a time. Either way a claimed row is updated
(``set_sql``) in the same transaction, so it no longer matches ``where`` for the next claimer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .db import Store


def claim_rows(
    store: Store,
    table: str,
    key: str,
    where: str,
    set_sql: str,
    params: Sequence[Any] = (),
    set_params: Sequence[Any] = (),
    limit: int = 100,
) -> list[Any]:
    """Claim up to ``limit`` rows of ``table`` matching ``where`` (with ``params``), oldest ``key``
    first; mark them with ``SET set_sql`` (with ``set_params``); return their ``key`` values.

    ``table``, ``key``, ``where`` and ``set_sql`` are SQL written in code, never user input;
    values go in the parameters."""
    with store.transaction(immediate=not store.dialect.skip_locked) as conn:
        rows = conn.execute(
            f"SELECT {key} FROM {table} WHERE {where} ORDER BY {key} LIMIT ?{store.dialect.skip_locked}",
            (*params, int(limit)),
        ).fetchall()
        keys = [r[0] for r in rows]
        if keys:
            conn.execute(
                f"UPDATE {table} SET {set_sql} WHERE {key} IN ({', '.join('?' * len(keys))})", (*set_params, *keys)
            )
    return keys
