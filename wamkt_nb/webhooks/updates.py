"""Typed webhook updates, parsed from Meta's envelope.

``parse_payload`` turns a decoded JSON body into a :class:`WebhookBatch`. An envelope of the wrong
shape raises :class:`PayloadError`; a single malformed item inside a good envelope becomes a
:class:`Reject` (with the reason and the item) so the rest of the batch is still recorded.

A customer is identified by a phone number (``wa_id``), a business-scoped user ID (``user_id``,
see :mod:`wamkt_nb.bsuid`) or both: Meta leaves the phone out for some users who adopted a
username, so every update carries whichever of the two Meta sent and needs at least one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..bsuid import is_bsuid, is_parent_bsuid
from ..errors import WamktError
from ..scrub import scrub

STATUS_KINDS = ("sent", "delivered", "read", "failed", "deleted", "warning")


class PayloadError(WamktError, ValueError):
    """The body is not a WhatsApp webhook envelope; the message names the offending field."""


@dataclass(frozen=True)
class InboundMessage:
    """A message a customer sent us (any type; ``text`` is what a keyword rule can read).

    ``wa_id`` is None when Meta left the phone out (a username user): ``user_id`` (the BSUID) is
    then the only identifier; ``username`` comes from the webhook's ``contacts[].profile``.
    """

    wamid: str
    wa_id: str | None
    type: str
    timestamp: float
    text: str | None = None
    profile_name: str | None = None
    context_wamid: str | None = None
    phone_number_id: str | None = None
    payload: str | None = None
    raw: dict = field(default_factory=dict, repr=False, compare=False)
    user_id: str | None = None
    parent_user_id: str | None = None
    username: str | None = None
    customer_key: str | None = field(default=None, compare=False)

    @property
    def phone(self) -> str | None:
        """E.164 with '+' (wa_id is without); None for a message that carried no phone."""
        return None if self.wa_id is None else "+" + self.wa_id

    @property
    def key(self) -> str:
        """The customer the message is from: the key the store filed it under (``customer_key``, set
        by the receiver, see :mod:`wamkt_nb.identities`), else the phone, else the BSUID."""
        key = self.customer_key or self.phone or self.user_id
        if key is None:
            raise ValueError("the message names neither a phone nor a business-scoped user ID")
        return key

    @property
    def meanings(self) -> tuple[str, ...]:
        """What the message says, payload first: a tapped button means its payload (set by the
        business), not its label; then the words shown or typed."""
        return tuple(part for part in (self.payload, self.text) if part)


@dataclass(frozen=True)
class StatusUpdate:
    """A delivery status of one of our messages: sent, delivered, read, failed (or deleted/warning)."""

    wamid: str
    status: str
    timestamp: float
    recipient_id: str | None = None
    callback_data: str | None = None
    error_code: int | None = None
    error_title: str | None = None
    pricing_category: str | None = None
    pricing_type: str | None = None
    billable: bool | None = None
    phone_number_id: str | None = None
    raw: dict = field(default_factory=dict, repr=False, compare=False)
    recipient_user_id: str | None = None
    recipient_parent_user_id: str | None = None
    username: str | None = None


@dataclass(frozen=True)
class UserPreference:
    """A customer stopped (``stop``) or resumed (``resume``) marketing messages.

    ``wa_id`` is None when Meta sent only the customer's BSUID (``user_id``).
    """

    wa_id: str | None
    value: str
    timestamp: float
    category: str = "marketing_messages"
    detail: str | None = None
    user_id: str | None = None
    parent_user_id: str | None = None

    @property
    def phone(self) -> str | None:
        return None if self.wa_id is None else "+" + self.wa_id


@dataclass(frozen=True)
class IdentityChange:
    """Meta says a customer's identifiers changed; merge the old identity into the new one.

    ``kind`` is the source: ``user_id_update`` (the webhook field: ``previous_user_id`` became
    ``user_id``), ``user_changed_user_id`` (a system message: only the new ``user_id``) or
    ``user_changed_number`` (a system message: ``wa_id`` moved to ``new_wa_id``, a new ``user_id``).
    """

    kind: str
    timestamp: float
    wa_id: str | None = None
    new_wa_id: str | None = None
    previous_user_id: str | None = None
    user_id: str | None = None
    parent_user_id: str | None = None
    raw: dict = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, kw_only=True)
class TemplateEvent:
    """A change Meta announces about one template, at ``at`` (the webhook's ``entry[].time``)."""

    kind = "template"
    template_id: str | None = None
    name: str | None = None
    language: str | None = None
    at: float | None = None
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def event_key(self) -> str:
        """The identity of the change: a redelivered webhook has the same key, a later change of the
        same template (a second pause) has a later trigger time."""
        raw = self.raw
        parts = (
            self.kind,
            raw.get("message_template_id"),
            raw.get("message_template_name"),
            raw.get("message_template_language"),
            raw.get("event"),
            raw.get("new_quality_score"),
            self.at,
        )
        return "|".join("" if p is None else str(p) for p in parts)


@dataclass(frozen=True, kw_only=True)
class TemplateStatusUpdate(TemplateEvent):
    """Meta reviewed or re-rated a template: APPROVED, REJECTED, PAUSED, DISABLED, ..."""

    kind = "status"
    event: str
    reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class TemplateQualityUpdate(TemplateEvent):
    """A template's quality score moved (``message_template_quality_update``)."""

    kind = "quality"
    new_score: str
    previous_score: str | None = None


@dataclass(frozen=True)
class Reject:
    """One item that could not be understood, kept for the record."""

    field: str
    reason: str
    item: Any


@dataclass
class WebhookBatch:
    """Everything one POST carried, by kind."""

    inbound: list[InboundMessage] = field(default_factory=list)
    statuses: list[StatusUpdate] = field(default_factory=list)
    preferences: list[UserPreference] = field(default_factory=list)
    templates: list[TemplateStatusUpdate] = field(default_factory=list)
    qualities: list[TemplateQualityUpdate] = field(default_factory=list)
    identity_changes: list[IdentityChange] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)


