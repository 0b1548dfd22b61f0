"""A ledger holding one finished A/B experiment, for the results widget and its dashboard."""

from __future__ import annotations

import pandas as pd

from wamkt_nb.ledger import create_campaign
from wamkt_nb.store import open_store

T0 = 1_700_000_000.0


def experiment_store(path, a=(60, 1_000), b=(95, 1_000), spec=None):
    """A ledger with two arms of ``users`` conversions each, delivered one hour after T0."""
    rows = []
    for arm, (conv, users) in (("A", a), ("B", b)):
        for i in range(users):
            rows.append((f"{arm}{i}", arm, i < conv))
    plan = pd.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "phone": [f"+4915{n:09d}" for n in range(len(rows))],
            "outcome": "send",
            "reason": "",
            "category": "marketing",
            "message_type": "text",
            "body": "Hi",
            "payload": [{"type": "text"}] * len(rows),
            "planned_at": T0,
            "arm": [r[1] for r in rows],
        }
    )
    store = open_store(path)
    create_campaign(
        store,
        plan,
        name="Spring",
        now=T0,
        campaign_id="cmp-ab",
        experiment_key="spring",
        spec={"experiment": spec or {"metric": "conversion"}},
    )
    store.execute("UPDATE sends SET state = 'delivered', sent_at = ?, delivered_at = ?", (T0 + 3600, T0 + 3700))
    store.executemany(
        "INSERT INTO conversions (order_id, customer_id, at, amount) VALUES (?, ?, ?, 25.0)",
        [(f"o{cid}", cid, T0 + 7200) for cid, _, converted in rows if converted],
    )
    return store
