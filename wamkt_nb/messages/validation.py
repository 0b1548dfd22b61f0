"""Meta's rules for a template, checked before it is submitted (and again before it is used).

Each broken rule is a :class:`Finding` with a stable code; errors mean Meta would refuse it.
"""

from __future__ import annotations

import re

from ..cloudapi.payloads import MAX_FOOTER, MAX_HEADER_TEXT
from .findings import Finding
from .interactive import interactive_findings
from .templates import CATEGORIES, MEDIA_FORMATS, VARIABLE, Template, variables

MAX_BODY = 1024
MAX_NAME = 512
_NAME = re.compile(r"^[a-z0-9_]+$")
_NAMED_VAR = re.compile(r"^[a-z][a-z0-9_]*$")


def validate_template(t: Template) -> list[Finding]:
    """Every rule ``t`` breaks (an empty list means Meta's format checks pass)."""
    out: list[Finding] = []

    def err(code: str, field: str, message: str) -> None:
        out.append(Finding(code, "error", message, field))

    if not t.name or len(t.name) > MAX_NAME or not _NAME.match(t.name):
        err(
            "name_format",
            "name",
            f"name {t.name!r}: use only lowercase letters, digits and '_' "
            f"(at most {MAX_NAME} characters), e.g. 'spring_sale_2026'",
        )
    if t.category not in CATEGORIES:
        err("category", "category", f"category {t.category!r}: choose one of {', '.join(CATEGORIES)}")
    if not t.language:
        err("language", "language", "no language code: set e.g. 'de' or 'en_US'")
    body = t.body.strip()
    if not body:
        err("body_missing", "body", "the body is empty: every template needs body text")
    elif len(t.body) > MAX_BODY:
        err("body_too_long", "body", f"the body has {len(t.body)} characters; shorten it to {MAX_BODY}")
    if body.startswith("{{"):
        err(
            "variable_at_start",
            "body",
            "the body starts with a variable: put a word before it (e.g. 'Hallo {{1}}, ...')",
        )
    if re.search(r"\}\}[\s.!?]*$", body):
        err("variable_at_end", "body", "the body ends with a variable: add text after it (e.g. '... {{2}}. Bis bald!')")
    if t.header_format == "TEXT":
        header = t.header or ""
        if len(header) > MAX_HEADER_TEXT:
            err(
                "header_too_long", "header", f"the header has {len(header)} characters; shorten it to {MAX_HEADER_TEXT}"
            )
        if len(variables(header)) > 1:
            err("header_variables", "header", "the header has more than one variable; keep at most one")
    elif t.header_format is not None and t.header_format not in MEDIA_FORMATS:
        err("header_format", "header", f"header format {t.header_format!r}: use TEXT, {', '.join(MEDIA_FORMATS)}")
    if t.footer is not None:
        if len(t.footer) > MAX_FOOTER:
            err("footer_too_long", "footer", f"the footer has {len(t.footer)} characters; shorten it to {MAX_FOOTER}")
        if VARIABLE.search(t.footer):
            err("footer_variables", "footer", "the footer contains a variable; footers must be fixed text")
    out.extend(_variable_findings(t))
    out.extend(interactive_findings(t))
    return out


def _variable_findings(t: Template) -> list[Finding]:
    out: list[Finding] = []
    names = t.header_variables + t.body_variables
    if not names:
        return out
    if t.parameter_format == "POSITIONAL":
        if not all(n.isdigit() for n in names):
            bad = [n for n in names if not n.isdigit()]
            out.append(
                Finding(
                    "variable_mixed",
                    "error",
                    f"positional template with named variable(s) "
                    f"{', '.join(bad)}: use {{{{1}}}}, {{{{2}}}}, ... or switch to named",
                    "body",
                )
            )
        else:
            for part, found in (("header", t.header_variables), ("body", t.body_variables)):
                unique = sorted({int(n) for n in found})
                if unique and unique != list(range(1, len(unique) + 1)):
                    out.append(
                        Finding(
                            "variable_sequence",
                            "error",
                            f"{part} variables {unique} must be numbered 1, 2, 3, ... without gaps",
                            part,
                        )
                    )
    else:
        for n in dict.fromkeys(names):
            if not _NAMED_VAR.match(n):
                out.append(
                    Finding(
                        "variable_name",
                        "error",
                        f"variable {{{{{n}}}}}: named variables use "
                        "lowercase letters, digits and '_' and start with a letter",
                        "body",
                    )
                )
    for n in dict.fromkeys(names):
        if not str(t.examples.get(n, "")).strip():
            out.append(
                Finding(
                    "example_missing",
                    "error",
                    f"variable {{{{{n}}}}} has no example value: Meta needs one to review the template",
                    "examples",
                )
            )
    return out
