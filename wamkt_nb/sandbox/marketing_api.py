"""Meta's Marketing Messages API in the sandbox: ``POST /{phone_number_id}/marketing_messages``.

Same body as ``/messages`` plus the optional ``product_policy`` and ``message_activity_sharing``;
only marketing templates are accepted (a non-template is answered 100 "Message must be a template
message.", a utility or authentication template 131055 "Method not allowed"), and status webhooks
carry ``pricing.category = "marketing_lite"``. The sandbox account counts as onboarded, so nothing
falls back to Cloud API. Sources in docs/cloud-api.md.
"""

from __future__ import annotations

from typing import Any

from ..cloudapi.client import PRODUCT_POLICIES
from .errors import SandboxError, invalid_param
from .validate import Outgoing

ENDPOINT = "marketing_messages"
LITE_CATEGORY = "marketing_lite"


def check_marketing_send(body: dict[str, Any], msg: Outgoing) -> None:
    """Refuse what the Marketing Messages API refuses (after the body passed the ``/messages`` checks)."""
    policy = body.get("product_policy")
    if policy is not None and policy not in PRODUCT_POLICIES:
        raise invalid_param(f"Param product_policy must be one of {', '.join(PRODUCT_POLICIES)}")
    sharing = body.get("message_activity_sharing")
    if sharing is not None and not isinstance(sharing, bool):
        raise invalid_param("Param message_activity_sharing must be a boolean")
    if not msg.is_template:
        raise SandboxError(100, "Message must be a template message.")
    if msg.category != "marketing":
        raise SandboxError(131055, "Only marketing template messages are supported")


def lite_pricing(pricing: dict[str, Any]) -> dict[str, Any]:
    """The pricing block of a message sent through the Marketing Messages API."""
    return {**pricing, "category": LITE_CATEGORY}
