"""The segments notebook and dashboard execute top to bottom on the sample data."""

from __future__ import annotations

import pytest

from helpers import ROOT

from helpers.notebooks import execute_notebook, widget_views


@pytest.mark.parametrize("path", ["notebooks/02_segments.ipynb", "dashboards/segments.ipynb"])
def test_notebook_executes(path, workspace):
    _, outputs = execute_notebook(ROOT / path)
    assert widget_views(outputs), "the builder was not displayed"
    assert (workspace / "wamkt.db").is_file()
