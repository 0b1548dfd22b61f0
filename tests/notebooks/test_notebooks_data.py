"""The customer-loading notebook and the customer data dashboard execute top to bottom."""

from __future__ import annotations

import re

import pytest
from helpers import ROOT
from helpers.notebooks import execute_notebook, widget_views

from wamkt_nb.data.sample import generate
from wamkt_nb.workspace import save_customer_data





@pytest.mark.parametrize("path, saved", [("notebooks/01_load_customers.ipynb", False),
                                         ("dashboards/customer_data.ipynb", True)])
def test_notebook_executes(path, saved, workspace):
    if saved:  # the workspace's data is used when there is some
        save_customer_data(generate(321, seed=5), workspace)
    nb, outputs = execute_notebook(ROOT / path)
    assert widget_views(outputs)
    states = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    summaries = [s["state"]["value"] for s in states.values() if "wamkt-data-summary" in s["state"].get("_dom_classes", [])]
    assert summaries and f">{321 if saved else 2000:,}<" in summaries[0]
    html = " ".join(str(s) for s in states.values())
    assert not re.search(r"\+\d{10,15}", html), "a full phone number in the notebook output"
