"""A username user who writes before any message of ours reached them is known by BSUID alone: the
inbox lists them under that key and an answer goes to it with Meta's ``recipient`` field."""

from __future__ import annotations

import time

from wamkt_nb.clock import ManualClock
from wamkt_nb.cloudapi import CloudClient
from wamkt_nb.data.sample import generate
from wamkt_nb.inbox import answer, open_conversations
from wamkt_nb.sandbox import Sandbox, SandboxConfig
from wamkt_nb.serving.wiring import connect_sandbox
from wamkt_nb.store import open_store


def test_a_username_user_who_writes_first_is_answered_by_bsuid(tmp_path):
    data = generate(10, seed=9, now="2025-10-09")  # the day of the ManualClock below, not today
    store = open_store(tmp_path / "w.db")
    clock = ManualClock(1_760_000_000)
    customer_id = str(data.customers["customer_id"].iloc[0])
    usernames = SandboxConfig(username_share=1.0)
    with (
        Sandbox(customers=data, clock=clock, config=usernames) as sb,
        connect_sandbox(sb, store),
        CloudClient(sb.settings()) as client,
    ):
        wamid = sb.inject_inbound(customer_id, "Hat jemand Zeit für eine Frage?")
        deadline = time.monotonic() + 30
        while open_conversations(store, clock.now()).empty and time.monotonic() < deadline:
            time.sleep(0.02)
        key = store.query("SELECT phone FROM inbound_messages WHERE wamid = ?", (wamid,))[0][0]
        assert not key.startswith("+")  # no phone in the webhook: the customer key is the BSUID
        assert list(open_conversations(store, clock.now())["phone"]) == [key]
        clock.advance(240)
        out = answer(
            store,
            client,
            key,
            text="Gern, worum geht es?",
            agent="lea",
            clock=clock,
            phone_number_id=sb.phone_number_id,
        )
        assert out.state == "accepted" and out.wamid
        sent = sb.received()[-1]["body"]
        assert sent["recipient"] == key and "to" not in sent and sent["text"]["body"] == "Gern, worum geht es?"
        assert open_conversations(store, clock.now()).empty
    store.close()
