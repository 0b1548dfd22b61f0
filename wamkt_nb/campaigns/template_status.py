"""Whether Meta currently lets a template be sent, from the recorded ``message_template_status_update``s.

Meta pauses a template that reaches low quality (3 h, then 6 h, then disables it) and asks senders
to halt the campaigns that use it until the status is back to ``APPROVED`` (docs/cloud-api.md).
The sender reads this before and while it sends, and resumes a campaign on its own when Meta
lifts the pause.
"""

from __future__ import annotations

from ..store import Store

BLOCKING_EVENTS = ("PAUSED", "DISABLED")
TEMPLATE_PAUSED = 132015
TEMPLATE_DISABLED = 132016


def template_block(store: Store, name: str, language: str) -> str | None:
    """``PAUSED`` or ``DISABLED`` when the latest status webhook for the template says so, else None."""
    rows = store.query(
        "SELECT event FROM template_status_events WHERE name = ? AND language = ?"
        " ORDER BY COALESCE(event_at, received_at) DESC, event_id DESC LIMIT 1",
        (name, language),
    )
    event = rows[0][0] if rows else None
    return event if event in BLOCKING_EVENTS else None


def template_of(payload: dict) -> tuple[str, str] | None:
    """``(name, language)`` of a template send's request body, None for other messages."""
    template = payload.get("template") if payload.get("type") == "template" else None
    if not isinstance(template, dict):
        return None
    language = template.get("language")
    code = language.get("code") if isinstance(language, dict) else None
    name = template.get("name")
    return (name, code) if isinstance(name, str) and isinstance(code, str) else None
