"""Running the repository's notebooks under nbclient and reading what they showed."""

from __future__ import annotations

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
