"""The sandbox's message templates: statuses, review, paging, and checking a template send."""

from __future__ import annotations

import base64
import copy
import itertools
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..cloudapi.payloads import MAX_COUPON_CODE, MAX_QUICK_REPLY_PAYLOAD, MEDIA_TYPES
from ..messages.interactive import interactive_findings
from ..messages.templates import Template
from .errors import SandboxError, invalid_param

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
NAME_RE = re.compile(r"^[a-z0-9_]{1,512}$")
CATEGORIES = ("MARKETING", "UTILITY", "AUTHENTICATION")
TTL_SECONDS = {"AUTHENTICATION": (30, 900), "UTILITY": (30, 43_200), "MARKETING": (43_200, 2_592_000)}
"""Meta's ``message_send_ttl_seconds`` range per category (a marketing TTL applies only to sends
through the Marketing Messages API); see docs/cloud-api.md."""
MAX_BODY = 1024
MAX_HEADER = 60
MAX_FOOTER = 60


def _body(text: str, example: list[str] | None = None, named: dict[str, str] | None = None) -> dict[str, Any]:
    comp: dict[str, Any] = {"type": "BODY", "text": text}
    if example:
        comp["example"] = {"body_text": [example]}
    if named:
        comp["example"] = {"body_text_named_params": [{"param_name": k, "example": v} for k, v in named.items()]}
    return comp


def default_templates() -> list[dict[str, Any]]:
    """A small, realistic template library (approved, paused, disabled, pending)."""
    footer = {"type": "FOOTER", "text": "Antworte STOP zum Abmelden"}
    return [
        {
            "name": "order_shipped",
            "language": "de",
            "category": "UTILITY",
            "status": "APPROVED",
            "components": [_body("Hallo {{1}}, deine Bestellung {{2}} ist unterwegs.", ["Anna", "#12345"])],
        },
        {
            "name": "order_shipped",
            "language": "en",
            "category": "UTILITY",
            "status": "APPROVED",
            "components": [_body("Hi {{1}}, your order {{2}} is on its way.", ["Anna", "#12345"])],
        },
        {
            "name": "rabatt_aktion",
            "language": "de",
            "category": "MARKETING",
            "status": "APPROVED",
            "parameter_format": "NAMED",
            "components": [
                _body(
                    "Hallo {{first_name}}, {{discount}} Rabatt für dich! Antworte JA für deinen Code.",
                    named={"first_name": "Anna", "discount": "10 %"},
                ),
                footer,
            ],
        },
        {
            "name": "willkommen",
            "language": "de",
            "category": "MARKETING",
            "status": "APPROVED",
            "components": [
                {
                    "type": "HEADER",
                    "format": "IMAGE",
                    "example": {"header_handle": ["https://example.com/willkommen.jpg"]},
                },
                _body("Willkommen {{1}}! Schau dir unsere Neuheiten an.", ["Anna"]),
                footer,
                {
                    "type": "BUTTONS",
                    "buttons": [
                        {
                            "type": "URL",
                            "text": "Zum Shop",
                            "url": "https://shop.example.com/{{1}}",
                            "example": ["https://shop.example.com/welcome"],
                        }
                    ],
                },
            ],
        },
        {
            "name": "feedback_request",
            "language": "de",
            "category": "UTILITY",
            "status": "APPROVED",
            "components": [
                _body("Wie zufrieden bist du mit deiner letzten Bestellung?"),
                {
                    "type": "BUTTONS",
                    "buttons": [
                        {"type": "QUICK_REPLY", "text": "Sehr gut"},
                        {"type": "QUICK_REPLY", "text": "Geht so"},
                    ],
                },
            ],
        },
        {
            "name": "winter_sale",
            "language": "de",
            "category": "MARKETING",
            "status": "PAUSED",
            "components": [_body("Hallo {{1}}, unser Winter-Sale startet jetzt.", ["Anna"])],
        },
        {
            "name": "alte_aktion",
            "language": "de",
            "category": "MARKETING",
            "status": "DISABLED",
            "components": [_body("Hallo {{1}}, nur diese Woche: alles reduziert.", ["Anna"])],
        },
        {
            "name": "neue_kollektion",
            "language": "de",
            "category": "MARKETING",
            "status": "PENDING",
            "components": [_body("Hallo {{1}}, die neue Kollektion ist da.", ["Anna"])],
        },
    ]


