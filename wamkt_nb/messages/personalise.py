"""Personalisation: the message every customer gets, computed for the whole audience at once.

Variables are filled from customer columns (``Param``), with a per-language fallback when a value
is missing (no name → a neutral greeting). Per-language variants pick the text or template by the
customer's language. Transforms run on the distinct values only and are mapped back, so a million
customers with a few thousand distinct names cost little more than those names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .templates import VARIABLE, Template, from_arrow, render_text, to_arrow, variables

GREETINGS: dict[str, str] = {
    "de": "Hallo",
    "en": "Hi",
    "nl": "Hallo",
    "pt": "Olá",
    "fr": "Bonjour",
    "es": "Hola",
    "it": "Ciao",
    "tr": "Merhaba",
    "*": "Hi",
}
"""Neutral greeting per language, used where a customer's first name is unknown."""
ADDRESSES: dict[str, str] = {
    "de": "du",
    "en": "there",
    "nl": "daar",
    "pt": "você",
    "fr": "à vous",
    "es": "a ti",
    "it": "a te",
    "tr": "dostum",
    "*": "there",
}
"""Neutral address where the text already greets ("Hallo {{1}}" → "Hallo du", not "Hallo Hallo")."""
_AFTER_GREETING = re.compile(
    r"\b(hallo|hello|hi|hey|moin|servus|liebe|lieber|dear|hoi|olá|ola|oi|bonjour|"
    r"hola|ciao|merhaba)[\s,]*$",
    re.IGNORECASE,
)

FIRST_NAME = "first_name"
CATEGORIES = ("marketing", "utility", "authentication", "service")


@dataclass(frozen=True)
class Param:
    """Where one variable's value comes from.

    ``source`` is a customer column; ``"first_name"`` means the first name (the ``first_name``
    column, else the first word of ``name``). ``fallback`` is used where the value is missing: a
    constant or a mapping language → text (``"*"`` for any other language); for the first name it
    defaults to :data:`GREETINGS`, or :data:`ADDRESSES` where the text greets right before it.
    ``max_length`` shortens long values at a word boundary.
    """

    source: str
    fallback: str | Mapping[str, str] | None = None
    max_length: int | None = None


@dataclass(frozen=True)
class MessageSpec:
    """What to send: session text or a template, each optionally per language.

    ``text`` / ``template`` map a language code to the variant (``"*"`` or ``default_language``
    is used for other languages). ``params`` maps each variable name to its :class:`Param`; a
    variable without one that names a column is filled from that column. ``max_length`` cuts
    session text at the last whole word that fits (templates cannot be changed, see lint).
    ``header_media`` is the link for a template's image/video/document header (default: the
    template's example); ``button_suffixes`` the URL-button suffix by button index (default: the
    part of the example URL that the variable stands for). ``links`` maps a variable (e.g.
    ``"link"`` for ``{{link}}``) to a destination URL; the dry run turns each recipient's URLs into
    their own tracked link (see :mod:`wamkt_nb.links`).

    Interactive templates (:mod:`wamkt_nb.messages.interactive`): ``button_payloads`` is the payload
    of each quick-reply button by index (what Meta returns on a tap; default: the label);
    ``coupon_code`` the code of the copy-code button (default: the template's example code);
    ``offer_expires_at`` when a limited-time offer with a countdown ends (a timestamp, required for
    such a template); ``card_media`` each carousel card's header media (default: the card's example).
    """

    category: str = "marketing"
    text: Mapping[str, str] | None = None
    template: Mapping[str, Template] | None = None
    params: Mapping[str, Param] = field(default_factory=dict)
    max_length: int | None = None
    default_language: str = "de"
    header_media: str | None = None
    button_suffixes: Mapping[int, str] = field(default_factory=dict)
    links: Mapping[str, str] = field(default_factory=dict)
    button_payloads: Mapping[int, str] = field(default_factory=dict)
    coupon_code: str | None = None
    offer_expires_at: Any = None
    card_media: Sequence[str] = ()
    card_suffixes: Sequence[Mapping[int, str]] = ()

    def __post_init__(self) -> None:
        if (self.text is None) == (self.template is None):
            raise ValueError("a message is either session text or a template: give exactly one")
        for attr in ("text", "template"):
            value = getattr(self, attr)
            if isinstance(value, (str, Template)):
                object.__setattr__(self, attr, {"*": value})
        variants = self.text if self.text is not None else self.template
        if not variants:
            raise ValueError("the message has no variant")
        if self.category not in CATEGORIES:
            raise ValueError(f"category {self.category!r}: choose one of {', '.join(CATEGORIES)}")

    @property
    def kind(self) -> Literal["text", "template"]:
        return "text" if self.text is not None else "template"

    @property
    def variants(self) -> Mapping[str, str | Template]:
        return self.text if self.text is not None else self.template  # type: ignore[return-value]

    def variant_language(self, language: str) -> str:
        """The variant key used for customers speaking ``language``."""
        v = self.variants
        for key in (language, "*", self.default_language):
            if key in v:
                return key
        return next(iter(v))

    def variant_for(self, language: str) -> str | Template:
        return self.variants[self.variant_language(language)]

    def variable_names(self) -> list[str]:
        names: list[str] = []
        for v in self.variants.values():
            if isinstance(v, Template):
                names += v.header_variables + v.body_variables
            else:
                names += variables(v)
        return list(dict.fromkeys(names))

    def param(self, name: str) -> Param:
        if name in self.params:
            return self.params[name]
        return Param(name)


