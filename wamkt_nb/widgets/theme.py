"""One style sheet for every widget, written in JupyterLab's CSS variables.

Text takes ``--jp-ui-font-color1`` on ``--jp-layout-color1``/``2`` in both themes; states
(ok, warning, error) are told by a coloured left border and an icon, never by coloured text alone,
because JupyterLab's dark error and warning colours on its dark background stay below WCAG AA's
4.5:1 for text. Charts (matplotlib, drawn on white) sit on a light card in either theme. Rows of
controls wrap instead of clipping at narrow widths.

``THEMES`` holds the variable values of JupyterLab 4's light and dark themes (from their
``index.css``), so the text pairs' contrast is checked in a unit test.
"""

from __future__ import annotations

from string import Template

import ipywidgets as W

THEMES: dict[str, dict[str, str]] = {
    "light": {
        "--jp-layout-color1": "#ffffff",
        "--jp-layout-color2": "#eeeeee",
        "--jp-ui-font-color1": "rgba(0,0,0,.87)",
        "--jp-ui-font-color2": "rgba(0,0,0,.54)",
        "--jp-error-color1": "#d32f2f",
        "--jp-warn-color1": "#f57c00",
        "--jp-success-color1": "#388e3c",
        "--jp-brand-color1": "#1976d2",
    },
    "dark": {
        "--jp-layout-color1": "#212121",
        "--jp-layout-color2": "#424242",
        "--jp-ui-font-color1": "rgba(255,255,255,.87)",
        "--jp-ui-font-color2": "rgba(255,255,255,.54)",
        "--jp-error-color1": "#f44336",
        "--jp-warn-color1": "#ff9800",
        "--jp-success-color1": "#4caf50",
        "--jp-brand-color1": "#2196f3",
    },
}

TEXT_PAIRS = (("--jp-ui-font-color1", "--jp-layout-color1"), ("--jp-ui-font-color1", "--jp-layout-color2"))
"""(text, background) pairs the style sheet uses for words; each must reach 4.5:1 in both themes."""

BUBBLE = {
    "chat": "#efeae2",
    "bubble": "#d9fdd3",
    "text": "#111b21",
    "who": "#4a5a63",
    "warn": "#8a4500",
    "button": "#005c87",
}
"""WhatsApp-like chat colours: a light card with its own dark text in both themes."""

CARD_PAIRS = (
    (BUBBLE["text"], BUBBLE["bubble"]),
    (BUBBLE["text"], BUBBLE["chat"]),
    (BUBBLE["who"], BUBBLE["bubble"]),
    (BUBBLE["warn"], BUBBLE["bubble"]),
    (BUBBLE["button"], BUBBLE["bubble"]),
    ("#111b21", "#ffffff"),
    (BUBBLE["who"], "#ffffff"),
    (BUBBLE["button"], "#ffffff"),
    (BUBBLE["who"], "#e9edef"),
)
"""Fixed colours on the fixed light cards (chat bubbles, chart cards): the same in both themes."""

