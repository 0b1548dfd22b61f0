"""Messages Meta held back (131049, per-user marketing limit): not our failure, a distinct outcome.

Meta does not deliver a marketing template to a customer who got too many marketing messages
recently (from any business) and advises retrying no sooner than 24 h later (docs/cloud-api.md).
A campaign may opt in to one automatic retry (:func:`set_held_retry`); the webhook ledger then
records ``retry_after`` when the hold arrives, and :func:`due_held_retries` lists the rows a worker
may resend. :func:`held_customers` is the retargeting list.
"""

from __future__ import annotations

import orjson
import pandas as pd

from ..compliance.reservation import HELD_BY_META
from ..store import Store

_HELD = f"state = 'failed' AND error_code = {HELD_BY_META}"


def set_held_retry(store: Store, campaign_id: str, enabled: bool = True) -> None:
    """Opt ``campaign_id`` in (or out) of one automatic retry of its held messages, 24 h later."""
    with store.transaction() as conn:
        row = conn.execute("SELECT spec_json FROM campaigns WHERE campaign_id = ?", (campaign_id,)).fetchone()
        if row is None:
            raise KeyError(f"no campaign {campaign_id!r}")
        spec = orjson.loads(row[0] or "{}")
        spec["retry_held_by_meta"] = bool(enabled)
        conn.execute("UPDATE campaigns SET spec_json = ? WHERE campaign_id = ?",
                     (orjson.dumps(spec).decode(), campaign_id))


def held_customers(store: Store, campaign_id: str | None = None) -> list[str]:
    """Ids of the customers whose message Meta held back (all campaigns, or one), for retargeting."""
    sql = f"SELECT DISTINCT customer_id FROM sends WHERE {_HELD}"
    params: tuple = ()
    if campaign_id is not None:
        sql += " AND campaign_id = ?"
        params = (campaign_id,)
    return [r[0] for r in store.query(sql + " ORDER BY customer_id", params)]


def due_held_retries(store: Store, now: float) -> pd.DataFrame:
    """Held rows whose scheduled retry time has passed: what a retry worker may resend now
    (each still goes through the 24 h marketing cap when it is sent)."""
    return store.read_frame(
        f"SELECT send_id, campaign_id, recipient_key, customer_id, phone, retry_after FROM sends"
        f" WHERE {_HELD} AND retry_after IS NOT NULL AND retry_after <= ? ORDER BY retry_after", (now,))


def held_count(store: Store, campaign_id: str) -> int:
    """How many of ``campaign_id``'s messages Meta held back."""
    return int(store.query(f"SELECT COUNT(*) FROM sends WHERE campaign_id = ? AND {_HELD}", (campaign_id,))[0][0])
