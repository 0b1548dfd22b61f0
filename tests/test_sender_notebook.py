"""Notebook 04 executes top to bottom: dry-run plan -> ledger -> paced send against the embedded sandbox."""

from __future__ import annotations

from dataclasses import replace

from wamkt_nb.data.sample import generate
from wamkt_nb.store import open_store
from wamkt_nb.workspace import save_customer_data

from conftest import ROOT, execute_notebook, printed_text, widget_views, zone_where_it_is


def test_send_notebook(workspace):
    # The notebook's sample (seed 42, 300 customers), but living where it is noon now: the dry run
    # keeps recipients in their quiet hours (22-8 local) for later, so with the sample's own zones
    # (mostly Europe) hardly anything was due when the suite ran between 21 and 7 h UTC.
    data = generate(300)
    save_customer_data(replace(data, customers=data.customers.assign(timezone=zone_where_it_is(12))), workspace)
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
