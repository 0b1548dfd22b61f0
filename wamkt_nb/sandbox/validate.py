"""Check a ``POST /messages`` body like the Graph API does; return what the customer would get."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..bsuid import is_any_bsuid
from ..cloudapi import payloads as limits
from .errors import SandboxError
from .media import SUPPORTED_TYPES, media_id_error
from .templates import TemplateStore

log = logging.getLogger(__name__)
SUPPORTED = frozenset({"text", "template", "interactive", "reaction", "location", "contacts", *limits.MEDIA_TYPES})
FREE_FORM_CATEGORY = "service"


@dataclass(slots=True)  # one per accepted message, alive until its last event: no __dict__
class Outgoing:
    """A valid outbound message, reduced to what the simulation needs."""

    to: str  # as given by the caller ("input"): ``to`` or, without it, ``recipient``
    wa_id: str  # digits only, or the BSUID of a send by ``recipient``
    kind: str
    text: str  # what the customer reads (body, caption or hydrated template)
    category: str  # marketing | utility | authentication | service
    callback_data: str | None = None
    reply_to: str | None = None
    template_name: str | None = None
    template_language: str | None = None
    header_kind: str | None = None
    # Sequences, empty tuples unless the message has them: most messages have none, and an Outgoing
    # lives until its last event, so no empty list is made and kept for each.
    buttons: Sequence[tuple[str, str]] = ()  # interactive reply buttons (id, title)
    quick_replies: Sequence[tuple[str, str]] = ()  # the template's quick replies (payload, label)
    button_urls: Sequence[str] = ()  # where the template's URL buttons lead
    coupon_code: str | None = None  # the code a copy-code button copies
    media_error: str | None = None  # the uploaded file does not fit the message: it fails later with 131053
    by_user_id: bool = False  # addressed to a BSUID (``recipient``), not to a phone number (``to``)

    @property
    def is_template(self) -> bool:
        return self.kind == "template"

    @property
    def media_kind(self) -> str:
        """The media type that affects delivery (media messages and media headers)."""
        return self.header_kind or self.kind


def _need(obj: dict[str, Any], key: str, where: str) -> Any:
    if key not in obj or obj[key] in (None, ""):
        raise SandboxError(131008, f"Required parameter {where}{key} is missing")
    return obj[key]


def _text_limit(value: Any, limit: int, where: str) -> str:
    if not isinstance(value, str):
        raise SandboxError(131009, f"Parameter {where} must be a string")
    if len(value) > limit:
        raise SandboxError(100, f"Param {where} must be at most {limit} characters long")
    return value


def recipient_of(body: dict, own_number: str) -> tuple[Any, str, bool]:
    """``(input, key, by_user_id)``: the phone in ``to`` (it wins when both are there, as at Meta)
    and its digits, else the BSUID or parent BSUID in ``recipient`` (131009 when it is not one)."""
    if "to" in body or "recipient" not in body:
        return body.get("to"), normalise_recipient(body.get("to"), own_number), False
    recipient = body["recipient"]
    if not is_any_bsuid(recipient):
        raise SandboxError(
            131009, f"Parameter value is not valid: recipient={str(recipient)[:80]!r} is not a business-scoped user ID"
        )
    return recipient, recipient, True


def normalise_recipient(to: Any, own_number: str) -> str:
    """The recipient's wa_id (digits), or 131009/131021 for a bad or own number."""
    if not isinstance(to, str) or not to.strip():
        raise SandboxError(100, "The parameter to is required")
    digits = to.strip().lstrip("+").replace(" ", "").replace("-", "")
    if not digits.isdigit() or not 7 <= len(digits) <= 15:
        raise SandboxError(131009, f"Parameter value is not valid: to={to!r} is not a phone number")
    if digits == own_number:
        raise SandboxError(131021, "Recipient cannot be the sender")
    return digits


MALFORMED = (KeyError, IndexError, TypeError, ValueError, AttributeError, RecursionError, StopIteration)
"""What checking a body of a shape no rule foresaw can raise; it is the body's fault, so Meta's 100 answers it."""


