"""Keyword rules: what a message must look like, and what to do when it does.

Matching works on normalised text (see :mod:`wamkt_nb.webhooks.text`) and on whole words: ``contains`` "rabatt"
matches "Gibt es Rabatt?" but not "Rabattaktion". A rule's ``pattern`` may list several keywords
separated by commas ("stop, abmelden, unsubscribe"); a ``regex`` pattern is one expression,
searched case-insensitively in the normalised text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from ..cloudapi.payloads import MAX_TEXT_BODY
from ..errors import WamktError
from ..webhooks.text import normalize_text

MATCH_TYPES = ("exact", "contains", "starts_with", "regex")
ACTIONS = ("text", "template", "tag", "opt_out", "opt_in", "faq", "handover")
NEEDS_TEXT = ("text", "faq")


class AutoReplyRuleError(WamktError, ValueError):
    """A rule that cannot work; the message names the rule and the field."""


@dataclass(frozen=True)
class Rule:
    """One auto-reply rule; lower ``priority`` numbers are tried first."""

    rule_id: str
    pattern: str
    action: str = "text"
    match_type: str = "contains"
    reply_text: str = ""
    name: str = ""
    languages: tuple[str, ...] = ()
    priority: int = 100
    template_name: str = ""
    template_language: str = ""
    template_params: tuple[str, ...] = ()
    tag: str = ""
    enabled: bool = True
    keywords: tuple[str, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        where = f"rule {self.rule_id!r}"
        if not str(self.rule_id).strip():
            raise AutoReplyRuleError("a rule needs a rule_id")
        if self.match_type not in MATCH_TYPES:
            raise AutoReplyRuleError(
                f"{where}: match_type must be one of {', '.join(MATCH_TYPES)}, not {self.match_type!r}"
            )
        if self.action not in ACTIONS:
            raise AutoReplyRuleError(f"{where}: action must be one of {', '.join(ACTIONS)}, not {self.action!r}")
        if self.match_type == "regex":
            try:
                _compiled(self.pattern)
            except re.error as exc:
                raise AutoReplyRuleError(f"{where}: pattern is not a valid regular expression: {exc}") from None
            keywords: tuple[str, ...] = (self.pattern,)
        else:
            keywords = tuple(k for k in (normalize_text(p) for p in self.pattern.split(",")) if k)
        if not keywords or not self.pattern.strip():
            raise AutoReplyRuleError(f"{where}: pattern is empty")
        if self.action in NEEDS_TEXT and not self.reply_text.strip():
            raise AutoReplyRuleError(f"{where}: action {self.action!r} needs a reply_text")
        if len(self.reply_text) > MAX_TEXT_BODY:
            raise AutoReplyRuleError(
                f"{where}: reply_text has {len(self.reply_text)} characters; the limit is {MAX_TEXT_BODY}"
            )
        if self.action == "template" and not (self.template_name and self.template_language):
            raise AutoReplyRuleError(f"{where}: action 'template' needs template_name and template_language")
        if self.action == "tag" and not self.tag.strip():
            raise AutoReplyRuleError(f"{where}: action 'tag' needs a tag")
        object.__setattr__(self, "keywords", keywords)
        object.__setattr__(
            self, "languages", tuple(str(lang).strip().lower() for lang in self.languages if str(lang).strip())
        )

    def matches(self, normalized: str) -> bool:
        """Whether already-normalised message text fires this rule."""
        if not normalized:
            return False
        if self.match_type == "regex":
            return _compiled(self.pattern).search(normalized) is not None
        padded = f" {normalized} "
        for kw in self.keywords:
            if self.match_type == "exact" and normalized == kw:
                return True
            if self.match_type == "contains" and f" {kw} " in padded:
                return True
            if self.match_type == "starts_with" and padded.startswith(f" {kw} "):
                return True
        return False

    def speaks(self, language: str | None) -> bool:
        """A rule without languages, or a customer of unknown language, always qualifies."""
        return not self.languages or not language or language.lower().split("_")[0] in self.languages


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern:
    return re.compile(pattern, re.IGNORECASE)


def first_match(rules: Iterable[Rule], text: str | None, language: str | None = None) -> Rule | None:
    """The enabled rule with the lowest priority number (then id) that fires on ``text``."""
    normalized = normalize_text(text)
    for rule in sorted(rules, key=lambda r: (r.priority, r.rule_id)):
        if rule.enabled and rule.speaks(language) and rule.matches(normalized):
            return rule
    return None
