"""The segment rule model: conditions ``{field, op, value}`` nested in AND / OR / NOT groups.

A rule is plain data: ``to_dict``/``from_dict`` (and ``to_json``/``from_json``) round-trip it, so a
segment can be saved, diffed and evaluated anywhere (pandas here, SQL in a warehouse).

JSON shape::

    {"and": [node, ...]}   {"or": [node, ...]}   {"not": node}
    {"field": "order_count", "op": ">=", "value": 3}
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..errors import WamktError

COMPARE_OPS = ("=", "!=", ">", ">=", "<", "<=")
RANGE_OPS = ("between",)
LIST_OPS = ("in", "not_in")
STRING_OPS = ("contains", "starts_with", "ends_with", "regex")
PRESENCE_OPS = ("is_set", "is_empty")
TAG_OPS = ("has_any", "has_all", "has_none")
RELATIVE_DATE_OPS = ("within_last", "more_than_ago")
OPERATORS = COMPARE_OPS + RANGE_OPS + LIST_OPS + STRING_OPS + PRESENCE_OPS + TAG_OPS + RELATIVE_DATE_OPS


class SegmentRuleError(WamktError, ValueError):
    """A rule is malformed or does not fit the data; the message names the condition."""


@dataclass(frozen=True)
class Condition:
    """One test on one column, e.g. ``Condition("order_count", ">=", 3)``."""

    field: str
    op: str
    value: Any = None

    def __post_init__(self) -> None:
        if isinstance(self.value, list):
            object.__setattr__(self, "value", tuple(self.value))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"field": self.field, "op": self.op}
        if self.op not in PRESENCE_OPS:
            out["value"] = list(self.value) if isinstance(self.value, tuple) else self.value
        return out


@dataclass(frozen=True)
class And:
    """All children hold (an empty AND matches everyone)."""

    children: tuple[Node, ...] = field(default_factory=tuple)

    def __init__(self, *children: Node) -> None:
        object.__setattr__(self, "children", _flat(children))

    def to_dict(self) -> dict[str, Any]:
        return {"and": [c.to_dict() for c in self.children]}


@dataclass(frozen=True)
class Or:
    """At least one child holds (an empty OR matches no one)."""

    children: tuple[Node, ...] = field(default_factory=tuple)

    def __init__(self, *children: Node) -> None:
        object.__setattr__(self, "children", _flat(children))

    def to_dict(self) -> dict[str, Any]:
        return {"or": [c.to_dict() for c in self.children]}


@dataclass(frozen=True)
class Not:
    """The child does not hold."""

    child: Node

    def to_dict(self) -> dict[str, Any]:
        return {"not": self.child.to_dict()}


Node = Condition | And | Or | Not


def _flat(children: tuple) -> tuple:
    """Accept ``And(a, b)`` as well as ``And([a, b])``."""
    if len(children) == 1 and isinstance(children[0], (list, tuple)):
        children = tuple(children[0])
    for child in children:
        if not isinstance(child, (Condition, And, Or, Not)):
            raise SegmentRuleError(f"a group holds conditions or groups, not {type(child).__name__}")
    return tuple(children)


def from_dict(data: Any, path: str = "rule") -> Node:
    """Build a rule from its JSON form; a malformed node raises SegmentRuleError naming its path."""
    if not isinstance(data, dict):
        raise SegmentRuleError(f"{path}: expected an object, got {type(data).__name__}")
    keys = set(data)
    if keys in ({"and"}, {"or"}):
        key = keys.pop()
        items = data[key]
        if not isinstance(items, list):
            raise SegmentRuleError(f"{path}: '{key}' must hold a list")
        children = [from_dict(item, f"{path}.{key}[{i}]") for i, item in enumerate(items)]
        return And(*children) if key == "and" else Or(*children)
    if keys == {"not"}:
        return Not(from_dict(data["not"], f"{path}.not"))
    if "field" in data and "op" in data and keys <= {"field", "op", "value"}:
        if not isinstance(data["field"], str) or not isinstance(data["op"], str):
            raise SegmentRuleError(f"{path}: 'field' and 'op' must be strings")
        return Condition(data["field"], data["op"], data.get("value"))
    raise SegmentRuleError(
        f"{path}: expected {{'and': [...]}}, {{'or': [...]}}, {{'not': ...}} or "
        f"{{'field', 'op', 'value'}}, got keys {sorted(keys)}"
    )


def to_json(rule: Node) -> str:
    return json.dumps(rule.to_dict(), ensure_ascii=False, sort_keys=True)


def from_json(text: str) -> Node:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SegmentRuleError(f"rule: not valid JSON: {exc}") from None
    return from_dict(data)


def walk(rule: Node, path: str = "rule") -> Iterator[tuple[str, Condition]]:
    """Every condition with its path in the tree, e.g. ``rule.and[1].or[0]``."""
    if isinstance(rule, Condition):
        yield path, rule
    elif isinstance(rule, Not):
        yield from walk(rule.child, f"{path}.not")
    else:
        key = "and" if isinstance(rule, And) else "or"
        for i, child in enumerate(rule.children):
            yield from walk(child, f"{path}.{key}[{i}]")
