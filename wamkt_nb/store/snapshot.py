"""Columnar snapshots of big tables next to the database, so a dashboard over millions of rows
does not pull every row through Python again while nothing changed.

A snapshot (``<db>.<name>.parquet``) is valid while a one-scan fingerprint of its table (a query
the caller gives: row counts, sums of the columns that change) matches the one stored in the
file; any change alters it and the next read rebuilds the snapshot from SQLite. SQLite stays the
only source of truth. Writes go to a temporary file and replace atomically.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..private_files import private_file
from .db import Store

_KEY = b"wamkt_fingerprint"


def snapshot_file(store: Store, name: str) -> Path | None:
    """Where the snapshot ``name`` of ``store`` lives (None for an in-memory or server database)."""
    if store.path is None or str(store.path) == ":memory:":
        return None
    return store.path.with_name(f"{store.path.name}.{name}.parquet")


def table_fingerprint(store: Store, sql: str) -> str:
    """The fingerprint query's one row, as text; equal fingerprints mean the snapshot is current."""
    return json.dumps(list(store.query(sql)[0]))


def read_snapshotted(
    store: Store, name: str, fingerprint_sql: str, load: Callable[[], pd.DataFrame], categories: Sequence[str] = ()
) -> pd.DataFrame:
    """The frame from a current snapshot ``name``, else from ``load()`` (then snapshotted);
    ``categories`` come back as categoricals."""
    path = snapshot_file(store, name)
    if path is None:
        return load()
    current = table_fingerprint(store, fingerprint_sql)
    if path.is_file():
        try:
            if (pq.read_schema(path).metadata or {}).get(_KEY, b"").decode() == current:
                return pq.read_table(path, read_dictionary=list(categories)).to_pandas()
        except (OSError, pa.ArrowException):
            pass  # damaged or foreign: rebuild below
    frame = load()
    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except pa.ArrowException:
        return frame  # a column Arrow cannot hold (mixed types): work without a snapshot
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), _KEY: current.encode()})
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        pq.write_table(table, private_file(tmp))  # it holds phone numbers
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)  # a read-only folder: work without a snapshot
    return frame
