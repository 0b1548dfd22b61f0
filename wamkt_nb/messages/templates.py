"""Message templates: the model, Meta's component JSON both ways, and rendering to the shown text.

A template's text holds ``{{1}}``-style (positional) or ``{{first_name}}``-style (named) variables.
Rendering is vectorised: give each variable a string Series and get one Series of messages back.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

CATEGORIES = ("MARKETING", "UTILITY", "AUTHENTICATION")
MEDIA_FORMATS = ("IMAGE", "VIDEO", "DOCUMENT")
BUTTON_TYPES = ("QUICK_REPLY", "URL", "PHONE_NUMBER", "COPY_CODE")
CARD_HEADER_FORMATS = ("IMAGE", "VIDEO")
COPY_CODE_LABEL = "Copy code"
"""What WhatsApp shows on a copy-code button: Meta does not let the business choose its text."""
VARIABLE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
"""Any ``{{...}}`` placeholder; validation decides whether its name is allowed."""


@dataclass(frozen=True)
class Button:
    """A template button.

    ``QUICK_REPLY``: a label the customer taps (the send may give it a payload). ``URL``: ``url``
    may end in one ``{{1}}`` whose suffix each send fills (``example`` is a full example URL).
    ``PHONE_NUMBER``: ``phone_number``. ``COPY_CODE``: copies the coupon code each send gives;
    ``example`` is an example code and the label is WhatsApp's own (:data:`COPY_CODE_LABEL`).
    """

    type: str
    text: str = ""
    url: str | None = None
    phone_number: str | None = None
    example: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", self.type.upper())
        if self.type == "COPY_CODE" and not self.text:
            object.__setattr__(self, "text", COPY_CODE_LABEL)

    @property
    def is_dynamic(self) -> bool:
        """A URL button whose address ends in a variable each send fills."""
        return self.type == "URL" and bool(self.url) and VARIABLE.search(self.url or "") is not None

    def to_api(self) -> dict[str, Any]:
        if self.type == "COPY_CODE":
            return {"type": "COPY_CODE", "example": self.example or ""}
        out: dict[str, Any] = {"type": self.type, "text": self.text}
        if self.url is not None:
            out["url"] = self.url
            if self.example:
                out["example"] = [self.example]
        if self.phone_number is not None:
            out["phone_number"] = self.phone_number
        return out

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Button:
        example = data.get("example")
        if isinstance(example, list):
            example = example[0] if example else None
        return cls(
            type=str(data.get("type", "")).upper(),
            text=str(data.get("text", "")),
            url=_text_or_none(data.get("url")),
            phone_number=_text_or_none(data.get("phone_number")),
            example=_text_or_none(example),
        )


@dataclass(frozen=True)
class LimitedTimeOffer:
    """A limited-time offer: ``text`` above the body (e.g. "Expiring offer!") and, with
    ``has_expiration``, a countdown to the expiry each send gives (``expiration_time_ms``)."""

    text: str
    has_expiration: bool = False

    def to_api(self) -> dict[str, Any]:
        return {
            "type": "LIMITED_TIME_OFFER",
            "limited_time_offer": {"text": self.text, "has_expiration": self.has_expiration},
        }

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> LimitedTimeOffer:
        offer = data.get("limited_time_offer") or {}
        return cls(text=str(offer.get("text", "")), has_expiration=bool(offer.get("has_expiration", False)))


@dataclass(frozen=True)
class Card:
    """One card of a carousel: an image or video header (``header`` is its example handle or link),
    an optional body with its own variables and examples, and up to two buttons."""

    header_format: str = "IMAGE"
    header: str = ""
    body: str | None = None
    buttons: tuple[Button, ...] = ()
    examples: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "header_format", self.header_format.upper())
        object.__setattr__(self, "buttons", tuple(self.buttons))
        object.__setattr__(self, "examples", dict(self.examples))

    @property
    def body_variables(self) -> list[str]:
        return variables(self.body or "")

    def to_api(self) -> dict[str, Any]:
        comps: list[dict[str, Any]] = [
            {"type": "HEADER", "format": self.header_format, "example": {"header_handle": [self.header]}}
        ]
        if self.body is not None:
            body: dict[str, Any] = {"type": "BODY", "text": self.body}
            names = self.body_variables
            if names:
                body["example"] = {"body_text": [[self.examples.get(n, "") for n in names]]}
            comps.append(body)
        if self.buttons:
            comps.append({"type": "BUTTONS", "buttons": [b.to_api() for b in self.buttons]})
        return {"components": comps}

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Card:
        kwargs: dict[str, Any] = {"examples": {}}
        for comp in data.get("components") or []:
            kind = str(comp.get("type", "")).upper()
            example = comp.get("example") or {}
            if kind == "HEADER":
                kwargs["header_format"] = str(comp.get("format", "")).upper()
                kwargs["header"] = str((example.get("header_handle") or [""])[0])
            elif kind == "BODY":
                kwargs["body"] = str(comp.get("text", ""))
                kwargs["examples"].update(_examples(variables(kwargs["body"]), example, "body_text"))
            elif kind == "BUTTONS":
                kwargs["buttons"] = tuple(Button.from_api(b) for b in comp.get("buttons") or [])
        return cls(**kwargs)


@dataclass(frozen=True)
class Template:
    """One template in one language, as drafted locally or as the API knows it.

    ``examples`` maps each variable name (``"1"`` or ``"first_name"``) to an example value; Meta
    requires one for every variable in the header and body.
    """

    name: str
    language: str
    category: str
    body: str
    header: str | None = None
    header_format: str | None = None  # TEXT, IMAGE, VIDEO, DOCUMENT (None: no header)
    footer: str | None = None
    buttons: tuple[Button, ...] = ()
    examples: Mapping[str, str] = field(default_factory=dict)
    offer: LimitedTimeOffer | None = None
    cards: tuple[Card, ...] = ()
    parameter_format: str = "POSITIONAL"
    status: str = "DRAFT"
    id: str | None = None
    rejected_reason: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "category", self.category.upper())
        object.__setattr__(self, "parameter_format", self.parameter_format.upper())
        if self.header is not None and self.header_format is None:
            object.__setattr__(self, "header_format", "TEXT")
        object.__setattr__(self, "buttons", tuple(self.buttons))
        object.__setattr__(self, "cards", tuple(self.cards))
        object.__setattr__(self, "examples", dict(self.examples))

    @property
    def body_variables(self) -> list[str]:
        return variables(self.body)

    @property
    def header_variables(self) -> list[str]:
        return variables(self.header or "") if self.header_format == "TEXT" else []

    @property
    def has_media(self) -> bool:
        return self.header_format in MEDIA_FORMATS

    def with_status(self, status: str, id: str | None = None, rejected_reason: str | None = None) -> Template:
        return replace(
            self, status=status.upper(), id=id if id is not None else self.id, rejected_reason=rejected_reason
        )

    def to_api(self) -> list[dict[str, Any]]:
        """The ``components`` list Meta expects when creating the template (examples included)."""
        named = self.parameter_format == "NAMED"
        out: list[dict[str, Any]] = []
        if self.header_format == "TEXT" and self.header is not None:
            comp: dict[str, Any] = {"type": "HEADER", "format": "TEXT", "text": self.header}
            names = self.header_variables
            if names:
                comp["example"] = (
                    {
                        "header_text_named_params": [
                            {"param_name": n, "example": self.examples.get(n, "")} for n in names
                        ]
                    }
                    if named
                    else {"header_text": [self.examples.get(n, "") for n in names]}
                )
            out.append(comp)
        elif self.header_format in MEDIA_FORMATS:
            out.append(
                {"type": "HEADER", "format": self.header_format, "example": {"header_handle": [self.header or ""]}}
            )
        if self.offer is not None:
            out.append(self.offer.to_api())
        body: dict[str, Any] = {"type": "BODY", "text": self.body}
        names = self.body_variables
        if names:
            body["example"] = (
                {"body_text_named_params": [{"param_name": n, "example": self.examples.get(n, "")} for n in names]}
                if named
                else {"body_text": [[self.examples.get(n, "") for n in names]]}
            )
        out.append(body)
        if self.footer is not None:
            out.append({"type": "FOOTER", "text": self.footer})
        if self.buttons:
            out.append({"type": "BUTTONS", "buttons": [b.to_api() for b in self.buttons]})
        if self.cards:
            out.append({"type": "CAROUSEL", "cards": [c.to_api() for c in self.cards]})
        return out

    @classmethod
    def from_api(cls, data: Any) -> Template:
        """From a templates-endpoint record (a dict or :class:`wamkt_nb.cloudapi.models.TemplateInfo`)."""
        get = (
            (lambda k, d=None: data.get(k, d)) if isinstance(data, Mapping) else (lambda k, d=None: getattr(data, k, d))
        )
        kwargs: dict[str, Any] = {"examples": {}}
        buttons: list[Button] = []
        for comp in get("components") or []:
            kind = str(comp.get("type", "")).upper()
            example = comp.get("example") or {}
            if kind == "HEADER":
                kwargs["header_format"] = str(comp.get("format", "TEXT")).upper()
                if kwargs["header_format"] == "TEXT":
                    kwargs["header"] = comp.get("text", "")
                    kwargs["examples"].update(_examples(variables(kwargs["header"]), example, "header_text"))
                else:
                    handles = example.get("header_handle") or [""]
                    kwargs["header"] = handles[0]
            elif kind == "BODY":
                kwargs["body"] = comp.get("text", "")
                kwargs["examples"].update(_examples(variables(kwargs["body"]), example, "body_text"))
            elif kind == "FOOTER":
                kwargs["footer"] = comp.get("text", "")
            elif kind == "BUTTONS":
                buttons = [Button.from_api(b) for b in comp.get("buttons") or []]
            elif kind == "LIMITED_TIME_OFFER":
                kwargs["offer"] = LimitedTimeOffer.from_api(comp)
            elif kind == "CAROUSEL":
                kwargs["cards"] = tuple(Card.from_api(c) for c in comp.get("cards") or [])
        return cls(
            name=str(get("name", "")),
            language=str(get("language", "")),
            category=str(get("category", "")),
            body=kwargs.pop("body", ""),
            buttons=tuple(buttons),
            parameter_format=str(get("parameter_format") or "POSITIONAL"),
            status=str(get("status") or "DRAFT"),
            id=(str(get("id")) if get("id") else None),
            rejected_reason=get("rejected_reason"),
            **kwargs,
        )

    def render(self, values: Mapping[str, str]) -> str:
        """The text one customer sees, for one set of variable values."""
        one = {k: pd.Series([v], dtype="str") for k, v in values.items()}
        return str(self.render_series(one, 1).iloc[0])

    def render_series(self, values: Mapping[str, pd.Series | str], n: int) -> pd.Series:
        """The shown text for ``n`` customers: header, body and footer on their own lines."""
        parts = []
        if self.header_format == "TEXT" and self.header:
            parts.append(render_text(self.header, values, n))
        parts.append(render_text(self.body, values, n))
        if self.footer:
            parts.append(render_text(self.footer, values, n))
        out = parts[0]
        for part in parts[1:]:
            out = out + "\n" + part
        return out


def variables(text: str) -> list[str]:
    """The variable names in order of appearance (repeats kept)."""
    return [m.group(1) for m in VARIABLE.finditer(text)]


def render_text(text: str, values: Mapping[str, pd.Series | str], n: int) -> pd.Series:
    """Replace every ``{{name}}`` with ``values[name]`` (``n`` strings by position, or a constant).

    One Arrow kernel call joins all pieces, so a million messages take a fraction of a second.
    """
    pieces = VARIABLE.split(text)  # literal, name, literal, name, ..., literal
    missing = sorted({p for p in pieces[1::2] if p not in values})
    if missing:
        raise KeyError(f"no value for template variable(s) {', '.join('{{' + m + '}}' for m in missing)}")
    parts: list[Any] = []
    for i, piece in enumerate(pieces):
        value = values[piece] if i % 2 else piece
        if isinstance(value, pd.Series):
            if len(value) != n:
                raise ValueError(f"variable {{{{{piece}}}}}: {len(value)} values for {n} messages")
            parts.append(to_arrow(value))
        elif value:
            parts.append(pa.scalar(str(value), pa.large_string()))
    if not any(isinstance(p, pa.Array) for p in parts):
        return pd.Series(np.full(n, "".join(p.as_py() for p in parts), dtype=object), dtype="str")
    joined = pc.binary_join_element_wise(*parts, pa.scalar("", pa.large_string()))
    return from_arrow(joined)


def to_arrow(values: pd.Series) -> pa.Array:
    """A Series of strings as one Arrow ``large_string`` array (no copy for Arrow-backed strings)."""
    if isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow":
        arr = pa.array(values.array)
    else:
        try:
            arr = pa.array(values.to_numpy(dtype=object, na_value=None), pa.large_string(), from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed types, e.g. numbers among strings
            arr = pa.array(values.astype("str").to_numpy(dtype=object, na_value=None), pa.large_string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr.cast(pa.large_string()) if arr.type != pa.large_string() else arr


def from_arrow(values: pa.Array, index: pd.Index | None = None) -> pd.Series:
    """An Arrow string array as a pandas ``str`` Series (no copy)."""
    return pd.Series(values, index=index, dtype="str")


def template_from_text(
    name: str,
    language: str,
    category: str,
    body: str,
    *,
    examples: Mapping[str, str] | None = None,
    footer: str | None = None,
    header: str | None = None,
    buttons: Sequence[Button] = (),
    offer: LimitedTimeOffer | None = None,
    cards: Sequence[Card] = (),
) -> Template:
    """A local draft; positional or named is decided from the variable names used."""
    names = variables(body) + variables(header or "")
    named = bool(names) and not all(n.isdigit() for n in names)
    return Template(
        name=name,
        language=language,
        category=category,
        body=body,
        header=header,
        footer=footer,
        buttons=tuple(buttons),
        offer=offer,
        cards=tuple(cards),
        examples=dict(examples or {}),
        parameter_format="NAMED" if named else "POSITIONAL",
    )


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _examples(names: list[str], example: Mapping[str, Any], prefix: str) -> dict[str, str]:
    named = example.get(f"{prefix}_named_params")
    if named:
        return {str(p.get("param_name")): str(p.get("example", "")) for p in named}
    values = example.get(prefix) or []
    if values and isinstance(values[0], list):
        values = values[0]
    return {n: str(v) for n, v in zip(names, values, strict=True)}
