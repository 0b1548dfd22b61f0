"""Every SQL statement on the ``campaigns`` table: create (with its ledger rows), read, update.

A campaign is written with one ``sends`` row per recipient in one transaction, before any request
is made, so a crash loses nobody.
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from collections.abc import Callable, Iterable
from typing import Any

import orjson
import pandas as pd

from ..bsuid import is_any_bsuid
from ..links import save_links
from ..store import Store
from .errors import LedgerError
from .states import HOLDOUT

PLAN_COLUMNS = (
    "customer_id",
    "phone",
    "outcome",
    "reason",
    "category",
    "message_type",
    "body",
    "payload",
    "planned_at",
)
CATEGORIES = ("marketing", "utility", "authentication", "service")


def recipient_key(campaign_id: str, customer_id: str) -> str:
    """The ledger key that travels in ``biz_opaque_callback_data``."""
    return f"{campaign_id}:{customer_id}"


def new_campaign_id(now: float) -> str:
    """A readable, unique campaign id such as ``cmp-20260525-1012-3fa9``."""
    stamp = time.strftime("%Y%m%d-%H%M", time.gmtime(now))
    return f"cmp-{stamp}-{secrets.token_hex(2)}"


def to_epoch(value: Any, default: float) -> float:
    """Epoch seconds from a timestamp, ISO text or number (naive means UTC); ``default`` when empty."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return default
    if isinstance(value, (int, float)):
        return float(value)
    ts = pd.Timestamp(value)
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return ts.timestamp()


def _validate_plan(plan: pd.DataFrame) -> None:
    missing = [c for c in PLAN_COLUMNS if c not in plan.columns]
    if missing:
        raise LedgerError(f"campaign plan lacks column(s): {', '.join(missing)}")
    dup = plan["customer_id"].astype(str).duplicated(keep=False)
    if dup.any():
        ids = sorted(set(plan.loc[dup, "customer_id"].astype(str)))[:5]
        raise LedgerError(f"campaign plan lists customer(s) more than once: {', '.join(ids)}")
    bad_outcome = ~plan["outcome"].isin(["send", "excluded", "later"])
    if bad_outcome.any():
        row = plan.index[bad_outcome][0]
        raise LedgerError(f"plan row {row}: outcome must be send, excluded or later, not {plan.at[row, 'outcome']!r}")
    bad_cat = ~plan["category"].isin(CATEGORIES)
    if bad_cat.any():
        row = plan.index[bad_cat][0]
        raise LedgerError(f"plan row {row}: unknown category {plan.at[row, 'category']!r}")
    for row, cid, phone, outcome, payload in zip(
        plan.index, plan["customer_id"], plan["phone"], plan["outcome"], plan["payload"], strict=True
    ):
        if ":" in str(cid):
            raise LedgerError(f"plan row {row}: customer_id {cid!r} may not contain ':'")
        if not (isinstance(phone, str) and (phone.startswith("+") and phone[1:].isdigit() or is_any_bsuid(phone))):
            raise LedgerError(f"plan row {row}: phone of customer {cid!r} is neither E.164 (+digits) nor a BSUID")
        if outcome != "excluded" and not isinstance(payload, dict):
            raise LedgerError(f"plan row {row}: payload of customer {cid!r} must be a dict")


