"""The inbox widget: masked phones, red rows, priority order, answering through the sandbox."""

from __future__ import annotations

import time

from wamkt_nb.clock import ManualClock
from wamkt_nb.cloudapi import CloudClient
from wamkt_nb.data.features import build_features
from wamkt_nb.data.privacy import mask_phone
from wamkt_nb.data.sample import generate
from wamkt_nb.inbox import open_conversations
from wamkt_nb.sandbox import Sandbox, SandboxConfig
from wamkt_nb.serving.wiring import connect_sandbox
from wamkt_nb.store import open_store
from wamkt_nb.widgets.inbox import InboxView


def test_inbox_widget_answers_and_masks(tmp_path):
    data = generate(30, seed=4, now="2025-10-09")  # the day of the ManualClock below, not today
    store = open_store(tmp_path / "w.db")
    clock = ManualClock(1_760_000_000)
    features = build_features(data, clock.now())
    rich = features.sort_values("avg_order_value", ascending=False)["phone"].iloc[0]
    poor = features.sort_values("avg_order_value")["phone"].iloc[0]
    phones_only = SandboxConfig(username_share=0.0)  # addressed and masked by phone; usernames: test_inbox_bsuid.py
    with (
        Sandbox(customers=data, clock=clock, config=phones_only) as sb,
        connect_sandbox(sb, store),
        CloudClient(sb.settings()) as client,
    ):
        sb.inject_inbound(poor, "Meine Lieferung fehlt!!")
        clock.advance(3 * 3600)
        sb.inject_inbound(rich, "Frage zur Rechnung")
        deadline = time.monotonic() + 30
        while len(open_conversations(store, clock.now())) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        clock.advance(600)
        view = InboxView(store, features, client, clock=clock, phone_number_id=sb.phone_number_id, agent="lea")
        assert view.table["phone"].tolist() == [rich, poor]  # value first, although poor waits longer
        html = view.list.value
        assert mask_phone(rich) in html and rich not in html and poor not in html
        assert html.count("wamkt-inbox-red") == 1 and "1</b> red" in view.summary.value
        view.red_after.value = 0.05
        assert view.list.value.count("wamkt-inbox-red") == 2
        view.pick.value = poor
        view.text.value = "Wir kümmern uns sofort darum."
        view.send.click()
        assert "Sent to" in view.status.value and view.table["phone"].tolist() == [rich]
        assert any(r["body"]["to"] == poor and r["body"]["type"] == "text" for r in sb.received())
        view.pick.value = rich
        clock.advance(25 * 3600)
        view.refresh()
        assert "Window closed" in view.status.value
        view.text.value = "Noch da?"
        view.send.click()
        assert "template" in view.status.value and "wamkt-error" in view.status.value
    store.close()


def test_read_only_without_client(tmp_path):
    store = open_store(tmp_path / "w.db")
    view = InboxView(store)
    assert view.send.disabled and "No open conversations" in view.list.value
    store.close()
