"""Column kinds of a features frame and the type check of a rule against them.

Every column is one of ``number``, ``string``, ``category``, ``bool``, ``datetime`` or ``tags``
(a column of tuples of strings); each kind accepts a fixed set of operators and values. A rule is
checked as a whole before anything is evaluated, so a bad rule gives one error and no result.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd

from ..data.features import TAGS, as_utc_timestamp
from .engagement import expand
from .regex import RegexError, translate
from .rules import (
    COMPARE_OPS,
    LIST_OPS,
    PRESENCE_OPS,
    RELATIVE_DATE_OPS,
    STRING_OPS,
    TAG_OPS,
    Condition,
    Node,
    SegmentRuleError,
    walk,
)

KIND_OPS: dict[str, tuple[str, ...]] = {
    "number": COMPARE_OPS + ("between",) + LIST_OPS + PRESENCE_OPS,
    "string": ("=", "!=") + LIST_OPS + STRING_OPS + PRESENCE_OPS,
    "category": ("=", "!=") + LIST_OPS + PRESENCE_OPS,
    "bool": ("=", "!=") + PRESENCE_OPS,
    "datetime": (">", ">=", "<", "<=", "between") + RELATIVE_DATE_OPS + PRESENCE_OPS,
    "tags": TAG_OPS + PRESENCE_OPS,
}


@dataclass(frozen=True)
class FrameSchema:
    """What a rule may refer to: each column's kind, the categories and the known tags."""

    kinds: Mapping[str, str]
    categories: Mapping[str, tuple[str, ...]]
    tags: tuple[str, ...]

    @classmethod
    def of(cls, frame: pd.DataFrame, tags_column: str = "tags", known_tags: tuple[str, ...] = TAGS) -> FrameSchema:
        """The schema of ``frame`` (``frame.head(0)`` is enough); tags are those seen plus ``known_tags``."""
        kinds = {str(c): column_kind(frame[c]) for c in frame.columns}
        if kinds.get(tags_column) == "other" and frame[tags_column].isna().all():
            kinds[tags_column] = "tags"  # no one has tags yet
        categories = {c: tuple(str(v) for v in frame[c].cat.categories) for c, k in kinds.items() if k == "category"}
        tags: set[str] = set(known_tags)
        if kinds.get(tags_column) == "tags":
            values = frame[tags_column].dropna()
            try:
                values = pd.unique(values)  # tuples: a handful of distinct tag sets
            except TypeError:  # lists are not hashable
                pass
            for value in values:
                tags.update(value)
        return cls(kinds, categories, tuple(sorted(tags)))


def column_kind(series: pd.Series) -> str:
    """The rule kind of a column, from its dtype (object columns: by their first values)."""
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return "category"
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_numeric_dtype(dtype):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_string_dtype(dtype) and dtype != object:  # noqa: E721 (a dtype, not a type)
        return "string"
    sample = series.dropna().head(50)
    if not len(sample):
        return "other"
    if all(isinstance(v, (tuple, list, np.ndarray)) for v in sample):
        return "tags"
    if all(isinstance(v, str) for v in sample):
        return "string"
    return "other"


def check_rule(rule: Node, schema: FrameSchema) -> None:
    """Raise one SegmentRuleError naming the first condition that does not fit the data (an
    engagement condition as the column condition it stands for, :func:`.engagement.expand`)."""
    for path, cond in walk(expand(rule)):
        problem = _problem(cond, schema)
        if problem:
            raise SegmentRuleError(f"{path} (field {cond.field!r}, op {cond.op!r}, value {cond.value!r}): {problem}")


def _problem(cond: Condition, schema: FrameSchema) -> str | None:
    kind = schema.kinds.get(cond.field)
    if kind is None:
        return f"unknown field; the data has {', '.join(sorted(schema.kinds))}"
    ops = KIND_OPS.get(kind, ())
    if cond.op not in ops:
        allowed = ", ".join(ops) or "none"
        return f"operator does not fit a {kind} column (allowed: {allowed})"
    op, value = cond.op, cond.value
    if op in PRESENCE_OPS:
        return None if value is None else "is_set/is_empty take no value"
    if op in RELATIVE_DATE_OPS:
        return None if _is_number(value) and value >= 0 else "expects a number of days >= 0"
    if op == "between":
        if not (isinstance(value, tuple) and len(value) == 2):
            return "between expects [low, high]"
        lo, hi = (_scalar_problem(kind, v, schema, cond.field) for v in value)
        if lo or hi:
            return lo or hi
        if kind == "datetime":
            value = tuple(to_timestamp(v) for v in value)
        return None if value[0] <= value[1] else "between expects low <= high"
    if op in LIST_OPS or op in TAG_OPS:
        if not isinstance(value, tuple) or not value:
            return f"{op} expects a non-empty list"
        for v in value:
            problem = _scalar_problem(kind, v, schema, cond.field)
            if problem:
                return problem
        return None
    if op == "regex":
        try:
            translate(value)
        except RegexError as exc:
            return str(exc)
        return None
    if op in STRING_OPS:
        return None if isinstance(value, str) and value else f"{op} expects a non-empty string"
    return _scalar_problem(kind, value, schema, cond.field)


def _scalar_problem(kind: str, value: Any, schema: FrameSchema, field: str) -> str | None:
    if kind == "number":
        return None if _is_number(value) else "expects a finite number"
    if kind == "bool":
        return None if isinstance(value, bool) else "expects true or false"
    if kind == "string":
        return None if isinstance(value, str) else "expects a string"
    if kind == "category":
        allowed = schema.categories.get(field, ())
        if value in allowed:
            return None
        return f"{value!r} is not a category of {field} (allowed: {', '.join(allowed)})"
    if kind == "tags":
        if isinstance(value, str) and value in schema.tags:
            return None
        return f"unknown tag {value!r} (known: {', '.join(schema.tags)})"
    if kind == "datetime":
        try:
            to_timestamp(value)
        except (TypeError, ValueError):
            return "expects an ISO date/time"
        return None
    return f"{kind} columns cannot be filtered"


def _is_number(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


def to_timestamp(value: Any) -> pd.Timestamp:
    """A UTC timestamp at microsecond precision (what SQL engines keep) from ISO text, datetime,
    epoch seconds or a clock."""
    if isinstance(value, bool) or value is None:
        raise TypeError("not a time")
    ts = as_utc_timestamp(value)
    if pd.isna(ts):
        raise ValueError("not a time")
    return ts.floor("us")