class _Bad(WamktError, ValueError):
    pass


INT64_MAX = 2**63 - 1
"""SQLite stores integers as signed 64-bit: a larger number cannot be recorded as a number."""

MALFORMED = (ValueError, TypeError, OverflowError, KeyError, IndexError, AttributeError, RecursionError)
"""What reading one item of arbitrary JSON can raise; each is that item's fault, so it becomes a reject."""


def describe(exc: BaseException) -> str:
    """A reject's reason: our own message, or the exception's kind and text for anything else."""
    text = str(exc) if isinstance(exc, _Bad) else f"{type(exc).__name__}: {str(exc)[:200]}"
    return text.encode("utf-8", "backslashreplace").decode("utf-8")  # a lone surrogate from the item, escaped


def _str(obj: dict, key: str, where: str) -> str:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, (str, int)) or str(value) == "":
        raise _Bad(f"{where}.{key} must be a non-empty string")
    return str(value)


def _opt_str(obj: Any, key: str) -> str | None:
    if not isinstance(obj, dict):
        return None
    value = obj.get(key)
    return str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else None


def _timestamp(obj: dict, where: str) -> float:
    value = obj.get("timestamp")
    try:
        ts = float(value)  # Meta sends strings of epoch seconds
    except (TypeError, ValueError, OverflowError):
        raise _Bad(f"{where}.timestamp must be epoch seconds") from None
    if not (0 <= ts < 1e11):
        raise _Bad(f"{where}.timestamp out of range")
    return ts


def _digits(wa_id: str, where: str) -> str:
    wa_id = wa_id.lstrip("+")
    if not wa_id.isdigit() or not 5 <= len(wa_id) <= 20:
        raise _Bad(f"{where} must be a phone number in digits")
    return wa_id


def _user_id(obj: Any, key: str, where: str) -> str | None:
    """A BSUID field (``user_id``, ``from_user_id``, ``recipient_user_id``...), None when absent."""
    value = _opt_str(obj, key)
    if value is None or value == "":
        return None
    if not is_bsuid(value):
        raise _Bad(f"{where}.{key} must be a business-scoped user ID like US.13491208655302741918")
    return value


def _parent_user_id(obj: Any, key: str, where: str) -> str | None:
    """A parent BSUID field (``parent_user_id``...), None when absent."""
    value = _opt_str(obj, key)
    if value is None or value == "":
        return None
    if not is_parent_bsuid(value):
        raise _Bad(f"{where}.{key} must be a parent business-scoped user ID like US.ENT.11815799212886844830")
    return value