def validate_message(
    body: Any, templates: TemplateStore, own_number: str, media: Callable[[str], str | None] | None = None
) -> Outgoing:
    """An :class:`Outgoing` for a valid body, else :class:`SandboxError` with Meta's code.

    ``media`` maps an uploaded media id to its MIME type (None: no such file); without it media ids
    are not checked. A body no specific check names still gets a 400 (code 100), never a 500.
    """
    try:
        return _validate(body, templates, own_number, media)
    except MALFORMED as exc:
        log.warning("sandbox: /messages body of an unexpected shape (%s: %s)", type(exc).__name__, exc)
        kind = type(exc).__name__
        raise SandboxError(100, f"Invalid parameter: the message object could not be read ({kind})") from None


def _validate(
    body: Any, templates: TemplateStore, own_number: str, media: Callable[[str], str | None] | None
) -> Outgoing:
    if not isinstance(body, dict):
        raise SandboxError(100, "Request body must be a JSON object")
    if body.get("messaging_product") != "whatsapp":
        raise SandboxError(100, "The parameter messaging_product is required and must be 'whatsapp'")
    if body.get("recipient_type", "individual") != "individual":
        raise SandboxError(100, "Param recipient_type must be 'individual'")
    to, wa_id, by_user_id = recipient_of(body, own_number)
    kind = body.get("type", "text")
    if not isinstance(kind, str) or kind not in SUPPORTED:
        raise SandboxError(131051, f"Unsupported message type: {kind!r}")
    content = body.get(kind)
    if not isinstance(content, dict):
        raise SandboxError(131008, f"Required parameter {kind} is missing (an object named like the type)")
    callback = body.get("biz_opaque_callback_data")
    if callback is not None:
        _text_limit(callback, limits.MAX_CALLBACK_DATA, "biz_opaque_callback_data")
    context = body.get("context")
    reply_to = None
    if context is not None:
        if not isinstance(context, dict) or not isinstance(context.get("message_id"), str):
            raise SandboxError(131009, "Parameter context must be an object with message_id")
        reply_to = context["message_id"]
    out = Outgoing(
        to=to,
        wa_id=wa_id,
        kind=kind,
        text="",
        category=FREE_FORM_CATEGORY,
        callback_data=callback,
        reply_to=reply_to,
        by_user_id=by_user_id,
    )
    if kind == "text":
        out.text = _text_limit(_need(content, "body", "text."), limits.MAX_TEXT_BODY, "text['body']")
        if not isinstance(content.get("preview_url", False), bool):
            raise SandboxError(131009, "Param text['preview_url'] must be a boolean")
    elif kind == "template":
        rendered = templates.render(content)
        out.text, out.category = rendered.text, rendered.category
        out.template_name, out.header_kind = rendered.name, rendered.header_kind
        out.quick_replies = rendered.quick_replies or ()  # no empty list kept (see Outgoing)
        out.button_urls, out.coupon_code = rendered.button_urls or (), rendered.coupon_code
        out.template_language = content["language"]["code"]
        if media is not None and rendered.header_media_id is not None:
            index = next(i for i, c in enumerate(content["components"]) if str(c["type"]).lower() == "header")
            where = f"template['components'][{index}]['parameters'][0]['{rendered.header_kind}']['id']"
            out.media_error = _uploaded(rendered.header_media_id, str(rendered.header_kind), where, media)
    elif kind in limits.MEDIA_TYPES:
        out.text = _media(content, kind)
        if media is not None and content.get("id"):
            out.media_error = _uploaded(str(content["id"]), kind, f"{kind}['id']", media)
    elif kind == "interactive":
        out.text, out.buttons = _interactive(content)
    elif kind == "reaction":
        _need(content, "message_id", "reaction.")
    if out.by_user_id and out.category == "authentication":
        raise SandboxError(131062, "Business-scoped User ID recipients are not supported for this message.")
    return out


