"""Vectorised pandas/numpy evaluation of a rule, and the result both evaluators return.

Missing values (NULL semantics, the same in the SQL evaluator): a condition on a missing value is
false, including ``!=``, ``not_in`` and ``has_none``; ``is_empty`` is true for a missing value, an
empty string and an empty tag list, ``is_set`` is its negation. Every condition is thus true or
false, so ``NOT`` simply negates (``NOT (x > 3)`` includes rows where x is missing). String tests
are case-sensitive; regexes use the portable subset of ``regex.py``. Times compare at the
frame's precision against a cutoff rounded down to the microsecond.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from .engagement import expand
from .frame import SegmentFrame, segment_frame
from .regex import translate
from .rules import RELATIVE_DATE_OPS, And, Condition, Node, Not, SegmentRuleError, walk
from .schema import check_rule, to_timestamp

DAY_NS = 86_400 * 10**9


@dataclass
class SegmentResult:
    """Who matches a rule, after the default exclusion of customers inactive for 90+ days."""

    count: int
    base: int
    excluded_inactive: int
    include_inactive: bool
    mask: np.ndarray | None = field(default=None, repr=False)
    _ids: Any = field(default=None, repr=False)
    _all_ids: np.ndarray | None = field(default=None, repr=False)

    @property
    def share(self) -> float:
        return self.count / self.base if self.base else 0.0

    @cached_property
    def customer_ids(self) -> np.ndarray:
        """The matching customer ids, in frame order."""
        if self._ids is not None:
            return np.asarray(self._ids, dtype=object)
        return self._all_ids[self.mask]

    def summary(self) -> str:
        text = f"{self.count:,} of {self.base:,} customers ({self.share:.1%})"
        if self.include_inactive:
            return text + f", including {self.excluded_inactive:,} inactive 90 d"
        return text + f"; {self.excluded_inactive:,} inactive 90 d excluded"


def cutoff(now: Any, days: float) -> pd.Timestamp:
    """``now`` minus ``days``, to the microsecond: the bound of a relative-date condition."""
    return to_timestamp(to_timestamp(now) - pd.Timedelta(days=float(days))).floor("us")


def require_now(rule: Node, now: Any) -> None:
    if now is None:
        for path, cond in walk(rule):
            if cond.op in RELATIVE_DATE_OPS:
                raise SegmentRuleError(f"{path} (field {cond.field!r}, op {cond.op!r}): needs an explicit 'now'")


def rule_mask(rule: Node, frame: pd.DataFrame | SegmentFrame, now: Any = None) -> np.ndarray:
    """A boolean array: which rows satisfy ``rule`` (before any inactive exclusion)."""
    sf = segment_frame(frame)
    rule = expand(rule)
    check_rule(rule, sf.schema)
    require_now(rule, now)
    return _node(rule, sf, now)


def evaluate(
    rule: Node, frame: pd.DataFrame | SegmentFrame, now: Any = None, include_inactive: bool = False
) -> SegmentResult:
    """Evaluate with pandas/numpy; inactive-90-day customers are dropped unless ``include_inactive``."""
    sf = segment_frame(frame)
    mask = rule_mask(rule, sf, now)
    inactive = sf.inactive()
    excluded = int(np.count_nonzero(mask & inactive))
    if not include_inactive:
        mask = mask & ~inactive
    return SegmentResult(
        count=int(np.count_nonzero(mask)),
        base=len(sf),
        excluded_inactive=excluded,
        include_inactive=include_inactive,
        mask=mask,
        _all_ids=sf.ids(),
    )


def _node(node: Node, sf: SegmentFrame, now: Any) -> np.ndarray:
    if isinstance(node, Condition):
        return _condition(node, sf, now)
    if isinstance(node, Not):
        return ~_node(node.child, sf, now)
    if isinstance(node, And):
        out = np.ones(len(sf), dtype=bool)
        for child in node.children:
            out &= _node(child, sf, now)
        return out
    out = np.zeros(len(sf), dtype=bool)
    for child in node.children:
        out |= _node(child, sf, now)
    return out


def _condition(cond: Condition, sf: SegmentFrame, now: Any) -> np.ndarray:
    kind = sf.schema.kinds[cond.field]
    return _KIND_EVAL[kind](cond, sf, now)


def _number(cond: Condition, sf: SegmentFrame, now: Any) -> np.ndarray:
    x = sf.numbers(cond.field)
    op, v = cond.op, cond.value
    present = ~np.isnan(x)
    if op == "is_empty":
        return ~present
    if op == "is_set":
        return present
    if op == "between":
        return (x >= float(v[0])) & (x <= float(v[1]))
    if op == "in":
        return np.isin(x, np.asarray(v, dtype="float64"))
    if op == "not_in":
        return present & ~np.isin(x, np.asarray(v, dtype="float64"))
    if op == "!=":
        return present & (x != float(v))
    return _COMPARE[op](x, float(v))


def _time(cond: Condition, sf: SegmentFrame, now: Any) -> np.ndarray:
    x, present = sf.times(cond.field)
    op, v = cond.op, cond.value
    if op == "is_empty":
        return ~present
    if op == "is_set":
        return present.copy()
    if op == "within_last":
        return present & (x >= cutoff(now, v).value)
    if op == "more_than_ago":
        return present & (x < cutoff(now, v).value)
    if op == "between":
        return present & (x >= to_timestamp(v[0]).value) & (x <= to_timestamp(v[1]).value)
    return present & _COMPARE[op](x, to_timestamp(v).value)


def _text(cond: Condition, sf: SegmentFrame, now: Any) -> np.ndarray:
    codes, uniques = sf.codes(cond.field)
    op, v = cond.op, cond.value
    # One verdict per distinct value plus a last slot for missing (code -1).
    if op in ("is_empty", "is_set"):
        verdict = np.append(uniques == "", True)
        if op == "is_set":
            verdict = ~verdict
        return verdict[codes]
    test = _TEXT_TESTS[op](v)
    verdict = np.fromiter((test(u) for u in uniques), dtype=bool, count=len(uniques))
    return np.append(verdict, False)[codes]


def _bool(cond: Condition, sf: SegmentFrame, now: Any) -> np.ndarray:
    values, present = sf.bools(cond.field)
    op = cond.op
    if op == "is_empty":
        return ~present
    if op == "is_set":
        return present.copy()
    equal = values == bool(cond.value)
    return present & (equal if op == "=" else ~equal)


def _tags(cond: Condition, sf: SegmentFrame, now: Any) -> np.ndarray:
    present, nonempty = sf.tags_state(cond.field)
    op = cond.op
    if op == "is_empty":
        return ~nonempty
    if op == "is_set":
        return nonempty.copy()
    arrays = [sf.tag(cond.field, t) for t in cond.value]
    if op == "has_all":
        out = present.copy()
        for a in arrays:
            out &= a
        return out
    any_ = np.zeros(len(sf), dtype=bool)
    for a in arrays:
        any_ |= a
    return any_ if op == "has_any" else present & ~any_


_COMPARE: dict[str, Callable[[np.ndarray, Any], np.ndarray]] = {
    "=": np.equal,
    ">": np.greater,
    ">=": np.greater_equal,
    "<": np.less,
    "<=": np.less_equal,
}

_TEXT_TESTS: dict[str, Callable[[Any], Callable[[str], bool]]] = {
    "=": lambda v: lambda u: u == v,
    "!=": lambda v: lambda u: u != v,
    "in": lambda v: frozenset(v).__contains__,
    "not_in": lambda v: lambda u, s=frozenset(v): u not in s,
    "contains": lambda v: lambda u: v in u,
    "starts_with": lambda v: lambda u: u.startswith(v),
    "ends_with": lambda v: lambda u: u.endswith(v),
    "regex": lambda v: lambda u, p=translate(v).python: p.search(u) is not None,  # noqa: B008 (compiled once per rule)
}

_KIND_EVAL = {
    "number": _number,
    "datetime": _time,
    "string": _text,
    "category": _text,
    "bool": _bool,
    "tags": _tags,
}