def _opt_digits(obj: dict, key: str, where: str) -> str | None:
    """A phone field Meta may leave out (``from``, ``wa_id``, ``recipient_id``): digits or None."""
    value = obj.get(key)
    if value is None or value == "":
        return None
    return _digits(_str(obj, key, where), f"{where}.{key}")


@dataclass(frozen=True)
class _Contact:
    """One ``contacts[]`` entry: the profile name and username Meta shows for a user."""

    name: str | None
    username: str | None
    user_id: str | None
    parent_user_id: str | None


class _Contacts:
    """``contacts[]`` of one change, found by phone or by BSUID (a username user may have no phone)."""

    def __init__(self, contacts: Any) -> None:
        self._by_key: dict[str, _Contact] = {}
        for contact in contacts if isinstance(contacts, list) else []:
            if not isinstance(contact, dict):
                continue
            profile = contact.get("profile")
            user_id = _opt_str(contact, "user_id")
            parent = _opt_str(contact, "parent_user_id")
            found = _Contact(
                name=_opt_str(profile, "name"),
                username=_opt_str(profile, "username"),
                user_id=user_id if is_bsuid(user_id) else None,
                parent_user_id=parent if is_parent_bsuid(parent) else None,
            )
            wa_id = _opt_str(contact, "wa_id")
            for key in (wa_id.lstrip("+") if wa_id else None, found.user_id):
                if key:
                    self._by_key[key] = found

    def find(self, wa_id: str | None, user_id: str | None) -> _Contact | None:
        return self._by_key.get(user_id or "") or self._by_key.get(wa_id or "")


def _who(wa_id: str | None, user_id: str | None, where: str) -> None:
    if wa_id is None and user_id is None:
        raise _Bad(f"{where} names no customer: neither a phone number nor a business-scoped user ID")


def message_payload(msg: dict) -> str | None:
    """The business-defined payload of a tapped button: a template quick reply's ``button.payload``,
    an interactive reply's ``id``; None for anything typed."""
    kind = msg.get("type")
    body = msg.get(kind) if isinstance(kind, str) else None
    if kind == "button":
        return _opt_str(body, "payload")
    if kind == "interactive" and isinstance(body, dict):
        return _opt_str(body.get("button_reply") or body.get("list_reply"), "id")
    return None


def message_text(msg: dict) -> str | None:
    """The words a customer typed or saw on the button they tapped, whatever the message type."""
    kind = msg.get("type")
    body = msg.get(kind) if isinstance(kind, str) else None
    if not isinstance(body, dict):
        return None
    if kind == "text":
        return _opt_str(body, "body")
    if kind == "button":
        return _opt_str(body, "text") or _opt_str(body, "payload")
    if kind == "interactive":
        reply = body.get("button_reply") or body.get("list_reply")
        return _opt_str(reply, "title")
    if kind in ("image", "document", "video"):
        return _opt_str(body, "caption")
    if kind == "reaction":
        return _opt_str(body, "emoji")
    return None


def _inbound(msg: Any, value: dict, contacts: _Contacts, where: str) -> InboundMessage:
    if not isinstance(msg, dict):
        raise _Bad(f"{where} must be an object")
    wa_id = _opt_digits(msg, "from", where)
    user_id = _user_id(msg, "from_user_id", where)
    contact = contacts.find(wa_id, user_id)
    user_id = user_id or (contact.user_id if contact else None)
    _who(wa_id, user_id, where)
    context = msg.get("context")
    return InboundMessage(
        wamid=_str(msg, "id", where),
        wa_id=wa_id,
        type=_str(msg, "type", where),
        timestamp=_timestamp(msg, where),
        text=message_text(msg),
        profile_name=contact.name if contact else None,
        context_wamid=_opt_str(context, "id"),
        phone_number_id=_opt_str(value.get("metadata"), "phone_number_id"),
        payload=message_payload(msg),
        raw=msg,
        user_id=user_id,
        parent_user_id=(
            _parent_user_id(msg, "from_parent_user_id", where) or (contact.parent_user_id if contact else None)
        ),
        username=contact.username if contact else None,
    )


