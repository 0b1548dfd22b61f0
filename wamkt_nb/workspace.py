"""Where a demo or an analyst's session keeps its data files and database.

Notebooks and dashboards find their data here (``WAMKT_WORKSPACE``, default ``./wamkt-workspace``);
when nothing was saved yet they fall back to a small sample, so every notebook runs on its own.
The folder and its files hold phone numbers: they are created owner-only (0700 / 0600).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from .data.schema import CustomerData
from .private_files import private_dir, private_file

_FILES = {"customers": "customers.parquet", "orders": "orders.parquet", "interactions": "interactions.parquet"}


def workspace_dir() -> Path:
    return Path(os.environ.get("WAMKT_WORKSPACE", "wamkt-workspace")).expanduser()


def database_path(directory: Path | None = None) -> Path:
    """The SQLite file the settings name (``WAMKT_DB_PATH``, ``db_path`` in ``wamkt.toml``), else the
    workspace's ``wamkt.db``."""
    from .settings import load_settings

    configured = load_settings().db_path
    return configured if configured is not None else (directory or workspace_dir()) / "wamkt.db"


def save_customer_data(data: CustomerData, directory: Path | None = None) -> Path:
    directory = directory or workspace_dir()
    private_dir(directory)
    for attr, name in _FILES.items():
        getattr(data, attr).to_parquet(private_file(directory / name), index=False)
    return directory


def load_customer_data(directory: Path | None = None, sample_size: int = 2_000) -> CustomerData:
    """The workspace's saved customer data, or a seeded sample of ``sample_size`` when none is saved."""
    directory = directory or workspace_dir()
    if all((directory / name).is_file() for name in _FILES.values()):
        frames = {attr: pd.read_parquet(directory / name) for attr, name in _FILES.items()}
        return CustomerData(**frames)
    from .data.sample import generate

    return generate(sample_size)