@dataclass
class Personalised:
    """The rendered messages (aligned with the audience) and the variable values behind them."""

    body: pd.Series
    language: pd.Series
    values: dict[str, pd.Series]
    truncated: pd.Series


def languages(audience: pd.DataFrame, default: str = "de") -> pd.Series:
    """Each customer's two-letter language, ``default`` where unknown."""
    if "language" not in audience:
        return pd.Series(default, index=audience.index, dtype="str")
    return _on_distinct(audience["language"], lambda u: u.str.strip().str.lower().str[:2]).fillna(default)


def first_names(audience: pd.DataFrame) -> pd.Series:
    """First names: the ``first_name`` column, else the first word of ``name``; NA when unknown.

    All-lowercase or all-uppercase names are title-cased ("ANNA" → "Anna"); others are kept.
    """

    def clean(u: pd.Series) -> pd.Series:
        word = u.str.strip().str.extract(r"^(\S+)", expand=False)
        word = word.where(word.str.len() > 0)
        case = word.str.islower() | word.str.isupper()
        return word.where(~case.fillna(False), word.str.title())

    if "first_name" in audience:
        first = _on_distinct(audience["first_name"], clean)
    else:
        first = pd.Series(pd.NA, index=audience.index, dtype="str")
    missing = first.isna().to_numpy()
    if "name" in audience and missing.any():
        first[missing] = _on_distinct(audience["name"][missing], clean).to_numpy(dtype=object)
    return first


def param_values(
    audience: pd.DataFrame, name: str, param: Param, language: pd.Series, after_greeting: bool = False
) -> pd.Series:
    """The value of one variable for every customer, fallbacks applied, never NA.

    ``after_greeting``: the text greets right before the variable, so a missing first name
    becomes a neutral address ("Hallo du") rather than a second greeting.
    """

    def clean(u: pd.Series) -> pd.Series:
        # Meta refuses parameters with new lines, tabs or more than 4 spaces in a row.
        u = u.str.replace(r"\s+", " ", regex=True).str.strip()
        if param.max_length:
            u = shorten(u, param.max_length)[0]
        return u.where(u.str.len() > 0)

    if param.source == FIRST_NAME:
        values = first_names(audience)
        if param.max_length:
            values = _on_distinct(values, lambda u: shorten(u, param.max_length)[0])
    elif param.source in audience:
        values = _on_distinct(audience[param.source], clean)
    else:
        raise KeyError(
            f"variable {{{{{name}}}}}: no customer column {param.source!r}; "
            f"known: {', '.join(map(str, audience.columns))}"
        )
    fallback = param.fallback
    if fallback is None:
        fallback = (ADDRESSES if after_greeting else GREETINGS) if param.source == FIRST_NAME else ""
    missing = values.isna().to_numpy()
    if not missing.any():
        return values
    if isinstance(fallback, str):
        return values.fillna(fallback)
    default = fallback.get("*", "")
    by_language = _on_distinct(language[missing], lambda u: u.map(lambda lang: fallback.get(lang, default)))
    values[missing] = by_language.to_numpy(dtype=object)
    return values


