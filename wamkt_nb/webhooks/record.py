"""Write one webhook batch to the store in a single transaction, deduplicated.

Inbound messages are keyed by wamid, statuses by (wamid, status): a redelivered payload records
nothing new and triggers nothing twice.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Protocol

from ..identities import apply_identity_change, resolve_identity
from ..ledger.transitions import apply_status
from ..store import VALUE_ERRORS, Store
from .consent import message_consent, record_consent
from .updates import (
    IdentityChange,
    InboundMessage,
    Reject,
    StatusUpdate,
    TemplateEvent,
    UserPreference,
    WebhookBatch,
)
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
    identities: int = 0
    duplicates: int = 0
    rejects: int = 0
    jobs: list[int] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "inbound": len(self.inbound),
            "statuses": self.statuses,
            "ledger_moved": self.ledger_moved,
            "preferences": self.preferences,
            "templates": self.templates,
            "identities": self.identities,
            "duplicates": self.duplicates,
            "rejects": self.rejects,
        }


STORE_ERRORS: tuple[type[Exception], ...] = (ValueError, TypeError, OverflowError, RecursionError, *VALUE_ERRORS)
"""What writing one item can raise because of the item itself (a lone surrogate, a number beyond 64 bits,
a NUL character on PostgreSQL); an operational error (locked, disk full) is not among them: that fails
the batch, and Meta retries."""

MAX_REJECT_ITEM_CHARS = 100_000


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str)
"""Made once: ``json.dumps`` with options builds an encoder per call, twice per message here."""


def _json(obj: object) -> str:
    return _ENCODER.encode(obj)


def _printable(text: str) -> str:
    """``text`` with anything UTF-8 cannot hold (lone surrogates) written as escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, UnicodeError):
        return "contains text that is not valid Unicode (a lone surrogate escape)"
    if isinstance(exc, OverflowError):
        return f"a number is out of range: {exc}"
    return f"could not be stored: {type(exc).__name__}: {str(exc)[:200]}"


def _reject_json(item: object) -> str:
    """The rejected item as ASCII JSON (surrogates escaped), truncated; never raises."""
    try:
        text = json.dumps(item, ensure_ascii=True, separators=(",", ":"), default=str)
    except (ValueError, TypeError, RecursionError) as exc:
        text = f"<not serialisable: {type(exc).__name__}>"
    return text[:MAX_REJECT_ITEM_CHARS]


def _isolated(
    conn: sqlite3.Connection, batch: WebhookBatch, where: str, item: object, write: Callable[[], None]
) -> None:
    """Run ``write`` in a savepoint; if the item cannot be stored, undo it and keep it as a reject."""
    conn.execute("SAVEPOINT webhook_item")
    try:
        write()
    except STORE_ERRORS as exc:
        conn.execute("ROLLBACK TO webhook_item")
        batch.rejects.append(Reject(where, _reason(exc), item))
    conn.execute("RELEASE webhook_item")


