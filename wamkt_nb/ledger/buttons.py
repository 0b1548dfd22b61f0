"""Which buttons customers tapped in reply to a campaign's messages: taps counted per button.

A tap is an inbound message of type ``button`` (a template's quick reply) or ``interactive`` (a
reply button) whose ``context_wamid`` is the wamid of one of the campaign's sends. The button is
told by its payload (set by the business in the send, else Meta returns the label) and shown by
its label.
"""

from __future__ import annotations

from typing import Any

from ..store import Store

TAP_COLUMNS = ("campaign_id", "payload", "label", "taps", "customers", "first_tap_at", "last_tap_at")

_SQL = """
SELECT s.campaign_id, COALESCE(i.payload, i.text) AS payload, MIN(i.text) AS label,
       COUNT(*) AS taps, COUNT(DISTINCT i.phone) AS customers,
       MIN(i.timestamp) AS first_tap_at, MAX(i.timestamp) AS last_tap_at
FROM inbound_messages i
JOIN sends s ON s.wamid = i.context_wamid
WHERE i.type IN ('button', 'interactive') {where}
GROUP BY s.campaign_id, COALESCE(i.payload, i.text)
ORDER BY s.campaign_id, COUNT(*) DESC, COALESCE(i.payload, i.text)
"""


def button_tap_rows(store: Store, campaign_id: str | None = None) -> list[tuple[Any, ...]]:
    """One row per (campaign, button payload): :data:`TAP_COLUMNS`; one campaign or all."""
    if campaign_id is None:
        return store.query_tuples(_SQL.format(where=""))
    return store.query_tuples(_SQL.format(where="AND s.campaign_id = ?"), (campaign_id,))