def personalise(audience: pd.DataFrame, spec: MessageSpec) -> Personalised:
    """Render ``spec`` for every row of ``audience`` (index kept)."""
    n = len(audience)
    lang = languages(audience, spec.default_language)
    values = {
        name: (
            pd.Series(spec.links[name], index=audience.index, dtype="str")
            if name in spec.links
            else param_values(audience, name, spec.param(name), lang, _follows_greeting(spec, name))
        ).reset_index(drop=True)
        for name in spec.variable_names()
    }
    codes, uniques = pd.factorize(lang)
    key_of_code = [spec.variant_language(language) for language in uniques]
    group_of_code = pd.factorize(pd.Series(key_of_code, dtype=object))[0]
    group = group_of_code[codes] if len(codes) else codes
    keys = list(dict.fromkeys(key_of_code))
    rendered_parts: list[pa.Array] = []
    lang_parts: list[pa.Array] = []
    order = np.argsort(group, kind="stable") if len(keys) > 1 else np.arange(n)
    bounds = np.searchsorted(group[order], np.arange(len(keys) + 1))
    for g, key in enumerate(keys):
        rows = order[bounds[g] : bounds[g + 1]]
        whole = len(rows) == n
        sub = values if whole else {k: v.iloc[rows].reset_index(drop=True) for k, v in values.items()}
        variant = spec.variants[key]
        if isinstance(variant, Template):
            rendered, shown = variant.render_series(sub, len(rows)), variant.language
        else:
            rendered, shown = render_text(variant, sub, len(rows)), (key if key != "*" else spec.default_language)
        rendered_parts.append(to_arrow(rendered))
        lang_parts.append(pa.repeat(pa.scalar(shown, pa.large_string()), len(rows)))
    if not keys:
        body, variant_lang = pd.Series([], dtype="str"), pd.Series([], dtype="str")
    elif len(keys) == 1:
        body, variant_lang = pd.Series(rendered_parts[0], dtype="str"), pd.Series(lang_parts[0], dtype="str")
    else:
        inverse = np.empty(n, dtype=np.int64)
        inverse[order] = np.arange(n)
        body = pd.Series(pc.take(pa.concat_arrays(rendered_parts), inverse), dtype="str")
        variant_lang = pd.Series(pc.take(pa.concat_arrays(lang_parts), inverse), dtype="str")
    truncated = pd.Series(False, index=range(n))
    if spec.max_length and spec.kind == "text":
        truncated = pd.Series((body.str.len() > spec.max_length).to_numpy())
        body = _on_distinct(body, lambda u: shorten(u, spec.max_length)[0])
    idx = audience.index
    return Personalised(
        body=body.set_axis(idx),
        language=variant_lang.set_axis(idx),
        values={k: v.set_axis(idx) for k, v in values.items()},
        truncated=truncated.set_axis(idx),
    )


def _follows_greeting(spec: MessageSpec, name: str) -> bool:
    """Whether any variant greets right before ``{{name}}``."""
    for v in spec.variants.values():
        texts = [v.header or "", v.body] if isinstance(v, Template) else [v]
        for text in texts:
            for m in VARIABLE.finditer(text):
                if m.group(1) == name and _AFTER_GREETING.search(text[: m.start()]):
                    return True
    return False


def shorten(text: pd.Series, max_length: int, ellipsis: str = "…") -> tuple[pd.Series, pd.Series]:
    """Cut texts longer than ``max_length`` after the last whole word that fits, adding ``ellipsis``.

    Returns the texts and a mask of those that were cut. A single word longer than the limit is
    kept whole rather than cut in the middle.
    """
    if max_length < 1:
        raise ValueError("max_length must be at least 1")
    long = (text.str.len() > max_length).fillna(False).to_numpy()
    if not long.any():
        return text, pd.Series(long, index=text.index)
    sub = text[long]
    room = max(max_length - len(ellipsis), 0)
    head = sub.str.slice(0, room + 1)  # one extra char tells whether the cut falls between words
    cut = head.str.replace(r"\S*$", "", regex=True).str.rstrip(" \t\n,;:-")
    whole_word = cut.str.len() == 0
    cut = cut.where(~whole_word, sub.str.lstrip().str.extract(r"^(\S*)", expand=False))
    out = text.copy()
    out[long] = (cut + ellipsis).to_numpy()
    return out, pd.Series(long, index=text.index)


def _on_distinct(values: pd.Series, fn) -> pd.Series:
    """Apply a Series transform to the distinct values only, then map the results back."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes, uniques = values.cat.codes.to_numpy(), values.cat.categories
    else:
        codes, uniques = pd.factorize(values.array, use_na_sentinel=True)
    done = to_arrow(fn(pd.Series(uniques, dtype="str")))
    taken = pc.take(done, pa.array(codes, mask=codes < 0))
    return from_arrow(taken, values.index)