@dataclass
class RenderedTemplate:
    """What a valid template send turns into: the text the customer sees, its category and what the
    customer can tap (quick replies, URL buttons' addresses, the coupon code to copy)."""

    name: str
    text: str
    category: str
    header_kind: str | None
    quick_replies: list[tuple[str, str]]  # (payload, label) of each quick-reply button, cards' included
    header_media_id: str | None = None  # an uploaded file's id in a media header (the send checks it exists)
    button_urls: list[str] = field(default_factory=list)  # the address each URL button opens, cards' included
    coupon_code: str | None = None
    offer_expires_ms: int | None = None


@dataclass(frozen=True)
class _Buttons:
    """One ``BUTTONS`` component as a send is checked against it."""

    dynamic: frozenset[str]  # indexes of URL buttons ending in a variable
    quick_replies: tuple[tuple[str, str], ...]  # (button index, label)
    urls: tuple[tuple[str, str], ...]  # (button index, URL as defined, maybe with {{1}})
    copy_code: str | None  # the copy-code button's index

    @classmethod
    def of(cls, buttons: list[dict[str, Any]]) -> _Buttons:
        kinds = [(str(i), str(b.get("type", "")).upper(), b) for i, b in enumerate(buttons)]
        return cls(
            dynamic=frozenset(i for i, k, b in kinds if k == "URL" and PLACEHOLDER.search(b.get("url", ""))),
            quick_replies=tuple((i, str(b.get("text", ""))) for i, k, b in kinds if k == "QUICK_REPLY"),
            urls=tuple((i, str(b.get("url", ""))) for i, k, b in kinds if k == "URL"),
            copy_code=next((i for i, k, _ in kinds if k == "COPY_CODE"), None),
        )


@dataclass(frozen=True)
class _Card:
    header_format: str
    body_slots: int
    buttons: _Buttons


@dataclass(frozen=True)
class _Shape:
    """What a send is checked against, computed once per template (the hot path only reads it)."""

    body_text: str
    body_slots: tuple[str, ...]
    body_pieces: tuple[tuple[str, str, str], ...]  # (text before, slot name, placeholder as written)
    body_tail: str  # the text after the last placeholder
    header: dict[str, Any] | None
    buttons: _Buttons
    offer_expires: bool | None  # None: no limited-time offer; True: the send gives its expiry
    cards: tuple[_Card, ...]
    body_only: bool = False  # no header, buttons, offer or cards: a send has only its body to check

    def __post_init__(self) -> None:
        plain = self.header is None and self.buttons == _NO_BUTTONS and self.offer_expires is None and not self.cards
        object.__setattr__(self, "body_only", plain)

    @classmethod
    def of(cls, template: dict[str, Any]) -> _Shape:
        body = _component(template, "BODY") or {}
        body_text = body.get("text", "")
        pieces, start = [], 0
        for match in PLACEHOLDER.finditer(body_text):
            pieces.append((body_text[start : match.start()], match.group(1), match.group(0)))
            start = match.end()
        offer = _component(template, "LIMITED_TIME_OFFER")
        cards = []
        for card in (_component(template, "CAROUSEL") or {}).get("cards", []):
            header = _component(card, "HEADER") or {}
            cards.append(
                _Card(
                    header_format=str(header.get("format", "")).lower(),
                    body_slots=len(PLACEHOLDER.findall((_component(card, "BODY") or {}).get("text", ""))),
                    buttons=_Buttons.of((_component(card, "BUTTONS") or {}).get("buttons", [])),
                )
            )
        return cls(
            body_text=body_text,
            body_slots=tuple(name for _, name, _ in pieces),
            body_pieces=tuple(pieces),
            body_tail=body_text[start:],
            header=_component(template, "HEADER"),
            buttons=_Buttons.of((_component(template, "BUTTONS") or {}).get("buttons", [])),
            offer_expires=None
            if offer is None
            else bool((offer.get("limited_time_offer") or {}).get("has_expiration", False)),
            cards=tuple(cards),
        )


