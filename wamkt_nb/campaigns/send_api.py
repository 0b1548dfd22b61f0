"""Which of Meta's endpoints sends a campaign: Cloud API ``/messages`` or the Marketing Messages API.

``POST /{phone_number_id}/marketing_messages`` takes the same body as ``/messages`` but only
marketing templates (Meta answers 131055 for any other template); Meta steers marketing senders to
it (delivery optimisation, time-to-live for marketing templates, marketing insights). The choice is
stored with the campaign (``spec_json`` ``$.api``) and each ledger row records the endpoint that
sent it (``sends.api``), so analytics can compare the two (``funnel(enriched, by=["api"])``).
See docs/cloud-api.md.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from ..errors import WamktError
from ..ledger.campaigns import spec_of, update_spec
from ..store import Store

MESSAGES = "messages"
MARKETING_MESSAGES = "marketing_messages"
SEND_APIS = (MESSAGES, MARKETING_MESSAGES)


class SendApiError(WamktError, ValueError):
    """An endpoint that does not exist, or cannot send this campaign's category."""


def check_api(api: str, category: str) -> str:
    """``api`` when it can send a campaign of ``category``; a clear error otherwise."""
    if api not in SEND_APIS:
        raise SendApiError(f"api must be one of {', '.join(SEND_APIS)}, not {api!r}")
    if api == MARKETING_MESSAGES and category != "marketing":
        raise SendApiError(f"the Marketing Messages API sends marketing templates only; this campaign is {category}")
    return api


def set_campaign_api(store: Store, campaign_id: str, api: str) -> None:
    """Send ``campaign_id`` through ``api`` from now on (rows already sent keep the API they went by)."""
    update_spec(store, campaign_id, lambda spec, category: {**spec, "api": check_api(api, category)})


def campaign_api(info: dict[str, Any]) -> str:
    """The endpoint the campaign (a ``campaigns`` row) is sent through; ``messages`` unless chosen."""
    return spec_of(info.get("spec_json")).get("api") or MESSAGES


def send_function(client: Any, api: str) -> Callable[[str, dict[str, Any]], Awaitable[Any]]:
    """The client's coroutine that posts one message to ``api``."""
    return client.send_marketing_message if api == MARKETING_MESSAGES else client.send_message
