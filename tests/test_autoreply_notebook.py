"""Notebook 05 executes top to bottom: defines a rule, the sandbox injects "Rabatt", the reply arrives."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from wamkt_nb.store import open_store

ROOT = Path(__file__).resolve().parents[1]


def test_auto_replies_notebook(workspace):
    path = ROOT / "notebooks" / "05_auto_replies.ipynb"
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "'RABATT!'" in text and "rabatt_sommer" in text
    assert re.search(r"reply to \+\d+\*{3,}\d\d: Sommer-Rabatt: SOMMER15", text), text  # phone masked
    assert not re.search(r"\+\d{10,}", text)
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)
    store = open_store(workspace / "wamkt.db")
    row = store.query("SELECT source, state, latency_ms FROM replies")[0]
    assert (row["source"], row["state"]) == ("rabatt_sommer", "accepted") and row["latency_ms"] > 0
    store.close()
