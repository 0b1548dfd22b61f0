"""The customer data dashboard executes top to bottom on the workspace's data (notebook 01 on an empty
workspace is the first step of ``test_notebook_journey``)."""

from __future__ import annotations

from helpers import ROOT
from helpers.notebooks import assert_data_summary, execute_notebook

from wamkt_nb.data.sample import generate
from wamkt_nb.workspace import save_customer_data


def test_customer_data_dashboard_executes_on_the_workspace_data(workspace):
    save_customer_data(generate(321, seed=5), workspace)  # the workspace's data is used when there is some
    nb, outputs = execute_notebook(ROOT / "dashboards" / "customer_data.ipynb")
    assert_data_summary(nb, outputs, 321)
