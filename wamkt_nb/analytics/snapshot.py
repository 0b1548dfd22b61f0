"""A columnar snapshot of the send ledger next to the database, so a dashboard over a million
ledger rows does not pull every row through Python again while nothing changed.

The snapshot is valid while a one-scan fingerprint of ``sends`` (row count, highest id, sums of
``updated_at`` and of every stage time) matches; any insert or state change alters it and the
next read rebuilds the snapshot from SQLite. Writes go to a temporary file and replace atomically.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..private_files import private_file
from ..store import Store

_FINGERPRINT_SQL = (
    "SELECT COUNT(*), MAX(send_id), TOTAL(updated_at), TOTAL(accepted_at), TOTAL(sent_at),"
    " TOTAL(delivered_at), TOTAL(read_at), TOTAL(failed_at), TOTAL(error_code), TOTAL(billable),"
    " TOTAL(LENGTH(state)) FROM sends"
)
_KEY = b"wamkt_fingerprint"
_CATEGORIES = ("campaign_id", "state", "message_type", "pricing_category", "arm")
"""Few distinct values: read back as categoricals, which group and compare fastest."""


def snapshot_path(store: Store) -> Path | None:
    """Where the snapshot of ``store`` lives (None for an in-memory database)."""
    if str(store.path) == ":memory:":
        return None
    return store.path.with_name(store.path.name + ".sends.parquet")


def fingerprint(store: Store) -> str:
    """One scan of ``sends`` summarised, with its columns (a migration that adds one makes the
    snapshot stale); equal fingerprints mean the snapshot is current."""
    columns = [r[1] for r in store.query("PRAGMA table_info(sends)")]
    return json.dumps([*store.query(_FINGERPRINT_SQL)[0], columns])


def read_sends(store: Store, load: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """The whole ``sends`` frame from a current snapshot, else from ``load()`` (then snapshotted)."""
    path = snapshot_path(store)
    if path is None:
        return load()
    current = fingerprint(store)
    if path.is_file():
        try:
            if (pq.read_schema(path).metadata or {}).get(_KEY, b"").decode() == current:
                return pq.read_table(path, read_dictionary=list(_CATEGORIES)).to_pandas()
        except (OSError, pa.ArrowException):
            pass  # damaged or foreign: rebuild below
    frame = load()
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), _KEY: current.encode()})
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        pq.write_table(table, private_file(tmp))  # phone numbers: owner-only like the database
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)  # a read-only folder: work without a snapshot
    return frame
