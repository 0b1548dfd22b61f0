"""The interactive parts of a template as the chat bubble shows them: buttons (quick reply, URL,
phone, copy code with its code), the limited-time offer's countdown or expiry, and carousel cards.

HTML only, in the fixed light chat colours of :mod:`.theme` (readable in both JupyterLab themes).
"""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

from ..messages import MessageSpec, Template
from ..messages.templates import Button, Card, render_text

ICONS = {"QUICK_REPLY": "↩", "URL": "↗", "PHONE_NUMBER": "✆", "COPY_CODE": "⧉"}


def interactive_html(t: Template | None, spec: MessageSpec, now: Any = None) -> str:
    """The offer strip, the buttons and the carousel of ``t`` sent as ``spec`` at ``now``."""
    if t is None:
        return ""
    parts = []
    if t.offer is not None:
        parts.append(offer_html(t, spec, now))
    parts.append(buttons_html(t.buttons, spec.coupon_code))
    if t.cards:
        parts.append(cards_html(t.cards, spec))
    return "".join(parts)


def offer_html(t: Template, spec: MessageSpec, now: Any = None) -> str:
    """The offer's text and, with ``has_expiration``, the time left until ``spec.offer_expires_at``."""
    assert t.offer is not None
    text = f"<b>{html.escape(t.offer.text)}</b>"
    if t.offer.has_expiration:
        text += f"<div class='countdown'>{html.escape(countdown(spec.offer_expires_at, now))}</div>"
    return f"<div class='offer'>{text}</div>"


def countdown(expires: Any, now: Any = None) -> str:
    """ "Ends in 2 d 4 h (Sun 6 Dec, 23:59 UTC)", "Offer ended …", or a note that no end is set."""
    if expires is None:
        return "Offer end not set (offer_expires_at)"
    end = pd.Timestamp(expires)
    end = end.tz_localize("UTC") if end.tzinfo is None else end
    start = pd.Timestamp.now(tz="UTC") if now is None else pd.Timestamp(now)
    start = start.tz_localize("UTC") if start.tzinfo is None else start
    when = end.strftime("%a %d %b, %H:%M %Z")
    left = end - start
    if left <= pd.Timedelta(0):
        return f"Offer ended {when}"
    days, hours, minutes = left.days, left.seconds // 3600, left.seconds % 3600 // 60
    span = f"{days} d {hours} h" if days else f"{hours} h {minutes} min"
    return f"Ends in {span} ({when})"


def buttons_html(buttons: tuple[Button, ...], coupon_code: str | None = None) -> str:
    """One line per button, with its kind's icon; a copy-code button shows the code it copies."""
    out = []
    for b in buttons:
        label = f"{ICONS.get(b.type, '')} {html.escape(b.text)}"
        if b.type == "COPY_CODE":
            label += f" <code>{html.escape(coupon_code or b.example or '')}</code>"
        title = f" title='{html.escape(b.url or b.phone_number or '')}'" if b.url or b.phone_number else ""
        out.append(f"<span class='btn btn-{b.type.lower()}'{title}>{label}</span>")
    return "".join(out)


def cards_html(cards: tuple[Card, ...], spec: MessageSpec) -> str:
    """The carousel as a row of cards: header media, body with its example values, buttons."""
    media = list(spec.card_media) or [c.header for c in cards]
    out = []
    for i, (card, ref) in enumerate(zip(cards, media, strict=False)):
        body = render_text(card.body, card.examples, 1).iloc[0] if card.body else ""
        header = f"<div class='media' title='{html.escape(ref)}'>{card.header_format.title()} {i + 1}</div>"
        out.append(f"<div class='card'>{header}<div>{html.escape(body)}</div>{buttons_html(card.buttons)}</div>")
    return f"<div class='cards'>{''.join(out)}</div>"
