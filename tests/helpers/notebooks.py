"""Running the repository's notebooks under nbclient and reading what they showed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient


def execute_notebook(path: Path, timeout: int = 180) -> tuple[Any, list]:
    """Run a notebook top to bottom in its own folder (nbclient, kernel python3), failing on any error.

    Returns the executed notebook and the outputs of its code cells.
    """
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    errors = [o for o in outputs if o.output_type == "error"]
    assert not errors, errors[0].get("traceback")
    return nb, outputs


def widget_views(outputs: list) -> list:
    """The outputs that display a widget."""
    return [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]


def printed_text(outputs: list) -> str:
    """Everything the notebook printed."""
    return "".join(o.get("text", "") for o in outputs if o.output_type == "stream")


def assert_data_summary(nb, outputs: list, customers: int) -> None:
    """The notebook showed the data loader, whose summary counts ``customers``, and no full phone
    number anywhere in its widgets' saved state."""
    assert widget_views(outputs)
    states = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    summaries = [
        s["state"]["value"] for s in states.values() if "wamkt-data-summary" in s["state"].get("_dom_classes", [])
    ]
    assert summaries and f">{customers:,}<" in summaries[0]
    html = " ".join(str(s) for s in states.values())
    assert not re.search(r"\+\d{10,15}", html), "a full phone number in the notebook output"
