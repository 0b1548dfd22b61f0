"""The segments notebook and dashboard execute top to bottom on the sample data."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("path", ["notebooks/02_segments.ipynb", "dashboards/segments.ipynb"])
def test_notebook_executes(path, workspace):
    nb = nbformat.read(ROOT / path, as_version=4)
    NotebookClient(nb, timeout=180, kernel_name="python3",
                   resources={"metadata": {"path": str((ROOT / path).parent)}}).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    widget_views = [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert widget_views, "the builder was not displayed"
    assert (workspace / "wamkt.db").is_file()
