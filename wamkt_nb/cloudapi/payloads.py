"""Builders for ``POST /{phone_number_id}/messages`` bodies, producing exactly Meta's JSON.

The length limits live here too, so the sandbox validates with the same numbers. Every builder's
``to`` is a phone number or a business-scoped user ID (BSUID): Meta takes a phone in ``to`` and a
BSUID or parent BSUID in ``recipient`` (:func:`recipient_fields`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..bsuid import is_any_bsuid

MAX_TEXT_BODY = 4096
MAX_CAPTION = 1024
MAX_INTERACTIVE_BODY = 1024
MAX_FOOTER = 60
MAX_HEADER_TEXT = 60
MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_BUTTON_ID = 256
MAX_CALLBACK_DATA = 512
MAX_COUPON_CODE = 15
MAX_QUICK_REPLY_PAYLOAD = 256
MEDIA_TYPES = ("image", "document", "video", "audio", "sticker")

Params = Sequence[str] | Mapping[str, str]


def recipient_fields(to: str) -> dict[str, str]:
    """``{"recipient": bsuid}`` for a BSUID or parent BSUID, else ``{"to": phone}``.

    Meta lets ``to`` win when a body has both, so a BSUID send carries no ``to`` at all.
    """
    return {"recipient": to} if is_any_bsuid(to) else {"to": to}


def _envelope(
    to: str, kind: str, content: dict[str, Any], callback_data: str | None, reply_to: str | None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        **recipient_fields(to),
        "type": kind,
    }
    if reply_to:
        body["context"] = {"message_id": reply_to}
    body[kind] = content
    if callback_data is not None:
        if len(callback_data) > MAX_CALLBACK_DATA:
            raise ValueError(f"biz_opaque_callback_data is longer than {MAX_CALLBACK_DATA} characters")
        body["biz_opaque_callback_data"] = callback_data
    return body


def _media_object(ref: str, caption: str | None = None, filename: str | None = None) -> dict[str, Any]:
    """``{"link": ...}`` for URLs, ``{"id": ...}`` for uploaded media ids."""
    obj: dict[str, Any] = {"link": ref} if ref.startswith(("http://", "https://")) else {"id": ref}
    if caption is not None:
        obj["caption"] = caption
    if filename is not None:
        obj["filename"] = filename
    return obj


def text_message(
    to: str, body: str, preview_url: bool = False, callback_data: str | None = None, reply_to: str | None = None
) -> dict[str, Any]:
    """A free-form text message (only inside the customer's 24 h service window)."""
    if not body:
        raise ValueError("text body is empty")
    if len(body) > MAX_TEXT_BODY:
        raise ValueError(f"text body has {len(body)} characters; the limit is {MAX_TEXT_BODY}")
    return _envelope(to, "text", {"preview_url": bool(preview_url), "body": body}, callback_data, reply_to)


def _text_params(params: Params) -> list[dict[str, str]]:
    if isinstance(params, Mapping):
        return [{"type": "text", "parameter_name": str(k), "text": str(v)} for k, v in params.items()]
    return [{"type": "text", "text": str(v)} for v in params]


def template_message(
    to: str,
    name: str,
    language: str,
    body_params: Params | None = None,
    header_media: tuple[str, str] | None = None,
    button_params: Sequence[str] | Mapping[int, str] | None = None,
    callback_data: str | None = None,
    header_params: Params | None = None,
    quick_reply_payloads: Sequence[str] | Mapping[int, str] | None = None,
    coupon: tuple[int, str] | None = None,
    offer_expires_ms: int | None = None,
    cards: Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """A template message.

    ``body_params``: a list for positional ``{{1}}``.. templates or a dict for named ones.
    ``header_media``: ``("image" | "document" | "video", link_or_media_id)``.
    ``button_params``: URL-button suffixes by button index (a list means indexes 0, 1, ...).
    ``quick_reply_payloads``: the payload Meta returns when a quick-reply button is tapped, by button
    index (e.g. ``{1: "STOP"}`` for a "Stop promotions" button); without one Meta returns the label.
    ``coupon``: ``(button index, code)`` for a copy-code button (at most 15 characters).
    ``offer_expires_ms``: when a limited-time offer with ``has_expiration`` ends (epoch milliseconds).
    ``cards``: a carousel's cards, each from :func:`carousel_card`, in card order.
    """
    components: list[dict[str, Any]] = []
    if header_media is not None:
        components.append(_media_header(header_media))
    elif header_params:
        components.append({"type": "header", "parameters": _text_params(header_params)})
    if body_params:
        components.append({"type": "body", "parameters": _text_params(body_params)})
    if offer_expires_ms is not None:
        components.append(
            {
                "type": "limited_time_offer",
                "parameters": [
                    {"type": "limited_time_offer", "limited_time_offer": {"expiration_time_ms": int(offer_expires_ms)}}
                ],
            }
        )
    if coupon is not None:
        index, code = coupon
        if not code or len(code) > MAX_COUPON_CODE:
            raise ValueError(f"coupon code {code!r}: 1 to {MAX_COUPON_CODE} characters")
        components.append(
            {
                "type": "button",
                "sub_type": "copy_code",
                "index": index,
                "parameters": [{"type": "coupon_code", "coupon_code": code}],
            }
        )
    components += _button_components(button_params, quick_reply_payloads)
    if cards:
        components.append({"type": "carousel", "cards": [dict(c) for c in cards]})
    template: dict[str, Any] = {"name": name, "language": {"code": language}}
    if components:
        template["components"] = components
    return _envelope(to, "template", template, callback_data, None)


def carousel_card(
    index: int,
    header_media: tuple[str, str],
    body_params: Sequence[str] | None = None,
    button_params: Sequence[str] | Mapping[int, str] | None = None,
    quick_reply_payloads: Sequence[str] | Mapping[int, str] | None = None,
) -> dict[str, Any]:
    """One card of a carousel template send: ``card_index``, its header media (required in every
    send), its body parameters, and its buttons' URL suffixes and quick-reply payloads."""
    components = [_media_header(header_media)]
    if body_params:
        components.append({"type": "body", "parameters": _text_params(body_params)})
    components += _button_components(button_params, quick_reply_payloads)
    return {"card_index": index, "components": components}


def _media_header(header_media: tuple[str, str]) -> dict[str, Any]:
    kind, ref = header_media
    if kind not in MEDIA_TYPES:
        raise ValueError(f"header media type must be one of {', '.join(MEDIA_TYPES)}, not {kind!r}")
    return {"type": "header", "parameters": [{"type": kind, kind: _media_object(ref)}]}


def _button_components(
    button_params: Sequence[str] | Mapping[int, str] | None,
    quick_reply_payloads: Sequence[str] | Mapping[int, str] | None,
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for index, suffix in _by_index(button_params):
        out.append(
            {
                "type": "button",
                "sub_type": "url",
                "index": str(index),
                "parameters": [{"type": "text", "text": str(suffix)}],
            }
        )
    for index, payload in _by_index(quick_reply_payloads):
        if not payload or len(str(payload)) > MAX_QUICK_REPLY_PAYLOAD:
            raise ValueError(f"quick-reply payload of button {index}: 1 to {MAX_QUICK_REPLY_PAYLOAD} characters")
        out.append(
            {
                "type": "button",
                "sub_type": "quick_reply",
                "index": str(index),
                "parameters": [{"type": "payload", "payload": str(payload)}],
            }
        )
    return out


def _by_index(values: Sequence[str] | Mapping[int, str] | None) -> list[tuple[int, str]]:
    if not values:
        return []
    return list(values.items()) if isinstance(values, Mapping) else list(enumerate(values))


def media_message(
    to: str,
    kind: str,
    ref: str,
    caption: str | None = None,
    filename: str | None = None,
    callback_data: str | None = None,
    reply_to: str | None = None,
) -> dict[str, Any]:
    """An image/document/video/audio message by link (``https://...``) or uploaded media id."""
    if kind not in MEDIA_TYPES:
        raise ValueError(f"media type must be one of {', '.join(MEDIA_TYPES)}, not {kind!r}")
    if caption is not None and len(caption) > MAX_CAPTION:
        raise ValueError(f"caption has {len(caption)} characters; the limit is {MAX_CAPTION}")
    return _envelope(to, kind, _media_object(ref, caption, filename), callback_data, reply_to)


def buttons_message(
    to: str,
    body: str,
    buttons: Sequence[tuple[str, str]] | Mapping[str, str],
    header: str | None = None,
    footer: str | None = None,
    callback_data: str | None = None,
    reply_to: str | None = None,
) -> dict[str, Any]:
    """Interactive reply buttons: ``buttons`` are ``(id, title)`` pairs (at most 3, titles ≤ 20)."""
    pairs = list(buttons.items()) if isinstance(buttons, Mapping) else list(buttons)
    if not 1 <= len(pairs) <= MAX_BUTTONS:
        raise ValueError(f"reply buttons: 1 to {MAX_BUTTONS} buttons, got {len(pairs)}")
    for bid, title in pairs:
        if not title or len(title) > MAX_BUTTON_TITLE:
            raise ValueError(f"button {bid!r}: title must have 1-{MAX_BUTTON_TITLE} characters")
    if len(body) > MAX_INTERACTIVE_BODY:
        raise ValueError(f"body has {len(body)} characters; the limit is {MAX_INTERACTIVE_BODY}")
    if footer is not None and len(footer) > MAX_FOOTER:
        raise ValueError(f"footer has {len(footer)} characters; the limit is {MAX_FOOTER}")
    interactive: dict[str, Any] = {"type": "button"}
    if header is not None:
        interactive["header"] = {"type": "text", "text": header}
    interactive["body"] = {"text": body}
    if footer is not None:
        interactive["footer"] = {"text": footer}
    interactive["action"] = {
        "buttons": [{"type": "reply", "reply": {"id": str(bid), "title": str(title)}} for bid, title in pairs]
    }
    return _envelope(to, "interactive", interactive, callback_data, reply_to)
