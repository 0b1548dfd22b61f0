"""Notebook 05 executes top to bottom: defines a rule, the sandbox injects "Rabatt", the reply arrives."""

from __future__ import annotations

import re


from wamkt_nb.store import open_store

from helpers import ROOT

from helpers.notebooks import execute_notebook, printed_text, widget_views



def test_auto_replies_notebook(workspace):
    path = ROOT / "notebooks" / "05_auto_replies.ipynb"
    _, outputs = execute_notebook(path)
    text = printed_text(outputs)
    assert "'RABATT!'" in text and "rabatt_sommer" in text
    assert re.search(r"reply to \+\d+\*{3,}\d\d: Sommer-Rabatt: SOMMER15", text), text  # phone masked
    assert not re.search(r"\+\d{10,}", text)
    assert widget_views(outputs)
    store = open_store(workspace / "wamkt.db")
    row = store.query("SELECT source, state, latency_ms FROM replies")[0]
    assert (row["source"], row["state"]) == ("rabatt_sommer", "accepted") and row["latency_ms"] > 0
    store.close()