_NO_BUTTONS = _Buttons.of([])


def _component(template: dict[str, Any], kind: str) -> dict[str, Any] | None:
    return next((c for c in template.get("components", []) if c.get("type", "").upper() == kind), None)


def _cursor(index: int) -> str:
    return base64.urlsafe_b64encode(str(index).encode()).decode().rstrip("=")


def _uncursor(cursor: str) -> int:
    try:
        return int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except (ValueError, UnicodeDecodeError):
        raise SandboxError(100, f"Invalid cursor {cursor!r}") from None


class TemplateStore:
    """Templates by id and by (name, language); thread-safe."""

    def __init__(
        self,
        templates: list[dict[str, Any]] | None = None,
        review_seconds: float = 3600.0,
        promotional_words: tuple[str, ...] = (),
    ) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(5_943_200_000_000_001)
        self._by_id: dict[str, dict[str, Any]] = {}
        self._by_key: dict[tuple[str, str], dict[str, Any]] = {}
        self._shapes: dict[str, _Shape] = {}
        self._pending: dict[str, float] = {}  # template id -> decision time
        self._verdicts: dict[str, str] = {}  # template id -> rejection reason the review will give
        self.review_seconds = review_seconds
        self.promotional_words = promotional_words
        for t in default_templates() if templates is None else templates:
            self._add(copy.deepcopy(t))

    def _add(self, template: dict[str, Any]) -> dict[str, Any]:
        template.setdefault("parameter_format", "POSITIONAL")
        template["id"] = str(next(self._ids))
        self._by_id[template["id"]] = template
        self._by_key[(template["name"], template["language"])] = template
        self._shapes[template["id"]] = _Shape.of(template)
        return template

    def all(self) -> list[dict[str, Any]]:
        with self._lock:
            return [copy.deepcopy(t) for t in self._by_id.values()]

    def get(self, template_id: str) -> dict[str, Any] | None:
        with self._lock:
            t = self._by_id.get(template_id)
            return copy.deepcopy(t) if t else None

    def set_status(self, template_id: str, status: str, reason: str | None = None) -> dict[str, Any]:
        """Change a template's status (e.g. PAUSED for a quality test); returns the template."""
        with self._lock:
            t = self._by_id[template_id]
            t["status"] = status
            if reason:
                t["rejected_reason"] = reason
            return copy.deepcopy(t)

    def set_quality(self, template_id: str, score: str, at: float) -> str | None:
        """Set a template's ``quality_score``; returns the previous score if it changed, else None."""
        with self._lock:
            t = self._by_id[template_id]
            previous = (t.get("quality_score") or {}).get("score", "GREEN")
            if previous == score:
                return None
            t["quality_score"] = {"score": score, "date": int(at)}
            return previous

    def find(self, name: str, language: str) -> dict[str, Any] | None:
        return self._by_key.get((name, language))

    def page(
        self, fields: str | None, limit: int, after: str | None, status: str | None, name: str | None, next_url: str
    ) -> dict[str, Any]:
        """One page of ``GET /message_templates`` with Meta's cursor paging."""
        if limit < 1:
            raise SandboxError(100, "limit must be a positive number")
        wanted = (
            [f.strip() for f in fields.split(",") if f.strip()]
            if fields
            else ["name", "status", "language", "category", "id"]
        )
        with self._lock:
            items = [
                t
                for t in self._by_id.values()
                if (not status or t["status"] == status.upper()) and (not name or name in t["name"])
            ]
            start = _uncursor(after) + 1 if after else 0
            chunk = items[start : start + limit]
            data = [{k: copy.deepcopy(t[k]) for k in wanted + ["id"] if k in t} for t in chunk]
        body: dict[str, Any] = {"data": data}
        if chunk:
            body["paging"] = {"cursors": {"before": _cursor(start), "after": _cursor(start + len(chunk) - 1)}}
            if start + len(chunk) < len(items):
                body["paging"]["next"] = f"{next_url}&after={_cursor(start + len(chunk) - 1)}"
        return body

    def create(self, body: Any, now: float) -> dict[str, Any]:
        """Validate a ``POST /message_templates`` body like Meta does and file it as PENDING."""
        if not isinstance(body, dict):
            raise SandboxError(100, "Request body must be a JSON object")
        name, language, category = body.get("name"), body.get("language"), body.get("category")
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise SandboxError(
                100, "Param name must be lowercase letters, digits and underscores, at most 512 characters"
            )
        if not isinstance(language, str) or not language:
            raise SandboxError(100, "Param language is required")
        if category not in CATEGORIES:
            raise SandboxError(100, f"Param category must be one of {', '.join(CATEGORIES)}")
        fmt = str(body.get("parameter_format", "positional")).upper()
        if fmt not in ("POSITIONAL", "NAMED"):
            raise SandboxError(100, "Param parameter_format must be positional or named")
        components = body.get("components")
        if not isinstance(components, list):
            raise SandboxError(100, "Param components must be a list")
        _check_components(components)
        _check_interactive(category, components)
        ttl = _check_ttl(body.get("message_send_ttl_seconds"), category)
        if self.find(name, language):
            raise SandboxError(100, f"Content in this language already exists for template {name}", subcode=2388024)
        text = " ".join(str(c.get("text", "")) for c in components if isinstance(c, dict)).lower()
        promotional = any(w in text for w in self.promotional_words)
        with self._lock:
            t = self._add(
                {
                    "name": name,
                    "language": language,
                    "category": category,
                    "status": "PENDING",
                    "parameter_format": fmt,
                    "components": copy.deepcopy(components),
                }
                | ({"message_send_ttl_seconds": ttl} if ttl is not None else {})
            )
            self._pending[t["id"]] = now + self.review_seconds
            if promotional:
                self._verdicts[t["id"]] = "PROMOTIONAL"
        return {"id": t["id"], "status": "PENDING", "category": category}

    def review_due(self, now: float) -> list[dict[str, Any]]:
        """Decide reviews whose time has come; returns the changed templates (for status webhooks)."""
        changed = []
        with self._lock:
            for tid, due in list(self._pending.items()):
                if due <= now:
                    t = self._by_id[tid]
                    verdict = self._verdicts.pop(tid, None)
                    t["status"] = "REJECTED" if verdict else "APPROVED"
                    if verdict:
                        t["rejected_reason"] = verdict
                    del self._pending[tid]
                    changed.append(copy.deepcopy(t))
        return changed

    def render(self, template_obj: Any) -> RenderedTemplate:
        """Check a ``template`` object of a send against the stored template (132xxx codes)."""
        if not isinstance(template_obj, dict):
            raise SandboxError(131008, "Parameter template is required and must be an object")
        name = template_obj.get("name")
        lang = template_obj.get("language")
        code = lang.get("code") if isinstance(lang, dict) else None
        if not isinstance(name, str) or not name:
            raise SandboxError(131008, "Required parameter template.name is missing")
        if not isinstance(code, str) or not code:
            raise SandboxError(131008, "Required parameter template.language.code is missing")
        stored = self._by_key.get((name, code))  # read-only use: no copy on the hot path
        if stored is None:
            raise SandboxError(132001, f"template name ({name}) does not exist in {code}")
        if stored["status"] == "PAUSED":
            raise SandboxError(132015, f"Template {name} is paused because of low quality")
        if stored["status"] == "DISABLED":
            raise SandboxError(132016, f"Template {name} has been disabled because of low quality")
        if stored["status"] != "APPROVED":
            raise SandboxError(132001, f"template name ({name}) is not approved in {code} (status {stored['status']})")
        given = template_obj.get("components") or []
        if not isinstance(given, list):
            raise SandboxError(131009, "Parameter template.components must be a list")
        by_type: dict[str, list[dict[str, Any]]] = {}
        for comp in given:
            if not isinstance(comp, dict) or "type" not in comp:
                raise SandboxError(131009, "Each template component needs a type")
            by_type.setdefault(str(comp["type"]).lower(), []).append(comp)
        named = stored.get("parameter_format") == "NAMED"
        shape = self._shapes[stored["id"]]
        text = _fill_body(shape, by_type.get("body", ()), named)
        # A body-only template sent with a body only: the other checks have nothing to check or fill in.
        body_only = shape.body_only and by_type.keys() <= {"body"}
        header_kind, header_media_id = (
            (None, None) if body_only else _check_header(shape.header, by_type.get("header", ()))
        )
        if len(text) > MAX_BODY:
            raise SandboxError(132005, f"Hydrated body has {len(text)} characters; the limit is {MAX_BODY}")
        if body_only:
            return RenderedTemplate(
                name=name, text=text, category=stored["category"].lower(), header_kind=None, quick_replies=[]
            )
        taps = _tap_targets(shape.buttons, by_type.get("button", ()), "")
        for card in _check_cards(shape.cards, by_type.get("carousel", ())):
            taps.extend(card)
        return RenderedTemplate(
            name=name,
            text=text,
            category=stored["category"].lower(),
            header_kind=header_kind,
            quick_replies=taps.quick_replies,
            header_media_id=header_media_id,
            button_urls=taps.urls,
            coupon_code=taps.coupon_code,
            offer_expires_ms=_check_offer(shape.offer_expires, by_type.get("limited_time_offer", ())),
        )