def _system(msg: dict, where: str) -> IdentityChange:
    """A ``user_changed_number`` or ``user_changed_user_id`` system message (no ``contacts`` array)."""
    system = msg.get("system")
    if not isinstance(system, dict):
        raise _Bad(f"{where}.system must be an object")
    kind = _str(system, "type", f"{where}.system")
    changed_number = kind == "user_changed_number"
    return IdentityChange(
        kind=kind,
        timestamp=_timestamp(msg, where),
        wa_id=_opt_digits(msg, "from", where),
        new_wa_id=_opt_digits(system, "wa_id", f"{where}.system") if changed_number else None,
        user_id=_user_id(system, "user_id", f"{where}.system"),
        parent_user_id=_parent_user_id(system, "parent_user_id", f"{where}.system"),
        raw=msg,
    )


IDENTITY_SYSTEM_TYPES = ("user_changed_number", "user_changed_user_id")


def _is_identity_system(msg: Any) -> bool:
    return (
        isinstance(msg, dict)
        and msg.get("type") == "system"
        and _opt_str(msg.get("system"), "type") in IDENTITY_SYSTEM_TYPES
    )


def _user_id_update(item: Any, where: str) -> IdentityChange:
    """One ``user_id_update[]`` item: ``user_id.previous`` became ``user_id.current``."""
    if not isinstance(item, dict):
        raise _Bad(f"{where} must be an object")
    ids = item.get("user_id")
    if not isinstance(ids, dict):
        raise _Bad(f"{where}.user_id must be an object with previous and current")
    previous = _user_id(ids, "previous", f"{where}.user_id")
    current = _user_id(ids, "current", f"{where}.user_id")
    if previous is None or current is None:
        raise _Bad(f"{where}.user_id needs both previous and current")
    parents = item.get("parent_user_id")
    return IdentityChange(
        kind="user_id_update",
        timestamp=_timestamp(item, where),
        wa_id=_opt_digits(item, "wa_id", where),
        previous_user_id=previous,
        user_id=current,
        parent_user_id=_parent_user_id(parents, "current", f"{where}.parent_user_id"),
        raw=item,
    )


def _status(item: Any, value: dict, contacts: _Contacts, where: str) -> StatusUpdate:
    if not isinstance(item, dict):
        raise _Bad(f"{where} must be an object")
    status = _str(item, "status", where)
    if status not in STATUS_KINDS:
        raise _Bad(f"{where}.status {status[:40]!r} is not one of {', '.join(STATUS_KINDS)}")
    errors = item.get("errors")
    first_error = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
    code = first_error.get("code")
    if isinstance(code, int) and not isinstance(code, bool) and abs(code) > INT64_MAX:
        raise _Bad(f"{where}.errors[0].code is out of range")
    pricing = item.get("pricing") if isinstance(item.get("pricing"), dict) else {}
    billable = pricing.get("billable")
    recipient = _opt_str(item, "recipient_id")
    user_id = _user_id(item, "recipient_user_id", where)
    contact = contacts.find(recipient, user_id)
    return StatusUpdate(
        wamid=_str(item, "id", where),
        status=status,
        timestamp=_timestamp(item, where),
        recipient_id=recipient,
        callback_data=_opt_str(item, "biz_opaque_callback_data"),
        error_code=int(code) if isinstance(code, int) and not isinstance(code, bool) else None,
        error_title=_error_title(first_error),
        pricing_category=_opt_str(pricing, "category"),
        pricing_type=_opt_str(pricing, "type"),
        billable=billable if isinstance(billable, bool) else None,
        phone_number_id=_opt_str(value.get("metadata"), "phone_number_id"),
        raw=item,
        recipient_user_id=user_id or (contact.user_id if contact else None),
        recipient_parent_user_id=(
            _parent_user_id(item, "recipient_parent_user_id", where) or (contact.parent_user_id if contact else None)
        ),
        username=contact.username if contact else None,
    )


def _error_title(error: dict) -> str | None:
    """The failed status's error title, scrubbed: it is stored and shown in reports."""
    title = _opt_str(error, "title") or _opt_str(error, "message")
    return None if title is None else scrub(title)


def _preference(item: Any, contacts: _Contacts, where: str) -> UserPreference:
    if not isinstance(item, dict):
        raise _Bad(f"{where} must be an object")
    value = _str(item, "value", where).lower()
    if value not in ("stop", "resume"):
        raise _Bad(f"{where}.value must be stop or resume")
    wa_id = _opt_digits(item, "wa_id", where)
    user_id = _user_id(item, "user_id", where)
    contact = contacts.find(wa_id, user_id)
    user_id = user_id or (contact.user_id if contact else None)
    _who(wa_id, user_id, where)
    return UserPreference(
        wa_id=wa_id,
        value=value,
        timestamp=_timestamp(item, where),
        category=_opt_str(item, "category") or "marketing_messages",
        detail=_opt_str(item, "detail"),
        user_id=user_id,
        parent_user_id=(
            _parent_user_id(item, "parent_user_id", where) or (contact.parent_user_id if contact else None)
        ),
    )


