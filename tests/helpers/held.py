"""A held-by-Meta (131049) ledger for the held-message tests: campaigns written straight into the
ledger and signed status webhooks posted to a receiver."""

from __future__ import annotations

import pandas as pd

from helpers.webhook_payloads import signed

DAY = 86_400.0
START = pd.Timestamp("2026-11-20 09:00", tz="UTC").timestamp()
HOLD = [
    {
        "code": 131049,
        "title": "This message was not delivered to maintain healthy ecosystem engagement.",
        "error_data": {
            "details": "In order to maintain a healthy ecosystem engagement, the message failed to be delivered."
        },
    }
]


def add_campaign(store, campaign_id, rows):
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO campaigns (campaign_id, name, category, created_at) VALUES (?, ?, 'marketing', 0)",
            (campaign_id, campaign_id),
        )
        for i, (wamid, phone) in enumerate(rows):
            conn.execute(
                "INSERT INTO sends (campaign_id, recipient_key, customer_id, phone, state, wamid,"
                " accepted_at, updated_at) VALUES (?, ?, ?, ?, 'accepted', ?, ?, 0)",
                (campaign_id, f"{campaign_id}:{i}", f"C{campaign_id}{i}", phone, wamid, START),
            )


def post(receiver, payload):
    body, headers = signed(payload)
    assert receiver.receive(body, headers["X-Hub-Signature-256"]).status == 200
