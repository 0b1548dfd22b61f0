"""Write one webhook batch to the store in a single transaction, deduplicated.

Inbound messages are keyed by wamid, statuses by (wamid, status): a redelivered payload records
nothing new and triggers nothing twice.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import dataclass, field
from typing import Protocol

from ..store import Store
from .consent import message_consent, record_consent
from .ledger import apply_status
from .updates import InboundMessage, WebhookBatch
from .windows import open_window

log = logging.getLogger("wamkt_nb.webhooks")


class InboundHandler(Protocol):
    """Reacts to new inbound messages: ``record`` inside the receiver's transaction, ``dispatch`` after."""

    def record(self, conn: sqlite3.Connection, messages: list[InboundMessage], received_at: float) -> list[int]: ...

    def dispatch(self, job_ids: list[int], started: float) -> None:
        """Start the queued jobs without blocking; ``started`` is ``time.perf_counter()`` at receipt."""


@dataclass
class RecordResult:
    """What a batch changed: new items, duplicates ignored, ledger rows moved, rejects kept."""

    inbound: list[InboundMessage] = field(default_factory=list)
    statuses: int = 0
    ledger_moved: int = 0
    preferences: int = 0
    templates: int = 0
    duplicates: int = 0
    rejects: int = 0
    jobs: list[int] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "inbound": len(self.inbound), "statuses": self.statuses, "ledger_moved": self.ledger_moved,
            "preferences": self.preferences, "templates": self.templates,
            "duplicates": self.duplicates, "rejects": self.rejects,
        }


def _json(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=str)


def record_batch(
    store: Store, batch: WebhookBatch, received_at: float, handler: InboundHandler | None = None
) -> RecordResult:
    """Record every update of ``batch`` durably; the handler queues its work in the same transaction."""
    result = RecordResult()
    with store.transaction() as conn:
        for msg in batch.inbound:
            cur = conn.execute(
                "INSERT OR IGNORE INTO inbound_messages (wamid, wa_id, phone, profile_name, type, text,"
                " context_wamid, timestamp, payload_json, received_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (msg.wamid, msg.wa_id, msg.phone, msg.profile_name, msg.type, msg.text,
                 msg.context_wamid, msg.timestamp, _json(msg.raw), received_at),
            )
            if cur.rowcount == 0:
                result.duplicates += 1
                continue
            result.inbound.append(msg)
            open_window(conn, msg.phone, msg.timestamp)
            choice = message_consent(msg.meanings)
            if choice is not None:
                record_consent(conn, msg.phone, choice, msg.timestamp, "keyword")
        for st in batch.statuses:
            cur = conn.execute(
                "INSERT OR IGNORE INTO status_events (wamid, status, timestamp, recipient_id, callback_data,"
                " error_code, pricing_category, billable, payload_json, received_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (st.wamid, st.status, st.timestamp, st.recipient_id, st.callback_data, st.error_code,
                 st.pricing_category, None if st.billable is None else int(st.billable), _json(st.raw), received_at),
            )
            if cur.rowcount == 0:
                result.duplicates += 1
                continue
            result.statuses += 1
            result.ledger_moved += apply_status(conn, st, received_at)
        for pref in batch.preferences:
            if pref.category == "marketing_messages":
                result.preferences += record_consent(
                    conn, pref.phone, pref.value == "resume", pref.timestamp, "user_preferences"
                )
        template_rows = [("template_status_events", ("event", "reason"), tpl) for tpl in batch.templates]
        template_rows += [("template_quality_events", ("previous_score", "new_score"), q) for q in batch.qualities]
        for table, own, event in template_rows:
            values = [getattr(event, column) for column in own]  # the columns are named like the fields
            cur = conn.execute(
                f"INSERT OR IGNORE INTO {table} (template_id, name, language, {', '.join(own)}, event_key, event_at,"
                " payload_json, received_at) VALUES (?,?,?,?,?,?,?,?,?)",
                (event.template_id, event.name, event.language, *values, event.event_key, event.at,
                 _json(event.raw), received_at),
            )
            result.templates += cur.rowcount  # 0: a redelivered change, recorded once
            result.duplicates += 1 - cur.rowcount
        for rej in batch.rejects:
            conn.execute(
                "INSERT INTO webhook_rejects (field, reason, item_json, received_at) VALUES (?,?,?,?)",
                (rej.field, rej.reason, _json(rej.item)[:100_000], received_at),
            )
        result.rejects = len(batch.rejects)
        if handler is not None and result.inbound:
            result.jobs = _handle(conn, handler, result.inbound, received_at)
    return result


def _handle(conn: sqlite3.Connection, handler: InboundHandler, messages: list[InboundMessage],
            received_at: float) -> list[int]:
    """Run the handler in a savepoint: if it fails, its writes are undone but the messages stay recorded."""
    conn.execute("SAVEPOINT inbound_handler")
    try:
        jobs = handler.record(conn, messages, received_at)
    except Exception:
        conn.execute("ROLLBACK TO inbound_handler")
        conn.execute("RELEASE inbound_handler")
        log.exception("inbound handler failed; %d messages recorded without auto-replies", len(messages))
        return []
    conn.execute("RELEASE inbound_handler")
    return jobs