CSS = Template("""
.wamkt-widget{color:var(--jp-ui-font-color1);max-width:100%;box-sizing:border-box}
.wamkt-widget table{color:var(--jp-ui-font-color1);border-collapse:collapse;font-size:var(--jp-ui-font-size1)}
.wamkt-widget th,.wamkt-widget td{border-bottom:1px solid var(--jp-border-color2);padding:2px 6px;text-align:left}
.wamkt-status>div{color:var(--jp-ui-font-color1);background:var(--jp-layout-color2);padding:4px 8px;
 border-left:4px solid var(--jp-brand-color1);margin:2px 0;white-space:normal}
.wamkt-status-ok{border-left-color:var(--jp-success-color1)!important}
.wamkt-status-ok::before{content:"\\2714  "}
.wamkt-status-warn{border-left-color:var(--jp-warn-color1)!important}
.wamkt-status-warn::before{content:"\\26A0  "}
.wamkt-status-error{border-left-color:var(--jp-error-color1)!important;font-weight:600}
.wamkt-status-error::before{content:"\\2716  "}
.wamkt-badge{display:inline-block;padding:0 6px;border-radius:3px;font-weight:600;
 color:var(--jp-ui-font-color1);background:var(--jp-layout-color2);border:1px solid var(--jp-border-color1)}
.wamkt-good{border-left:4px solid var(--jp-success-color1);padding-left:4px;font-weight:600}
.wamkt-bad{border-left:4px solid var(--jp-error-color1);padding-left:4px;font-weight:600}
.wamkt-chat{background:$chat;color:$text;padding:8px;border-radius:6px;display:flex;flex-direction:column;gap:6px}
.wamkt-bubble{background:$bubble;color:$text;border-radius:8px;padding:6px 9px;max-width:340px;
 box-shadow:0 1px .5px #0002;font:13px/1.35 system-ui,sans-serif;white-space:pre-wrap;align-self:flex-end}
.wamkt-bubble .who{font-size:11px;color:$who;margin-bottom:2px}
.wamkt-bubble .warn{font-size:11px;color:$warn;margin-top:3px}
.wamkt-bubble .btn{display:block;text-align:center;color:$button;border-top:1px solid #0001;
 margin-top:4px;padding-top:3px}
.wamkt-bubble code{background:#ffffff;color:$text;border:1px dashed $who;padding:0 4px;border-radius:3px}
.wamkt-bubble .offer{background:#ffffff;color:$text;border-left:4px solid $button;padding:3px 6px;
 margin-bottom:4px;border-radius:4px}
.wamkt-bubble .offer .countdown{font-size:11px;color:$who}
.wamkt-bubble .cards{display:flex;gap:6px;overflow-x:auto;margin-top:6px;white-space:normal}
.wamkt-bubble .card{background:#ffffff;color:$text;border-radius:6px;padding:4px;min-width:130px;max-width:150px}
.wamkt-bubble .card .media{background:#e9edef;color:$who;text-align:center;padding:18px 0;border-radius:4px}
.wamkt-arm{font-weight:600;font-size:12px;color:var(--jp-ui-font-color1)}
.wamkt-finding-error::marker{content:"\\2716  "}
.wamkt-finding-warning::marker{content:"\\26A0  "}
.wamkt-card{background:#ffffff;color:#111b21;border:1px solid var(--jp-border-color2);border-radius:6px;padding:6px}
.wamkt-wrap{flex-wrap:wrap;gap:4px}
.wamkt-controls{min-width:340px;flex:0 0 auto}
.wamkt-widget .widget-dropdown select{text-overflow:ellipsis}
.wamkt-widget .widget-button{width:auto;min-width:max-content}
""").substitute(BUBBLE)


def style() -> W.HTML:
    """The style sheet as a widget; put it in a widget's children (idempotent when repeated)."""
    sheet = W.HTML(f"<style>{CSS}</style>", layout=W.Layout(height="0px", margin="0"))
    sheet.add_class("wamkt-style")
    return sheet


def themed(widget: W.Box) -> W.Box:
    """Give ``widget`` the shared style: its class and the style sheet as its last child."""
    widget.add_class("wamkt-widget")
    widget.children = (*widget.children, style())
    return widget


def wrap(*children: W.Widget) -> W.HBox:
    """A row of controls that wraps onto a new line instead of clipping its inputs."""
    row = W.HBox(list(children), layout=W.Layout(flex_flow="row wrap"))
    row.add_class("wamkt-wrap")
    return row


def _rgb(value: str) -> tuple[float, float, float, float]:
    value = value.strip()
    if value.startswith("#"):
        h = value[1:]
        if len(h) == 3:
            h = "".join(c * 2 for c in h)
        return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16), 1.0
    if value.startswith(("rgba(", "rgb(")):
        parts = [float(p) for p in value[value.index("(") + 1 : -1].split(",")]
        r, g, b, a = (parts + [1.0])[:4]
        return r, g, b, a
    raise ValueError(f"colour {value!r}: use #rrggbb, rgb(r,g,b) or rgba(r,g,b,a)")


def _luminance(rgb: tuple[float, float, float]) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(text: str, background: str) -> float:
    """WCAG 2 contrast ratio of ``text`` (may be translucent) drawn on an opaque ``background``."""
    br, bg, bb, _ = _rgb(background)
    tr, tg, tb, alpha = _rgb(text)
    mixed = (tr * alpha + br * (1 - alpha), tg * alpha + bg * (1 - alpha), tb * alpha + bb * (1 - alpha))
    hi, lo = sorted((_luminance(mixed), _luminance((br, bg, bb))), reverse=True)
    return (hi + 0.05) / (lo + 0.05)
