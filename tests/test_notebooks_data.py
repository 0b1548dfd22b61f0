"""The customer-loading notebook and the customer data dashboard execute top to bottom."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from wamkt_nb.data.sample import generate
from wamkt_nb.workspace import save_customer_data

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("path, saved", [("notebooks/01_load_customers.ipynb", False),
                                         ("dashboards/customer_data.ipynb", True)])
def test_notebook_executes(path, saved, workspace):
    if saved:  # the workspace's data is used when there is some
        save_customer_data(generate(321, seed=5), workspace)
    nb = nbformat.read(ROOT / path, as_version=4)
    NotebookClient(nb, timeout=180, kernel_name="python3",
                   resources={"metadata": {"path": str((ROOT / path).parent)}}).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    assert [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    states = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    summaries = [s["state"]["value"] for s in states.values() if "wamkt-data-summary" in s["state"].get("_dom_classes", [])]
    assert summaries and f">{321 if saved else 2000:,}<" in summaries[0]
    html = " ".join(str(s) for s in states.values())
    assert not re.search(r"\+\d{10,15}", html), "a full phone number in the notebook output"
