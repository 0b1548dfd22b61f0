"""Notebook 04 executes top to bottom: dry-run plan -> ledger -> paced send against the embedded sandbox."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

from wamkt_nb.store import open_store

ROOT = Path(__file__).resolve().parents[1]


def test_send_notebook(workspace):
    path = ROOT / "notebooks" / "04_send.ipynb"
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "complete" in text or "paused" in text
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)
    store = open_store(workspace / "wamkt.db")
    states = dict(store.query("SELECT state, count(*) FROM sends GROUP BY state"))
    assert not states.get("in_flight") and not states.get("unknown")
    assert sum(states.get(s, 0) for s in ("accepted", "sent", "delivered", "read", "failed")) > 50
    attempts = store.query("SELECT count(*) FROM attempts")[0][0]
    assert attempts >= sum(states.get(s, 0) for s in ("accepted", "sent", "delivered", "read"))
    store.close()
