"""Meta's documented BSUID webhook examples, field by field, as fixtures for the conformance and
identity tests (each names its source in docs/cloud-api.md)."""

from __future__ import annotations

BSUID = "US.13491208655302741918"
PARENT = "US.ENT.11815799212886844830"
NEW_BSUID = "US.24817305912873645029"
META = {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"}


def _envelope(field: str, value: dict) -> dict:
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"value": value, "field": field}]}],
    }


# Incoming message from a user who adopted a username and whose phone Meta left out:
# contacts[].user_id / parent_user_id / profile.username, messages[].from_user_id / from_parent_user_id,
# no wa_id, no from (Dualhook "BSUID webhook changes"; pywa pywa/types/user.py).
INCOMING_USERNAME_ONLY = _envelope(
    "messages",
    {
        "messaging_product": "whatsapp",
        "metadata": META,
        "contacts": [
            {
                "profile": {"name": "Sheena Nelson", "username": "@sheena.nelson"},
                "user_id": BSUID,
                "parent_user_id": PARENT,
            }
        ],
        "messages": [
            {
                "from_user_id": BSUID,
                "from_parent_user_id": PARENT,
                "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
                "timestamp": "1744344496",
                "type": "text",
                "text": {"body": "Does it come in another color?"},
            }
        ],
    },
)

# The same user while Meta still shares the phone: every identifier present.
INCOMING_BOTH = _envelope(
    "messages",
    {
        "messaging_product": "whatsapp",
        "metadata": META,
        "contacts": [
            {
                "profile": {"name": "Sheena Nelson", "username": "@sheena.nelson"},
                "wa_id": "16505551234",
                "user_id": BSUID,
                "parent_user_id": PARENT,
            }
        ],
        "messages": [
            {
                "from": "16505551234",
                "from_user_id": BSUID,
                "from_parent_user_id": PARENT,
                "id": "wamid.both1",
                "timestamp": "1744344497",
                "type": "text",
                "text": {"body": "STOP"},
            }
        ],
    },
)

# A delivered status of a message sent to a BSUID (Dualhook; whatsapp-api-js ServerStatusPayload):
# recipient_user_id, recipient_parent_user_id and a contacts[] array with the username; no phone.
STATUS_DELIVERED_TO_BSUID = _envelope(
    "messages",
    {
        "messaging_product": "whatsapp",
        "metadata": META,
        "contacts": [{"profile": {"username": "@sheena.nelson"}, "user_id": BSUID, "parent_user_id": PARENT}],
        "statuses": [
            {
                "id": "wamid.out1",
                "status": "delivered",
                "timestamp": "1750263773",
                "recipient_user_id": BSUID,
                "recipient_parent_user_id": PARENT,
                "biz_opaque_callback_data": "cmp42:17",
                "pricing": {"billable": True, "pricing_model": "PMP", "type": "regular", "category": "marketing"},
            }
        ],
    },
)

# A failed status of a message sent to a phone: no contacts[], no recipient_user_id (Dualhook).
STATUS_FAILED_TO_PHONE = _envelope(
    "messages",
    {
        "messaging_product": "whatsapp",
        "metadata": META,
        "statuses": [
            {
                "id": "wamid.out2",
                "status": "failed",
                "timestamp": "1750263774",
                "recipient_id": "16505551234",
                "errors": [{"code": 131026, "title": "Message undeliverable"}],
            }
        ],
    },
)

# user_preferences from a username user (Dualhook; pywa pywa/types/user_preferences.py reads contacts[0]).
PREFERENCE_STOP = _envelope(
    "user_preferences",
    {
        "messaging_product": "whatsapp",
        "metadata": META,
        "contacts": [{"profile": {"name": "Sheena Nelson", "username": "@sheena.nelson"}, "user_id": BSUID}],
        "user_preferences": [
            {
                "user_id": BSUID,
                "detail": "User requested to stop marketing messages",
                "category": "marketing_messages",
                "value": "stop",
                "timestamp": 1731705721,
            }
        ],
    },
)

# user_id_update: the BSUID changed (Dualhook names the field; shape of a public example file).
USER_ID_UPDATE = _envelope(
    "user_id_update",
    {
        "messaging_product": "whatsapp",
        "metadata": META,
        "contacts": [{"profile": {"name": "Test User"}, "wa_id": "15557654321"}],
        "user_id_update": [
            {
                "wa_id": "15557654321",
                "detail": "User id for Test User has been updated.",
                "user_id": {"previous": BSUID, "current": NEW_BSUID},
                "timestamp": "1700000003",
            }
        ],
    },
)

# System messages (Meta's "System messages webhook reference"; pywa pywa/types/system.py): no contacts[].
SYSTEM_CHANGED_USER_ID = _envelope(
    "messages",
    {
        "messaging_product": "whatsapp",
        "metadata": META,
        "messages": [
            {
                "id": "wamid.sys1",
                "timestamp": "1700000002",
                "type": "system",
                "system": {
                    "body": f"User Test User changed from {BSUID} to {NEW_BSUID}",
                    "user_id": NEW_BSUID,
                    "type": "user_changed_user_id",
                },
            }
        ],
    },
)
SYSTEM_CHANGED_NUMBER = _envelope(
    "messages",
    {
        "messaging_product": "whatsapp",
        "metadata": META,
        "messages": [
            {
                "from": "15551234567",
                "id": "wamid.sys2",
                "timestamp": "1700000001",
                "type": "system",
                "system": {
                    "body": "User Test User changed from 15551234567 to 15557654321",
                    "wa_id": "15557654321",
                    "user_id": NEW_BSUID,
                    "parent_user_id": PARENT,
                    "type": "user_changed_number",
                },
            }
        ],
    },
)
