"""The words of Meta's webhook bodies that the receiver's fuzz tests draw their bodies from: the keys of
a message or status item, of a change's ``value``, and the change fields. The tests build their own
Hypothesis strategies of them (plain JSON, or JSON with poison values a store refuses)."""

from __future__ import annotations

ITEM_KEYS = [
    "from",
    "id",
    "timestamp",
    "type",
    "text",
    "context",
    "interactive",
    "button",
    "status",
    "errors",
    "pricing",
    "wa_id",
    "value",
    "category",
    "biz_opaque_callback_data",
]
"""Keys of an item of ``messages``/``statuses``/``user_preferences``."""

ERROR_KEYS = ["code", "title", "body", "recipient_id"]
"""Keys of the parts nested in an item (an error's ``code`` and ``title``, a text's ``body``, a status's
``recipient_id``)."""

VALUE_KEYS = ["messages", "statuses", "contacts", "user_preferences", "metadata", "event"]
"""Keys of a change's ``value``."""

TEMPLATE_VALUE_KEYS = ["message_template_id", "message_template_name"]
"""Keys of a template status update's ``value``."""

FIELDS = ["messages", "user_preferences", "message_template_status_update", "other"]
"""A change's ``field``: the three the receiver handles and one it ignores."""