def _media(content: dict[str, Any], kind: str) -> str:
    link, media_id = content.get("link"), content.get("id")
    if bool(link) == bool(media_id):
        raise SandboxError(131009, f"Parameter {kind} needs exactly one of link or id")
    if link is not None and not (isinstance(link, str) and link.startswith(("http://", "https://"))):
        raise SandboxError(131009, f"Parameter {kind}.link must be an http(s) URL")
    caption = content.get("caption")
    if caption is not None:
        if kind in ("audio", "sticker"):
            raise SandboxError(131009, f"Parameter {kind} does not take a caption")
        return _text_limit(caption, limits.MAX_CAPTION, f"{kind}['caption']")
    return ""


def _uploaded(media_id: str, kind: str, where: str, media: Callable[[str], str | None]) -> str | None:
    """Why the uploaded file cannot go out as ``kind`` (a later 131053), None if it can; 100 if there is no file."""
    mime = media(media_id)
    if mime is None:
        raise media_id_error(where)
    if kind == "document" or SUPPORTED_TYPES[mime][0] == kind:
        return None
    return f"Media {media_id} is a {mime} file, which cannot be sent as {kind}."


def _interactive(content: dict[str, Any]) -> tuple[str, list[tuple[str, str]]]:
    itype = content.get("type")
    body = content.get("body")
    if not isinstance(body, dict):
        raise SandboxError(131008, "Required parameter interactive.body is missing")
    text = _text_limit(
        _need(body, "text", "interactive.body."), limits.MAX_INTERACTIVE_BODY, "interactive['body']['text']"
    )
    footer = content.get("footer")
    if footer is not None:
        _text_limit(
            footer.get("text") if isinstance(footer, dict) else footer,
            limits.MAX_FOOTER,
            "interactive['footer']['text']",
        )
    action = content.get("action")
    if not isinstance(action, dict):
        raise SandboxError(131008, "Required parameter interactive.action is missing")
    if itype == "button":
        buttons = action.get("buttons")
        if not isinstance(buttons, list) or not 1 <= len(buttons) <= limits.MAX_BUTTONS:
            raise SandboxError(131009, f"Parameter interactive.action.buttons needs 1 to {limits.MAX_BUTTONS} buttons")
        out = []
        for i, b in enumerate(buttons):
            reply = b.get("reply") if isinstance(b, dict) else None
            if not isinstance(reply, dict) or b.get("type") != "reply":
                raise SandboxError(131009, f"Button {i}: must be {{'type': 'reply', 'reply': {{...}}}}")
            bid = _text_limit(
                _need(reply, "id", f"buttons[{i}].reply."), limits.MAX_BUTTON_ID, f"buttons[{i}].reply.id"
            )
            title = _text_limit(
                _need(reply, "title", f"buttons[{i}].reply."), limits.MAX_BUTTON_TITLE, f"buttons[{i}].reply.title"
            )
            out.append((bid, title))
        if len({bid for bid, _ in out}) != len(out):
            raise SandboxError(131009, "Button ids must be unique")
        return text, out
    if itype == "list":
        sections = action.get("sections")
        if not isinstance(sections, list) or not sections or not isinstance(action.get("button"), str):
            raise SandboxError(131009, "Parameter interactive.action needs a button label and sections")
        rows = []
        for i, section in enumerate(sections):
            section_rows = section.get("rows") if isinstance(section, dict) else None
            if not isinstance(section_rows, list) or not section_rows:
                raise SandboxError(131009, f"Parameter interactive.action.sections[{i}] needs a list of rows")
            for j, row in enumerate(section_rows):
                where = f"sections[{i}].rows[{j}]"
                if not isinstance(row, dict) or not all(isinstance(row.get(k), str) for k in ("id", "title")):
                    raise SandboxError(131009, f"Parameter {where} must be an object with id and title strings")
                rows.append((row["id"], row["title"]))
        return text, rows
    if itype == "cta_url":
        return text, []
    raise SandboxError(131009, f"Parameter interactive.type {itype!r} is not supported (button, list, cta_url)")
