"""Notebook 04 executes top to bottom: dry-run plan -> ledger -> paced send against the embedded sandbox."""

from __future__ import annotations

import pandas as pd
from helpers import ROOT
from helpers.notebooks import execute_notebook, printed_text, widget_views

from wamkt_nb import Workspace
from wamkt_nb.data.sample import default_now, generate
from wamkt_nb.settings import Settings
from wamkt_nb.store import open_store
from wamkt_nb.workspace import save_customer_data




def test_send_notebook(workspace):
    # 04 sends the campaign 03 dry-ran, by name: here composed and dry-run for the notebook's afternoon
    # (14 h UTC, daytime for the sample's customers) the way 03 does it, for all 300 customers.
    save_customer_data(generate(300), workspace)
    with Workspace(Settings(sandbox=True), directory=workspace, now=default_now() + pd.Timedelta(hours=14)) as ws:
        campaign = ws.campaign(None, ws.template("rabatt_aktion"), name="spring-sale", params={"discount": "10 %"})
        planned = int((campaign.dry_run(schedule="now").plan["outcome"] == "send").sum())
    assert planned > 50
    path = ROOT / "notebooks" / "04_send.ipynb"
    _, outputs = execute_notebook(path)
    text = printed_text(outputs)
    assert "complete" in text or "paused" in text
    assert widget_views(outputs)
    store = open_store(workspace / "wamkt.db")
    states = dict(store.query("SELECT state, count(*) FROM sends GROUP BY state"))
    assert not states.get("in_flight") and not states.get("unknown")
    assert sum(states.get(s, 0) for s in ("accepted", "sent", "delivered", "read", "failed")) == planned
    attempts = store.query("SELECT count(*) FROM attempts")[0][0]
    assert attempts >= sum(states.get(s, 0) for s in ("accepted", "sent", "delivered", "read"))
    store.close()
