"""The team inbox dashboard: its period and campaign filters (widget), the notebook under nbclient, and
Voila + headless Chromium: conversations by priority, red flags, filters that change the figures, and
no full phone number or secret anywhere in the page."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from helpers import ROOT
from helpers.browser import SECRETS, check_clean, open_dashboard, voila_server
from helpers.notebooks import execute_notebook, widget_views
from playwright.sync_api import expect

from wamkt_nb.autoreply import AutoReplier
from wamkt_nb.data.features import build_features
from wamkt_nb.data.sample import generate
from wamkt_nb.store import open_store
from wamkt_nb.webhooks import WebhookReceiver
from wamkt_nb.widgets.inbox import InboxView
from wamkt_nb.workspace import save_customer_data



from helpers.webhook_payloads import APP_SECRET, VERIFY_TOKEN, inbound, signed

DASHBOARD = ROOT / "dashboards" / "inbox.ipynb"
CAMPAIGN = "cmp-spring"


def populate(workspace: Path) -> dict[str, str]:
    """Sample customers and three waiting conversations: a big spender (5 min, reached by the campaign),
    a small one (3 h, red) and one from three days ago who wrote their own number into the message."""
    data = generate(200, seed=8)
    save_customer_data(data, workspace)
    now = time.time()
    by_value = build_features(data, now).dropna(subset=["avg_order_value"]).sort_values("avg_order_value")
    who = {"rich": by_value["phone"].iloc[-1], "poor": by_value["phone"].iloc[0], "old": by_value["phone"].iloc[1]}
    store = open_store(workspace / "wamkt.db")
    receiver = WebhookReceiver(store, APP_SECRET, VERIFY_TOKEN, handler=AutoReplier(None))
    waiting = [("poor", "Paket fehlt", 3 * 3600), ("rich", "Frage zur Rechnung", 300),
               ("old", f"Bitte zurückrufen: {who['old']}", 3 * 86400)]
    for i, (name, text, ago) in enumerate(waiting):
        body, headers = signed(inbound(wa_id=who[name][1:], text=text, wamid=f"w{i}", ts=now - ago))
        assert receiver.receive(body, headers["X-Hub-Signature-256"]).status == 200
    rich_id = data.customers.set_index("phone").loc[who["rich"], "customer_id"]
    with store.transaction() as db:
        db.execute("INSERT INTO campaigns (campaign_id, name, category, status, created_at)"
                   " VALUES (?, 'Spring sale', 'marketing', 'complete', ?)", (CAMPAIGN, now - 86400))
        db.execute("INSERT INTO sends (campaign_id, recipient_key, customer_id, phone, state, delivered_at, updated_at)"
                   " VALUES (?, ?, ?, ?, 'delivered', ?, ?)",
                   (CAMPAIGN, f"{CAMPAIGN}:{rich_id}", rich_id, who["rich"], now - 86400, now - 86400))
    store.close()
    return who


def test_period_and_campaign_filter_the_conversations_and_figures(workspace):
    who = populate(workspace)
    store = open_store(workspace / "wamkt.db")
    view = InboxView(store)
    assert len(view.table) == 3 and "<b class='wamkt-inbox-open'>3</b>" in view.summary.value
    view.period.value = 1.0  # last 24 hours: the three-day-old conversation drops out
    assert set(view.table["phone"]) == {who["rich"], who["poor"]}
    assert "<span class='wamkt-inbox-conversations'>2</span>" in view.summary.value
    view.campaign.value = CAMPAIGN
    assert view.table["phone"].tolist() == [who["rich"]] and "<b class='wamkt-inbox-red-count " in view.summary.value
    assert "'wamkt-inbox-red-count wamkt-bad'>0</b>" in view.summary.value  # the red one was not reached
    assert dict(view.campaign.options)["Spring sale (cmp-spring)"] == CAMPAIGN
    store.close()


def test_inbox_dashboard_executes(workspace):
    who = populate(workspace)
    nb, outputs = execute_notebook(DASHBOARD)
    assert widget_views(outputs)
    state = str(nb.metadata.get("widgets", ""))
    assert "Frage zur Rechnung" in state and "Bitte zurückrufen: " in state
    assert not any(p in state or p[1:] in state for p in who.values())


@pytest.mark.browser
def test_inbox_dashboard_in_the_browser(page, workspace, tmp_path):
    who = populate(workspace)
    phones = generate(200, seed=8).customers["phone"].tolist()
    with voila_server(DASHBOARD, env={"WAMKT_WORKSPACE": str(workspace), **SECRETS},
                      log=tmp_path / "voila.log") as url:
        open_dashboard(page, url, ".wamkt-inbox-table table")
        rows = page.locator(".wamkt-inbox-table tbody tr")
        assert rows.count() == 3
        texts = [rows.nth(i).inner_text() for i in range(3)]
        assert "Frage zur Rechnung" in texts[0]  # order value first, then waiting time
        assert "Bitte zurückrufen: +" in texts[1] and "*****" in texts[1] and "Paket fehlt" in texts[2]
        assert page.locator(".wamkt-inbox-table tr.wamkt-inbox-red").count() == 2
        assert page.locator(".wamkt-inbox-open").inner_text() == "3"
        assert "Read-only" in page.locator("body").inner_text()
        check_clean(page, phones)

        page.locator(".wamkt-inbox-period select").select_option(label="Last 24 hours")
        page.wait_for_function("document.querySelector('.wamkt-inbox-open').innerText === '2'")
        # the summary is redrawn before the table: wait for the table too instead of counting its rows at once
        expect(rows).to_have_count(2)
        expect(page.locator(".wamkt-inbox-red-count")).to_have_text("1")

        page.locator(".wamkt-inbox-campaign select").select_option(label=f"Spring sale ({CAMPAIGN})")
        page.wait_for_function("document.querySelector('.wamkt-inbox-open').innerText === '1'")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("Frage zur Rechnung")
        expect(page.locator(".wamkt-inbox-red-count")).to_have_text("0")
        check_clean(page, phones + [who["old"]])
