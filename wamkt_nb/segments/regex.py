"""A regex subset that means the same in Python ``re`` and in RE2 (DuckDB, BigQuery, ...).

Allowed: literals, ``.``, ``^``, ``$``, classes ``[...]`` (no nested ``[``), groups ``(...)`` and
``(?:...)``, ``|``, quantifiers ``* + ? {m} {m,} {m,n}`` (n <= 1000, optionally lazy ``?``), the
escapes ``\\d \\D \\w \\W \\b \\B \\s \\S \\t \\n \\r \\f`` and escaped punctuation. No flags,
look-arounds or back-references. Matching is case-sensitive and searches anywhere in the value.

Where the dialects differ the pattern is translated: ``$`` becomes ``\\Z`` for Python (Python's
``$`` also matches before a final newline), ``\\s`` becomes ``[\\t\\n\\f\\r ]`` (Python's includes
``\\v``), and Python compiles with ``re.ASCII`` so ``\\d \\w \\b`` are ASCII as in RE2.

PostgreSQL's regexes (Spencer's ARE, not RE2) get a third spelling: ``.`` becomes ``[^\\n]`` (its
``.`` also matches a newline), ``\\d \\w`` become explicit ASCII classes (its classes follow the
database locale), and ``\\b \\B`` become ASCII look-arounds (its ``\\b`` is a backspace).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import WamktError

_META = set(".^$*+?()[]{}|\\")
_PUNCT = set(".^$*+?()[]{}|\\-/ ")
_PLAIN_ESCAPES = set("dDwWbBtnrf")
_SPACE = "\\t\\n\\f\\r "
_WORD = "0-9A-Za-z_"
_WORD_EDGE = f"(?:(?<=[{_WORD}])(?![{_WORD}])|(?<![{_WORD}])(?=[{_WORD}]))"
_NOT_WORD_EDGE = f"(?:(?<=[{_WORD}])(?=[{_WORD}])|(?<![{_WORD}])(?![{_WORD}]))"
# PostgreSQL spellings of the escapes whose meaning there differs from RE2 (outside / inside [...]).
_PG_ESCAPES = {"d": "[0-9]", "D": "[^0-9]", "w": f"[{_WORD}]", "W": f"[^{_WORD}]", "b": _WORD_EDGE, "B": _NOT_WORD_EDGE}
_PG_CLASS_ESCAPES = {"d": "0-9", "w": _WORD}
# Single-character tokens: Python, RE2 and PostgreSQL spellings, whether a quantifier may follow.
_TOKENS = {
    ".": (".", ".", "[^\\n]", True),
    "(": ("(", "(", "(", False),
    ")": (")", ")", ")", True),
    "^": ("^", "^", "^", False),
    "|": ("|", "|", "|", False),
    "$": (r"\Z", "$", "$", False),
}
_QUANT = re.compile(r"\{(\d{1,4})(,(\d{0,4}))?\}")


class RegexError(WamktError, ValueError):
    """The pattern uses something outside the portable subset."""


@dataclass(frozen=True)
class PortableRegex:
    """One pattern in three spellings with the same meaning."""

    python: re.Pattern
    sql: str  # RE2: DuckDB, BigQuery
    postgres: str


def translate(pattern: str) -> PortableRegex:
    """Check ``pattern`` against the portable subset and return its Python and RE2 spellings."""
    if not isinstance(pattern, str) or not pattern:
        raise RegexError("a regex must be a non-empty string")
    py: list[str] = []
    sql: list[str] = []
    pg: list[str] = []
    i, n = 0, len(pattern)
    can_repeat = False  # whether a quantifier may follow
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            py_tok, sql_tok, pg_tok, i = _escape(pattern, i, in_class=False)
            py.append(py_tok)
            sql.append(sql_tok)
            pg.append(pg_tok)
            can_repeat = pattern[i - 1] not in "bB"
        elif ch == "[":
            py_tok, sql_tok, pg_tok, i = _char_class(pattern, i)
            py.append(py_tok)
            sql.append(sql_tok)
            pg.append(pg_tok)
            can_repeat = True
        elif ch in "*+?{":
            if not can_repeat:
                raise RegexError(f"quantifier {ch!r} at position {i} has nothing to repeat")
            if ch == "{":
                m = _QUANT.match(pattern, i)
                if not m:
                    raise RegexError(
                        f"'{{' at position {i} must be a quantifier {{m}}, {{m,}} or {{m,n}} (escape it as \\{{)"
                    )
                lo, hi = int(m.group(1)), m.group(3)
                if lo > 1000 or (hi and (int(hi) > 1000 or int(hi) < lo)):
                    raise RegexError(f"quantifier {m.group(0)} at position {i}: bounds must be 0..1000 and ordered")
                tok, i = m.group(0), m.end()
            else:
                tok, i = ch, i + 1
            if i < n and pattern[i] == "?":
                tok, i = tok + "?", i + 1
            if i < n and pattern[i] in "*+?{":
                raise RegexError(f"quantifier at position {i} repeats a quantifier")
            py.append(tok)
            sql.append(tok)
            pg.append(tok)
            can_repeat = False
        elif pattern.startswith("(?", i):
            if not pattern.startswith("(?:", i):
                raise RegexError(f"group syntax '(?' at position {i}: only '(?:' is portable")
            py.append("(?:")
            sql.append("(?:")
            pg.append("(?:")
            i += 3
            can_repeat = False
        elif ch in _TOKENS:
            py_tok, sql_tok, pg_tok, can_repeat = _TOKENS[ch]
            py.append(py_tok)
            sql.append(sql_tok)
            pg.append(pg_tok)
            i += 1
        elif ch in "}]":
            raise RegexError(f"unescaped {ch!r} at position {i}")
        else:
            py.append(re.escape(ch) if ch in _META else ch)
            sql.append(ch)
            pg.append(ch)
            i += 1
            can_repeat = True
    try:
        compiled = re.compile("".join(py), re.ASCII)
    except re.error as exc:
        raise RegexError(f"invalid regex: {exc}") from None
    return PortableRegex(compiled, "".join(sql), "".join(pg))


def _escape(pattern: str, i: int, in_class: bool) -> tuple[str, str, str, int]:
    if i + 1 >= len(pattern):
        raise RegexError("pattern ends with a lone backslash")
    ch = pattern[i + 1]
    if ch == "s":
        tok = _SPACE if in_class else f"[{_SPACE}]"
        return tok, tok, tok, i + 2
    if ch == "S" and not in_class:
        return f"[^{_SPACE}]", f"[^{_SPACE}]", f"[^{_SPACE}]", i + 2
    if in_class and ch in "DWSbB":
        raise RegexError(f"escape \\{ch} at position {i} is not portable inside [...]")
    if ch in _PLAIN_ESCAPES or ch in _PUNCT:
        tok = "\\" + ch
        pg_tok = (_PG_CLASS_ESCAPES if in_class else _PG_ESCAPES).get(ch, tok)
        return tok, tok, pg_tok, i + 2
    raise RegexError(f"escape \\{ch} at position {i} is not in the portable subset")


def _char_class(pattern: str, start: int) -> tuple[str, str, str, int]:
    i, n = start + 1, len(pattern)
    body: list[str] = []
    pg_body: list[str] = []
    if i < n and pattern[i] == "^":
        body.append("^")
        pg_body.append("^")
        i += 1
    first = True
    while True:
        if i >= n:
            raise RegexError(f"class '[' at position {start} is not closed")
        ch = pattern[i]
        if ch == "]":
            if first:
                raise RegexError(f"empty class or leading ']' at position {i} (escape it as \\])")
            i += 1
            break
        if ch == "[":
            raise RegexError(f"'[' inside a class at position {i} (escape it as \\[)")
        if ch == "\\":
            tok, _, pg_tok, i = _escape(pattern, i, in_class=True)
            body.append(tok)
            pg_body.append(pg_tok)
        else:
            if ch in "&~|-" and i + 1 < n and pattern[i + 1] == ch:
                raise RegexError(f"{ch * 2!r} inside a class at position {i} is not portable")
            body.append(ch)
            pg_body.append(ch)
            i += 1
        first = False
    tok = "[" + "".join(body) + "]"
    return tok, tok, "[" + "".join(pg_body) + "]", i
