"""Notebook 04 executes top to bottom: dry-run plan -> ledger -> paced send against the embedded sandbox."""

from __future__ import annotations



from wamkt_nb.store import open_store

from conftest import ROOT, execute_notebook, printed_text, widget_views



def test_send_notebook(workspace):
    path = ROOT / "notebooks" / "04_send.ipynb"
    _, outputs = execute_notebook(path)
    text = printed_text(outputs)
    assert "complete" in text or "paused" in text
    assert widget_views(outputs)
    store = open_store(workspace / "wamkt.db")
    states = dict(store.query("SELECT state, count(*) FROM sends GROUP BY state"))
    assert not states.get("in_flight") and not states.get("unknown")
    assert sum(states.get(s, 0) for s in ("accepted", "sent", "delivered", "read", "failed")) > 50
    attempts = store.query("SELECT count(*) FROM attempts")[0][0]
    assert attempts >= sum(states.get(s, 0) for s in ("accepted", "sent", "delivered", "read"))
    store.close()
