"""A columnar snapshot of the send ledger next to the database (``<db>.sends.parquet``), so a
dashboard over a million ledger rows does not pull every row through Python again while nothing
changed.

The snapshot is valid while a one-scan fingerprint of ``sends`` (row count, highest id, sums of
``updated_at`` and of every stage time) matches; any insert or state change alters it and the
next read rebuilds the snapshot from SQLite (``store.snapshot``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from ..ledger.reports import SENDS_FINGERPRINT_SQL, send_table_columns
from ..store import Store
from ..store.snapshot import read_snapshotted, snapshot_file, table_fingerprint

_CATEGORIES = ("campaign_id", "state", "message_type", "pricing_category", "arm")
"""Few distinct values: read back as categoricals, which group and compare fastest."""


def snapshot_path(store: Store) -> Path | None:
    """Where the snapshot of ``store`` lives (None for an in-memory database)."""
    return snapshot_file(store, "sends")


def fingerprint(store: Store) -> str:
    """One scan of ``sends`` summarised, with its columns (a migration that adds one makes the
    snapshot stale); equal fingerprints mean the snapshot is current."""
    return json.dumps([table_fingerprint(store, SENDS_FINGERPRINT_SQL), send_table_columns(store)])


def read_sends(store: Store, load: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """The whole ``sends`` frame from a current snapshot, else from ``load()`` (then snapshotted)."""
    return read_snapshotted(store, "sends", SENDS_FINGERPRINT_SQL, load, _CATEGORIES)