def record_batch(
    store: Store, batch: WebhookBatch, received_at: float, handler: InboundHandler | None = None
) -> RecordResult:
    """Record every update of ``batch`` durably; the handler queues its work in the same transaction.

    Each item is written on its own (a savepoint): one that cannot be stored becomes a row of
    ``webhook_rejects`` with its reason and the rest of the batch is kept.
    """
    result = RecordResult()
    with store.transaction() as conn:

        def inbound(msg: InboundMessage) -> None:
            # Filed under the phone, else the BSUID; the identity may name another key (a BSUID whose
            # phone is known): the row then moves to it. Inserting first tells a redelivery apart
            # without a lookup, and a redelivery resolves no identity (it could undo a later change).
            filed = msg.phone or msg.user_id
            cur = conn.execute(
                "INSERT INTO inbound_messages (wamid, wa_id, phone, profile_name, type, text, context_wamid,"
                " timestamp, payload_json, received_at, user_id, parent_user_id, username, payload)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
                (
                    msg.wamid,
                    msg.wa_id,
                    filed,
                    msg.profile_name,
                    msg.type,
                    msg.text,
                    msg.context_wamid,
                    msg.timestamp,
                    _json(msg.raw),
                    received_at,
                    msg.user_id,
                    msg.parent_user_id,
                    msg.username,
                    msg.payload,
                ),
            )
            if cur.rowcount == 0:
                result.duplicates += 1
                return
            phone = resolve_identity(
                conn,
                phone=msg.phone,
                bsuid=msg.user_id,
                parent_bsuid=msg.parent_user_id,
                username=msg.username,
                at=msg.timestamp,
            )
            if phone != filed:
                conn.execute("UPDATE inbound_messages SET phone = ? WHERE wamid = ?", (phone, msg.wamid))
            open_window(conn, phone, msg.timestamp)
            choice = message_consent(msg.meanings)
            if choice is not None:
                record_consent(conn, phone, choice, msg.timestamp, "keyword")
            result.inbound.append(replace(msg, customer_key=phone))

        def status(st: StatusUpdate) -> None:
            cur = conn.execute(
                "INSERT INTO status_events (wamid, status, timestamp, recipient_id, callback_data,"
                " error_code, pricing_category, billable, payload_json, received_at, recipient_user_id)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
                (
                    st.wamid,
                    st.status,
                    st.timestamp,
                    st.recipient_id,
                    st.callback_data,
                    st.error_code,
                    st.pricing_category,
                    None if st.billable is None else int(st.billable),
                    _json(st.raw),
                    received_at,
                    st.recipient_user_id,
                ),
            )
            if cur.rowcount == 0:
                result.duplicates += 1
                return
            if st.recipient_user_id is not None:  # names the BSUID of whoever we sent to, with the phone if shared
                phone = st.recipient_id if st.recipient_id is not None and st.recipient_id.isdigit() else None
                resolve_identity(
                    conn,
                    phone=None if phone is None else "+" + phone,
                    bsuid=st.recipient_user_id,
                    parent_bsuid=st.recipient_parent_user_id,
                    username=st.username,
                    at=st.timestamp,
                )
            moved = apply_status(conn, st, received_at)
            result.statuses += 1
            result.ledger_moved += moved

        def preference(pref: UserPreference) -> None:
            phone = resolve_identity(
                conn, phone=pref.phone, bsuid=pref.user_id, parent_bsuid=pref.parent_user_id, at=pref.timestamp
            )
            if pref.category == "marketing_messages":
                result.preferences += record_consent(
                    conn, phone, pref.value == "resume", pref.timestamp, "user_preferences"
                )

        def identity(change: IdentityChange) -> None:
            apply_identity_change(
                conn,
                kind=change.kind,
                at=change.timestamp,
                wa_id=change.wa_id,
                new_wa_id=change.new_wa_id,
                previous_user_id=change.previous_user_id,
                user_id=change.user_id,
                parent_user_id=change.parent_user_id,
            )
            result.identities += 1

        def template(table: str, own: tuple[str, ...], event: TemplateEvent) -> None:
            values = [getattr(event, column) for column in own]  # the columns are named like the fields
            cur = conn.execute(
                f"INSERT INTO {table} (template_id, name, language, {', '.join(own)}, event_key, event_at,"
                " payload_json, received_at) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
                (
                    event.template_id,
                    event.name,
                    event.language,
                    *values,
                    event.event_key,
                    event.at,
                    _json(event.raw),
                    received_at,
                ),
            )
            result.templates += cur.rowcount  # 0: a redelivered change, recorded once
            result.duplicates += 1 - cur.rowcount

        for change in batch.identity_changes:  # first: the batch's messages then find the new identity
            _isolated(conn, batch, change.kind, change.raw or vars(change), partial(identity, change))
        for msg in batch.inbound:
            _isolated(conn, batch, f"messages[id={_printable(msg.wamid)[:80]}]", msg.raw, partial(inbound, msg))
        for st in batch.statuses:
            _isolated(conn, batch, f"statuses[id={_printable(st.wamid)[:80]}]", st.raw, partial(status, st))
        for pref in batch.preferences:
            _isolated(conn, batch, f"user_preferences[wa_id={pref.wa_id}]", vars(pref), partial(preference, pref))
        for tpl in batch.templates:
            _isolated(
                conn,
                batch,
                "message_template_status_update",
                tpl.raw,
                partial(template, "template_status_events", ("event", "reason"), tpl),
            )
        for q in batch.qualities:
            _isolated(
                conn,
                batch,
                "message_template_quality_update",
                q.raw,
                partial(template, "template_quality_events", ("previous_score", "new_score"), q),
            )
        for rej in batch.rejects:
            conn.execute(
                "INSERT INTO webhook_rejects (field, reason, item_json, received_at) VALUES (?,?,?,?)",
                (_printable(rej.field), _printable(rej.reason), _reject_json(rej.item), received_at),
            )
        result.rejects = len(batch.rejects)
        if handler is not None and result.inbound:
            result.jobs = _handle(conn, handler, result.inbound, received_at)
    return result


def _handle(
    conn: sqlite3.Connection, handler: InboundHandler, messages: list[InboundMessage], received_at: float
) -> list[int]:
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
