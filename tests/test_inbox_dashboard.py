"""The team inbox dashboard: executes with nbclient, and in Voila + headless Chromium shows the
conversations by priority with masked phone numbers and red flags."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from wamkt_nb.autoreply import AutoReplier
from wamkt_nb.data.features import build_features
from wamkt_nb.data.sample import generate
from wamkt_nb.store import open_store
from wamkt_nb.webhooks import WebhookReceiver
from wamkt_nb.workspace import save_customer_data

from conftest import ROOT, execute_notebook, open_dashboard, voila_server, widget_views
from webhook_payloads import APP_SECRET, VERIFY_TOKEN, inbound, signed

DASHBOARD = ROOT / "dashboards" / "inbox.ipynb"


def populate(workspace: Path) -> tuple[str, str]:
    """Sample customers and two waiting conversations: a big spender (new) and a small one (3 h, red)."""
    data = generate(200, seed=8)
    save_customer_data(data, workspace)
    features = build_features(data, time.time()).dropna(subset=["avg_order_value"])
    rich = features.sort_values("avg_order_value")["phone"].iloc[-1]
    poor = features.sort_values("avg_order_value")["phone"].iloc[0]
    store = open_store(workspace / "wamkt.db")
    receiver = WebhookReceiver(store, APP_SECRET, VERIFY_TOKEN, handler=AutoReplier(None))
    for i, (phone, text, ago) in enumerate([(poor, "Paket fehlt", 3 * 3600), (rich, "Frage zur Rechnung", 300)]):
        body, headers = signed(inbound(wa_id=phone[1:], text=text, wamid=f"w{i}", ts=time.time() - ago))
        assert receiver.receive(body, headers["X-Hub-Signature-256"]).status == 200
    store.close()
    return rich, poor


def test_inbox_dashboard_executes(workspace):
    rich, poor = populate(workspace)
    nb, outputs = execute_notebook(DASHBOARD)
    assert widget_views(outputs)
    state = str(nb.metadata.get("widgets", ""))
    assert "Frage zur Rechnung" in state and rich not in state and poor not in state


@pytest.mark.browser
def test_inbox_dashboard_in_the_browser(page, workspace, tmp_path):
    rich, poor = populate(workspace)
    with voila_server(DASHBOARD, env={"WAMKT_WORKSPACE": str(workspace)}, log=tmp_path / "voila.log") as url:
        open_dashboard(page, url, ".wamkt-inbox-table table")
        rows = page.locator(".wamkt-inbox-table tbody tr")
        assert rows.count() == 2
        first, second = rows.nth(0).inner_text(), rows.nth(1).inner_text()
        assert "Frage zur Rechnung" in first and "Paket fehlt" in second  # value before waiting time
        assert page.locator(".wamkt-inbox-table tr.wamkt-inbox-red").count() == 1
        body = page.locator("body").inner_text()
        assert "****" in first and not re.search(r"\+\d{11,}", body)
        assert "1 open" not in body and "2 open" in body.replace("\n", " ")
        assert "Read-only" in body
