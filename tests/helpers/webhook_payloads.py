"""Webhook bodies shaped exactly like the contract's examples, and signing, for the receiver tests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from wamkt_nb.cloudapi import SendResult
from wamkt_nb.serving.service import build_service
from wamkt_nb.store import open_store
from wamkt_nb.webhooks.server import BackgroundServer
from wamkt_nb.webhooks.signature import sign_body

APP_SECRET = "test-app-secret"
VERIFY_TOKEN = "test-verify-token"
PHONE_NUMBER_ID = "106540352242922"


def envelope(field: str, value: dict, time: int | None = None) -> dict:
    entry = {"id": "WABA1", "changes": [{"field": field, "value": value}]}
    if time is not None:
        entry["time"] = time
    return {"object": "whatsapp_business_account", "entry": [entry]}


def _meta() -> dict:
    return {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "4930123456", "phone_number_id": PHONE_NUMBER_ID},
    }


def inbound(
    wa_id: str = "4915112345678",
    text: str = "Rabatt",
    wamid: str = "wamid.in1",
    ts: float = 1749416383,
    name: str = "Anna Schmidt",
    **message: object,
) -> dict:
    msg = {"from": wa_id, "id": wamid, "timestamp": str(int(ts)), "type": "text", "text": {"body": text}}
    msg.update(message)
    return envelope(
        "messages", {**_meta(), "contacts": [{"profile": {"name": name}, "wa_id": wa_id}], "messages": [msg]}
    )


def status(
    wamid: str,
    status: str,
    ts: float = 1750030073,
    callback: str | None = "cmp42:17",
    recipient: str = "4915112345678",
    errors: list | None = None,
    category: str = "marketing",
) -> dict:
    item = {
        "id": wamid,
        "status": status,
        "timestamp": str(int(ts)),
        "recipient_id": recipient,
        "pricing": {"billable": True, "pricing_model": "PMP", "type": "regular", "category": category},
    }
    if callback is not None:
        item["biz_opaque_callback_data"] = callback
    if errors:
        item["errors"] = errors
    return envelope("messages", {**_meta(), "statuses": [item]})


def preference(wa_id: str, value: str, ts: float = 1750000000) -> dict:
    return envelope(
        "user_preferences",
        {
            **_meta(),
            "contacts": [{"wa_id": wa_id, "profile": {"name": "X"}}],
            "user_preferences": [
                {
                    "wa_id": wa_id,
                    "detail": "User requested",
                    "category": "marketing_messages",
                    "value": value,
                    "timestamp": int(ts),
                }
            ],
        },
    )


def template_update(
    event: str = "APPROVED", name: str = "order_shipped", reason: str = "NONE", time: int | None = None
) -> dict:
    return envelope(
        "message_template_status_update",
        {
            "event": event,
            "message_template_id": 594425479261596,
            "message_template_name": name,
            "message_template_language": "de",
            "reason": reason,
        },
        time,
    )


def template_quality_update(
    new: str = "RED", previous: str = "GREEN", name: str = "order_shipped", time: int | None = None
) -> dict:
    """Meta's documented message_template_quality_update shape."""
    return envelope(
        "message_template_quality_update",
        {
            "previous_quality_score": previous,
            "new_quality_score": new,
            "message_template_id": 594425479261596,
            "message_template_name": name,
            "message_template_language": "de",
        },
        time,
    )


def signed(payload: dict | bytes, secret: str = APP_SECRET) -> tuple[bytes, dict[str, str]]:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return body, {"X-Hub-Signature-256": sign_body(body, secret), "Content-Type": "application/json"}


class RecordingSender:
    """Stands in for the Cloud API where only our side is under test: keeps what it was asked to send."""

    def __init__(self, fail_with: Exception | None = None):
        self.sent: list[tuple[str, dict]] = []
        self.fail_with = fail_with

    async def send_message(self, phone_number_id: str, payload: dict):
        if self.fail_with is not None:
            raise self.fail_with
        self.sent.append((phone_number_id, payload))
        return SendResult(wamid=f"wamid.reply{len(self.sent)}", wa_id=payload["to"].lstrip("+"), input=payload["to"])


@contextmanager
def receiver_client(db: str | Path, **options: Any) -> Iterator[httpx.Client]:
    """An HTTP client for a receiver served on 127.0.0.1 (``client.store`` is its store); ``options`` go to
    ``build_service``."""
    store = open_store(db)
    service = build_service(store, RecordingSender(), app_secret=APP_SECRET, verify_token=VERIFY_TOKEN, **options)
    with BackgroundServer(service.asgi_app()) as srv, httpx.Client(base_url=srv.url, timeout=10) as client:
        client.store = store
        yield client
    store.close()
