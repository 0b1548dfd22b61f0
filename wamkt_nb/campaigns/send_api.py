"""Which of Meta's endpoints sends a campaign: Cloud API ``/messages`` or the Marketing Messages API.

``POST /{phone_number_id}/marketing_messages`` takes the same body as ``/messages`` but only
marketing templates (Meta answers 131055 for any other template); Meta steers marketing senders to
it (delivery optimisation, time-to-live for marketing templates, marketing insights). The choice is
stored with the campaign (``spec_json`` ``$.api``) and each ledger row records the endpoint that
sent it (``sends.api``), so analytics can compare the two (``funnel(enriched, by=["api"])``).
See docs/cloud-api.md.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

import orjson

from ..store import Store

MESSAGES = "messages"
MARKETING_MESSAGES = "marketing_messages"
SEND_APIS = (MESSAGES, MARKETING_MESSAGES)


def check_api(api: str, category: str) -> str:
    """``api`` when it can send a campaign of ``category``; a clear error otherwise."""
    if api not in SEND_APIS:
        raise ValueError(f"api must be one of {', '.join(SEND_APIS)}, not {api!r}")
    if api == MARKETING_MESSAGES and category != "marketing":
        raise ValueError(f"the Marketing Messages API sends marketing templates only; this campaign is {category}")
    return api


def set_campaign_api(store: Store, campaign_id: str, api: str) -> None:
    """Send ``campaign_id`` through ``api`` from now on (rows already sent keep the API they went by)."""
    with store.transaction() as conn:
        row = conn.execute("SELECT spec_json, category FROM campaigns WHERE campaign_id = ?",
                           (campaign_id,)).fetchone()
        if row is None:
            raise KeyError(f"no campaign {campaign_id!r}")
        spec = orjson.loads(row[0] or "{}")
        spec["api"] = check_api(api, row[1])
        conn.execute("UPDATE campaigns SET spec_json = ? WHERE campaign_id = ?",
                     (orjson.dumps(spec).decode(), campaign_id))


def campaign_api(info: dict[str, Any]) -> str:
    """The endpoint the campaign (a ``campaigns`` row) is sent through; ``messages`` unless chosen."""
    return orjson.loads(info.get("spec_json") or "{}").get("api") or MESSAGES


def send_function(client: Any, api: str) -> Callable[[str, dict[str, Any]], Awaitable[Any]]:
    """The client's coroutine that posts one message to ``api``."""
    return client.send_marketing_message if api == MARKETING_MESSAGES else client.send_message