@dataclass
class _Taps:
    """What the customer can tap in one send: quick replies (payload, label), URLs, the coupon code."""

    quick_replies: list[tuple[str, str]] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    coupon_code: str | None = None

    def extend(self, other: _Taps) -> None:
        self.quick_replies += other.quick_replies
        self.urls += other.urls


def _tap_targets(shape: _Buttons, given: Sequence[dict[str, Any]], where: str) -> _Taps:
    """Check the send's button components against the template's buttons (132000 when one names a
    button the template does not have there or leaves out a value it needs) and resolve them."""
    if not given and not shape.dynamic and shape.copy_code is None:  # nothing to check or fill in
        return _Taps(
            quick_replies=[(label, label) for _, label in shape.quick_replies], urls=[u for _, u in shape.urls]
        )
    suffixes: dict[str, str] = {}
    payloads: dict[str, str] = {}
    coupon: str | None = None
    quick = {i for i, _ in shape.quick_replies}
    for comp in given:
        index, sub_type = str(comp.get("index", "")), comp.get("sub_type")
        params = _params([comp])
        if sub_type == "url":
            if index not in shape.dynamic:
                raise SandboxError(132000, f"{where}button {index}: the template has no dynamic URL button there")
            if len(params) != 1 or not isinstance(params[0].get("text"), str):
                raise SandboxError(132000, f"{where}button {index}: a URL button takes exactly one text parameter")
            suffixes[index] = params[0]["text"]
        elif sub_type == "quick_reply":
            if index not in quick:
                raise SandboxError(132000, f"{where}button {index}: the template has no quick-reply button there")
            for p in params:
                if p.get("type") == "payload" and isinstance(p.get("payload"), str) and p["payload"]:
                    payloads[index] = _payload(p["payload"], f"{where}button {index}")
        elif sub_type == "copy_code":
            if index != shape.copy_code:
                raise SandboxError(132000, f"{where}button {index}: the template has no copy-code button there")
            code = params[0].get("coupon_code") if len(params) == 1 and params[0].get("type") == "coupon_code" else None
            if not isinstance(code, str) or not code:
                raise SandboxError(132000, f"{where}button {index}: give the code as a coupon_code parameter")
            if len(code) > MAX_COUPON_CODE:
                raise SandboxError(
                    131009, f"{where}button {index}: coupon_code has {len(code)} characters; at most {MAX_COUPON_CODE}"
                )
            coupon = code
        else:
            raise SandboxError(131009, f"{where}button {index}: sub_type {sub_type!r} is not supported")
    missing = shape.dynamic - set(suffixes)
    if missing:
        raise SandboxError(132000, f"{where}button {sorted(missing)[0]}: the URL button parameter is missing")
    if shape.copy_code is not None and coupon is None:
        raise SandboxError(132000, f"{where}button {shape.copy_code}: the copy-code button needs its coupon_code")
    return _Taps(
        quick_replies=[(payloads.get(i, label), label) for i, label in shape.quick_replies],
        urls=[_fill_url(url, suffixes.get(i, "")) for i, url in shape.urls],
        coupon_code=coupon,
    )