def _entry_time(entry: dict) -> float | None:
    """``entry[].time``: when Meta triggered a WhatsApp Business Account webhook (epoch seconds)."""
    value = entry.get("time")
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _template_ref(value: dict, at: float | None) -> dict[str, Any]:
    return dict(
        template_id=_opt_str(value, "message_template_id"),
        name=_opt_str(value, "message_template_name"),
        language=_opt_str(value, "message_template_language"),
        at=at,
        raw=value,
    )


def _template(value: dict, where: str, at: float | None) -> TemplateStatusUpdate:
    return TemplateStatusUpdate(
        event=_str(value, "event", where).upper(), reason=_opt_str(value, "reason"), **_template_ref(value, at)
    )


def _quality(value: dict, where: str, at: float | None) -> TemplateQualityUpdate:
    return TemplateQualityUpdate(
        new_score=_str(value, "new_quality_score", where).upper(),
        previous_score=_opt_str(value, "previous_quality_score"),
        **_template_ref(value, at),
    )


def _items(value: dict, key: str) -> list:
    items = value.get(key, [])
    if not isinstance(items, list):
        raise _Bad(f"{key} must be a list")
    return items


def _parse_messages_value(value: dict, where: str, batch: WebhookBatch) -> None:
    contacts = _Contacts(value.get("contacts"))

    def message(item: Any, w: str) -> None:
        if _is_identity_system(item):
            batch.identity_changes.append(_system(item, w))
        else:
            batch.inbound.append(_inbound(item, value, contacts, w))

    parsers: tuple[tuple[str, Any], ...] = (
        ("messages", message),
        ("statuses", lambda it, w: batch.statuses.append(_status(it, value, contacts, w))),
        ("user_preferences", lambda it, w: batch.preferences.append(_preference(it, contacts, w))),
        ("user_id_update", lambda it, w: batch.identity_changes.append(_user_id_update(it, w))),
    )
    for key, parse in parsers:
        try:
            items = _items(value, key)
        except _Bad as exc:
            batch.rejects.append(Reject(f"{where}.{key}", str(exc), value.get(key)))
            continue
        for i, item in enumerate(items):
            try:
                parse(item, f"{where}.{key}[{i}]")
            except MALFORMED as exc:
                batch.rejects.append(Reject(f"{where}.{key}[{i}]", describe(exc), item))


def parse_payload(payload: Any) -> WebhookBatch:
    """All updates in a decoded webhook body; :class:`PayloadError` if the envelope itself is wrong."""
    if not isinstance(payload, dict):
        raise PayloadError("the body must be a JSON object")
    if payload.get("object") != "whatsapp_business_account":
        raise PayloadError("object must be 'whatsapp_business_account'")
    entries = payload.get("entry")
    if not isinstance(entries, list):
        raise PayloadError("entry must be a list")
    batch = WebhookBatch()
    for e, entry in enumerate(entries):
        changes = entry.get("changes") if isinstance(entry, dict) else None
        if not isinstance(changes, list):
            batch.rejects.append(Reject(f"entry[{e}]", "changes must be a list", entry))
            continue
        for c, change in enumerate(changes):
            where = f"entry[{e}].changes[{c}]"
            value = change.get("value") if isinstance(change, dict) else None
            if not isinstance(value, dict):
                batch.rejects.append(Reject(where, "value must be an object", change))
                continue
            kind = change.get("field")
            try:
                if kind in ("messages", "user_preferences", "user_id_update"):
                    _parse_messages_value(value, f"{where}.value", batch)
                elif kind == "message_template_status_update":
                    batch.templates.append(_template(value, f"{where}.value", _entry_time(entry)))
                elif kind == "message_template_quality_update":
                    batch.qualities.append(_quality(value, f"{where}.value", _entry_time(entry)))
                else:
                    batch.rejects.append(Reject(f"{where}.field", f"unsupported field {str(kind)[:60]!r}", change))
            except MALFORMED as exc:
                batch.rejects.append(Reject(where, describe(exc), change))
    return batch
