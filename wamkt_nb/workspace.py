"""Where a demo or an analyst's session keeps its database, and the customer data in it.

Notebooks and dashboards find their data here (``WAMKT_WORKSPACE``, default ``./wamkt-workspace``):
the customer data lives in the workspace's store (see ``data.stored``), together with everything
the receiver recorded since, so features and segments see what customers did after a campaign.
When nothing was saved yet they fall back to a small sample, so every notebook runs on its own.
The folder and its files hold phone numbers: they are created owner-only (0700 / 0600).
A core module (settings, store, customer data): the notebooks' :class:`~wamkt_nb.facade.Workspace`,
the CLI and the widgets build on it; the sandbox never reads it (its callers pass the customers).
"""

from __future__ import annotations

from pathlib import Path

from .data.sample import generate
from .data.schema import CustomerData
from .data.stored import has_customer_data, read_customer_data, write_customer_data
from .settings import database_path, load_settings
from .settings import workspace_dir as workspace_dir  # the facade offers it to notebooks
from .store import open_store


def database_target(directory: Path | None = None) -> str | Path:
    """What ``open_store`` opens: the team's PostgreSQL server when the settings name one
    (``WAMKT_DATABASE_URL``, ``database_url`` in ``wamkt.toml``), else :func:`database_path`."""
    return load_settings().database_url or database_path(directory)


def save_customer_data(data: CustomerData, directory: Path | None = None) -> str | Path:
    """Keep ``data`` as the workspace's imported customer data (replacing the previous import);
    returns the database it went into (the team store when one is named)."""
    target = database_target(directory)
    with open_store(target) as store:
        write_customer_data(store, data)
    return target


def load_customer_data(directory: Path | None = None, sample_size: int = 2_000) -> CustomerData:
    """The workspace's customer data with every order and interaction recorded since, or a seeded
    sample of ``sample_size`` when none is saved."""
    target = database_target(directory)
    if not isinstance(target, Path) or target.is_file():
        with open_store(target) as store:
            if has_customer_data(store):
                return read_customer_data(store)
    return generate(sample_size)