def _fill_url(url: str, suffix: str) -> str:
    """The address a URL button opens: its ``{{1}}`` replaced by the send's suffix."""
    return PLACEHOLDER.sub(lambda _match: suffix, url)


def _payload(value: str, where: str) -> str:
    if len(value) > MAX_QUICK_REPLY_PAYLOAD:
        raise SandboxError(131009, f"{where}: payload has {len(value)} characters; at most {MAX_QUICK_REPLY_PAYLOAD}")
    return value


def _check_offer(expires: bool | None, given: Sequence[dict[str, Any]]) -> int | None:
    """The offer's expiry (epoch ms) from the send's ``limited_time_offer`` component."""
    if expires is None:
        if given:
            raise SandboxError(132000, "limited_time_offer: the template has no limited-time offer")
        return None
    params = _params(given)
    if not expires:
        return None
    offer = params[0].get("limited_time_offer") if len(params) == 1 else None
    value = offer.get("expiration_time_ms") if isinstance(offer, dict) else None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise SandboxError(
            132000, "limited_time_offer: the template's offer expires; give expiration_time_ms (epoch milliseconds)"
        )
    return value


def _check_cards(cards: tuple[_Card, ...], given: Sequence[dict[str, Any]]) -> list[_Taps]:
    """Check a carousel send: one card per card of the template, each card_index once, every card's
    header media, body parameters and buttons (Meta answers a wrong card count with 132012)."""
    if not cards:
        if given:
            raise SandboxError(132000, "carousel: the template has no carousel")
        return []
    sent = given[0].get("cards") if len(given) == 1 else None
    if not isinstance(sent, list) or len(sent) != len(cards):
        count = len(sent) if isinstance(sent, list) else 0
        raise SandboxError(132012, f"carousel: {count} cards sent; the template has {len(cards)}, send each once")
    by_index: dict[int, dict[str, Any]] = {}
    for card in sent:
        index = card.get("card_index") if isinstance(card, dict) else None
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(cards) or index in by_index:
            raise SandboxError(131009, f"carousel: card_index {index!r} must be 0 to {len(cards) - 1}, each once")
        by_index[index] = card
    out = []
    for index, shape in enumerate(cards):
        where = f"carousel card {index}: "
        comps: dict[str, list[dict[str, Any]]] = {}
        for comp in by_index[index].get("components") or []:
            if not isinstance(comp, dict):
                raise SandboxError(131009, f"{where}each component must be an object")
            comps.setdefault(str(comp.get("type", "")).lower(), []).append(comp)
        header = _params(comps.get("header", ()))
        if len(header) != 1 or header[0].get("type") != shape.header_format:
            raise SandboxError(132012, f"{where}header component parameter should be one {shape.header_format}")
        media = header[0].get(shape.header_format)
        if not isinstance(media, dict) or not (isinstance(media.get("id"), str) or _is_link(media.get("link"))):
            raise SandboxError(131009, f"{where}header {shape.header_format}: needs a link (http/https) or an id")
        body = _params(comps.get("body", ()))
        if len(body) != shape.body_slots:
            raise SandboxError(
                132000, f"{where}body: {len(body)} parameters; the card's body has {shape.body_slots} variables"
            )
        out.append(_tap_targets(shape.buttons, comps.get("button", ()), where))
    return out