def create_campaign(
    store: Store,
    plan: pd.DataFrame,
    *,
    name: str,
    now: float,
    campaign_id: str | None = None,
    segment_name: str | None = None,
    experiment_key: str | None = None,
    spec: dict[str, Any] | None = None,
) -> str:
    """Write the campaign and one ledger row per plan row (``send``/``later`` → planned, else excluded).

    Nothing is sent here; the rows exist before any request, so a crash loses nobody.
    """
    _validate_plan(plan)
    categories = set(plan["category"])
    if len(categories) != 1:
        raise LedgerError(f"a campaign has one category, the plan mixes {sorted(categories)}")
    campaign_id = campaign_id or new_campaign_id(now)
    if ":" in campaign_id or not campaign_id.strip():
        raise LedgerError(f"campaign id {campaign_id!r} must be non-empty and contain no ':'")
    arms = plan["arm"] if "arm" in plan.columns else pd.Series([None] * len(plan), index=plan.index)
    zones = plan["timezone"] if "timezone" in plan.columns else pd.Series([None] * len(plan), index=plan.index)
    policy = plan.attrs.get("policy")  # the dry run's compliance policy, kept for the sender
    if dataclasses.is_dataclass(policy) and not isinstance(policy, type):
        spec = {**(spec or {}), "policy": dataclasses.asdict(policy)}
    rows = []
    for cid, phone, outcome, reason, mtype, body, payload, planned_at, arm, zone in zip(
        plan["customer_id"].astype(str),
        plan["phone"],
        plan["outcome"],
        plan["reason"],
        plan["message_type"],
        plan["body"],
        plan["payload"],
        plan["planned_at"],
        arms,
        zones,
        strict=True,
    ):
        key = recipient_key(campaign_id, cid)
        arm = arm if isinstance(arm, str) and arm else None
        excluded = outcome == "excluded" or arm == HOLDOUT
        state = "excluded" if excluded else "planned"
        why = (reason or "excluded") if outcome == "excluded" else (HOLDOUT if excluded else None)
        body_json = None
        if isinstance(payload, dict):
            body_json = orjson.dumps({**payload, "biz_opaque_callback_data": key}).decode()
        rows.append(
            (
                campaign_id,
                key,
                cid,
                phone,
                arm,
                state,
                why,
                mtype,
                body,
                body_json,
                to_epoch(planned_at, now),
                zone if isinstance(zone, str) and zone else None,
                now,
            )
        )
    with store.transaction() as conn:
        if conn.execute("SELECT 1 FROM campaigns WHERE campaign_id = ?", (campaign_id,)).fetchone():
            raise LedgerError(f"campaign {campaign_id!r} already exists")
        conn.execute(
            "INSERT INTO campaigns (campaign_id, name, category, status, created_at, segment_name,"
            " experiment_key, spec_json) VALUES (?, ?, ?, 'planned', ?, ?, ?, ?)",
            (campaign_id, name, categories.pop(), now, segment_name, experiment_key, orjson.dumps(spec or {}).decode()),
        )
        conn.executemany(
            "INSERT INTO sends (campaign_id, recipient_key, customer_id, phone, arm, state, reason,"
            " message_type, body, payload_json, planned_at, timezone, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        save_links(conn, plan, campaign_id=campaign_id, name=name, now=now)  # the plan's tracked links, if any
    return campaign_id


def campaign_info(store: Store, campaign_id: str) -> dict[str, Any]:
    """The campaign row as a dict; a clear error when there is no such campaign."""
    info = find_campaign(store, campaign_id)
    if info is None:
        known = [r[0] for r in store.query("SELECT campaign_id FROM campaigns ORDER BY created_at DESC LIMIT 5")]
        raise LedgerError(f"no campaign {campaign_id!r}; recent: {', '.join(known) or 'none'}")
    return info


def set_campaign_status(store: Store, campaign_id: str, status: str, now: float) -> None:
    """Move the campaign to ``running``/``paused``/``cancelled``/``complete`` (stamping start/finish)."""
    with store.transaction() as conn:
        conn.execute(
            "UPDATE campaigns SET status = ?,"
            " started_at = CASE WHEN ? = 'running' THEN COALESCE(started_at, ?) ELSE started_at END,"
            " finished_at = CASE WHEN ? IN ('complete', 'cancelled') THEN ? ELSE finished_at END"
            " WHERE campaign_id = ?",
            (status, status, now, status, now, campaign_id),
        )


def find_campaign(store: Store, campaign_id: str) -> dict[str, Any] | None:
    """The campaign row as a dict, or None when there is no such campaign."""
    row = store.query("SELECT * FROM campaigns WHERE campaign_id = ?", (campaign_id,))
    return dict(row[0]) if row else None


def spec_of(spec_json: str | None) -> dict[str, Any]:
    """A campaign's stored spec (``campaigns.spec_json``) as a dict; ``{}`` when empty or unreadable."""
    try:
        spec = orjson.loads(spec_json or "{}")
    except orjson.JSONDecodeError:
        return {}
    return spec if isinstance(spec, dict) else {}


def update_spec(store: Store, campaign_id: str, change: Callable[[dict[str, Any], str], dict[str, Any]]) -> None:
    """Replace the campaign's spec by ``change(spec, category)``, read and written in one transaction
    (``change`` may raise to refuse); KeyError when there is no such campaign."""
    with store.transaction() as conn:
        row = conn.execute("SELECT spec_json, category FROM campaigns WHERE campaign_id = ?", (campaign_id,)).fetchone()
        if row is None:
            raise KeyError(f"no campaign {campaign_id!r}")
        spec = change(orjson.loads(row[0] or "{}"), row[1])
        conn.execute(
            "UPDATE campaigns SET spec_json = ? WHERE campaign_id = ?", (orjson.dumps(spec).decode(), campaign_id)
        )


def campaign_names(store: Store) -> list[tuple[str, str]]:
    """``(campaign_id, name)`` of every campaign, newest first."""
    return [
        (r[0], r[1])
        for r in store.query("SELECT campaign_id, name FROM campaigns ORDER BY created_at DESC, campaign_id")
    ]


def campaign_over(store: Store, campaign_id: str) -> bool:
    """Whether no more recipients can join: the campaign is complete or cancelled and none of its
    rows is still planned or in flight."""
    rows = store.query(
        "SELECT status IN ('complete', 'cancelled') AND NOT EXISTS ("
        " SELECT 1 FROM sends s WHERE s.campaign_id = c.campaign_id AND s.state IN ('planned', 'in_flight'))"
        " FROM campaigns c WHERE campaign_id = ?",
        (campaign_id,),
    )
    return bool(rows and rows[0][0])


IMPORT_COLUMNS = ("campaign_id", "name", "category", "status", "created_at", "segment_name")
"""The columns :func:`import_campaigns` writes."""


def import_campaigns(store: Store, rows: Iterable[tuple[Any, ...]]) -> None:
    """Write finished campaigns in bulk (``IMPORT_COLUMNS`` order), e.g. a synthetic history."""
    with store.transaction() as conn:
        conn.executemany(
            f"INSERT INTO campaigns ({', '.join(IMPORT_COLUMNS)}) VALUES ({', '.join('?' * len(IMPORT_COLUMNS))})", rows
        )


def discard_unsent(store: Store, campaign_id: str) -> None:
    """Remove a campaign that was planned but never started (a dry run repeated under the same name).

    A campaign that started sending keeps its rows: they are the record of what was sent."""
    with store.transaction() as conn:
        row = conn.execute("SELECT started_at FROM campaigns WHERE campaign_id = ?", (campaign_id,)).fetchone()
        if row is None:
            return
        if row[0] is not None:
            raise LedgerError(f"campaign {campaign_id!r} was started: resume it, or use a new name")
        conn.execute("DELETE FROM sends WHERE campaign_id = ?", (campaign_id,))
        conn.execute("DELETE FROM campaigns WHERE campaign_id = ?", (campaign_id,))


def last_recorded(store: Store) -> float | None:
    """The latest time the ledger recorded (a campaign created, a row changed); None when empty."""
    row = store.query(
        "SELECT MAX(t) FROM (SELECT MAX(created_at) AS t FROM campaigns"
        " UNION ALL SELECT MAX(updated_at) FROM sends) AS times"
    )
    latest: float | None = row[0][0]
    return latest
