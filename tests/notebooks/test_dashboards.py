"""The analytics dashboards execute top to bottom with nbclient, on data and on an empty workspace."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from helpers import ROOT
from helpers.notebooks import execute_notebook

from wamkt_nb.analytics.synthetic import write_ledger
from wamkt_nb.data.sample import generate
from wamkt_nb.store import open_store
from wamkt_nb.workspace import save_customer_data



DASHBOARDS = ("campaign_overview", "segment_comparison", "send_times")


def fill_workspace(directory: Path, customers: int = 400, rows: int = 4_000) -> None:
    """Sample customers and a synthetic ledger of ``rows`` sends in the workspace database."""
    data = generate(customers, seed=5)
    save_customer_data(data, directory)
    store = open_store(directory / "wamkt.db")
    write_ledger(store, data.customers, rows, time.time(), seed=5)
    store.close()


def run(name: str) -> str:
    """Execute the dashboard; return its widget state and outputs as one searchable text."""
    nb, _ = execute_notebook(ROOT / "dashboards" / f"{name}.ipynb")
    return json.dumps(nb.metadata.get("widgets", {})) + json.dumps([c.get("outputs", []) for c in nb.cells])


@pytest.mark.parametrize("name", DASHBOARDS)
def test_dashboard_runs_on_data(workspace, name):
    fill_workspace(workspace)
    text = run(name)
    assert "wamkt-chart" in text
    assert "wamkt-error" not in text
    assert "No campaigns yet" not in text


def test_empty_workspace_says_no_campaigns_yet(workspace):
    text = run("campaign_overview")
    assert "No campaigns yet" in text
    assert "wamkt-error" not in text