def _is_link(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://"))


def _params(comps: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for comp in comps:
        params = comp.get("parameters", [])
        if not isinstance(params, list) or not all(isinstance(p, dict) for p in params):
            raise SandboxError(131009, "Parameter parameters must be a list of objects")
        out.extend(params)
    return out


def _fill_body(shape: _Shape, given: Sequence[dict[str, Any]], named: bool) -> str:
    """The body with the send's parameters in its placeholders (a placeholder without a value stays as written)."""
    slots = shape.body_slots
    params = _params(given)
    if len(params) != len(slots):
        raise SandboxError(
            132000,
            f"body: number of localizable_params ({len(params)}) does not match the "
            f"expected number of params ({len(slots)})",
        )
    values: dict[str, str] = {}
    for i, p in enumerate(params):
        if p.get("type") not in ("text", "currency", "date_time"):
            raise SandboxError(132012, f"body parameter {i + 1}: type {p.get('type')!r} is not allowed in the body")
        if "text" not in p or not isinstance(p["text"], str):
            raise SandboxError(131008, f"body parameter {i + 1}: text is missing")
        has_name = "parameter_name" in p
        if has_name != named:
            raise SandboxError(
                132012,
                "Parameter format does not match format in the created template "
                f"({'named' if named else 'positional'})",
            )
        if named and not isinstance(p["parameter_name"], str):
            raise SandboxError(131009, f"body parameter {i + 1}: parameter_name must be a string")
        values[p["parameter_name"] if named else str(i + 1)] = p["text"]
    if named and set(values) != set(slots):
        missing = sorted(set(slots) - set(values))
        raise SandboxError(132000, f"body: named parameters do not match; missing {missing}")
    if not slots:
        return shape.body_text
    parts = []
    for before, name, written in shape.body_pieces:
        parts.append(before)
        parts.append(values.get(name, written))
    parts.append(shape.body_tail)
    return "".join(parts)


def _check_header(stored: dict[str, Any] | None, given: Sequence[dict[str, Any]]) -> tuple[str | None, str | None]:
    """The header's media kind and, when it names an uploaded file, its media id."""
    params = _params(given)
    if stored is None:
        if params:
            raise SandboxError(132000, "header: the template has no header parameters")
        return None, None
    fmt = str(stored.get("format", "TEXT")).lower()
    if fmt == "text":
        expected = len(PLACEHOLDER.findall(stored.get("text", "")))
        if len(params) != expected:
            raise SandboxError(
                132000,
                f"header: number of parameters ({len(params)}) does not match the "
                f"expected number of params ({expected})",
            )
        return None, None
    if len(params) != 1:
        raise SandboxError(132000, f"header: the template needs one {fmt} parameter")
    p = params[0]
    if p.get("type") != fmt or not isinstance(p.get(fmt), dict):
        raise SandboxError(132012, f"header: parameter type must be {fmt}, not {p.get('type')!r}")
    media = p[fmt]
    if isinstance(media.get("link"), str) and media["link"].startswith(("http://", "https://")):
        return fmt, None
    if not isinstance(media.get("id"), str):
        raise SandboxError(131009, f"header {fmt}: needs a link (http/https) or an id")
    return fmt, media["id"]


def _check_components(components: list[Any]) -> None:
    bodies = [c for c in components if isinstance(c, dict) and str(c.get("type", "")).upper() == "BODY"]
    if len(bodies) != 1:
        raise SandboxError(100, "A template needs exactly one BODY component")
    for comp in components:
        if not isinstance(comp, dict):
            raise SandboxError(100, "Each component must be an object")
        kind = str(comp.get("type", "")).upper()
        text = str(comp.get("text", ""))
        slots = PLACEHOLDER.findall(text)
        if kind == "BODY":
            if len(text) > MAX_BODY:
                raise SandboxError(100, f"BODY has {len(text)} characters; the limit is {MAX_BODY}")
            stripped = text.strip()
            if slots and (stripped.startswith("{{") or stripped.endswith("}}")):
                raise SandboxError(100, "A variable may not be at the start or the end of the BODY")
            example = comp.get("example") or {}
            if slots and not (example.get("body_text") or example.get("body_text_named_params")):
                raise SandboxError(100, "Each BODY variable needs an example (example.body_text)")
        elif kind == "HEADER":
            fmt = str(comp.get("format", "TEXT")).upper()
            if fmt == "TEXT" and (len(text) > MAX_HEADER or len(slots) > 1):
                raise SandboxError(100, f"HEADER text: at most {MAX_HEADER} characters and one variable")
            if fmt != "TEXT" and fmt.lower() not in MEDIA_TYPES + ("location",):
                raise SandboxError(100, f"HEADER format {fmt} is not supported")
        elif kind == "FOOTER":
            if len(text) > MAX_FOOTER or slots:
                raise SandboxError(100, f"FOOTER: at most {MAX_FOOTER} characters and no variables")
        elif kind == "BUTTONS":
            buttons = comp.get("buttons") or []
            if not isinstance(buttons, list) or not all(isinstance(b, dict) for b in buttons) or not buttons:
                raise SandboxError(100, "BUTTONS: a list of 1 or more button objects")
        elif kind == "LIMITED_TIME_OFFER":
            if not isinstance(comp.get("limited_time_offer"), dict):
                raise SandboxError(100, "LIMITED_TIME_OFFER: needs a limited_time_offer object (text, has_expiration)")
        elif kind == "CAROUSEL":
            cards = comp.get("cards")
            if not isinstance(cards, list) or not all(
                isinstance(c, dict) and isinstance(c.get("components"), list) for c in cards
            ):
                raise SandboxError(100, "CAROUSEL: cards must be a list of objects with components")
            if not cards:
                raise SandboxError(100, "CAROUSEL: give 2 to 10 cards")
        else:
            raise SandboxError(100, f"Unknown component type {kind!r}")


def _check_interactive(category: str, components: list[dict[str, Any]]) -> None:
    """Meta's rules for buttons, the limited-time offer and the carousel (``messages.interactive``):
    the first broken one is the 100 answer, naming the component, card and button."""
    try:
        template = Template.from_api({"category": category, "components": components})
        errors = [f for f in interactive_findings(template) if f.severity == "error"]
    except (TypeError, ValueError, AttributeError, KeyError, IndexError) as exc:
        raise SandboxError(100, f"Invalid parameter: the template's components could not be read ({exc})") from None
    if errors:
        raise SandboxError(100, errors[0].message)


def _check_ttl(value: Any, category: str) -> int | None:
    """The template's time-to-live in seconds within Meta's range for ``category`` (None: Meta's default)."""
    if value is None:
        return None
    low, high = TTL_SECONDS[category]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise invalid_param(
            f"Param message_send_ttl_seconds must be an integer from {low} to {high} for {category.lower()} templates"
        )
    return value
