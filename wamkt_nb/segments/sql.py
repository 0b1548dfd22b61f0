"""A rule as a parameterised SQL predicate (DuckDB dialect), and evaluation in DuckDB in process.

Values always travel as ``?`` parameters with an explicit CAST; column names are checked against
the frame and quoted. Every condition is wrapped in ``COALESCE(..., FALSE)`` so NULLs follow the
same semantics as the pandas evaluator (see ``evaluation.py``). The same text runs against a
warehouse table with the features columns (tags as a VARCHAR list).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .evaluation import SegmentResult, cutoff, require_now
from .frame import INACTIVE_TAG, SegmentFrame, segment_frame
from .regex import translate
from .rules import And, Condition, Node, Not
from .schema import FrameSchema, check_rule, to_timestamp


@dataclass(frozen=True)
class SqlPredicate:
    """A WHERE-clause fragment with its parameters in order."""

    sql: str
    params: tuple[Any, ...]


def quote(name: str) -> str:
    """A safely quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def to_sql(rule: Node, schema: FrameSchema, now: Any = None) -> SqlPredicate:
    """The rule as one boolean SQL expression over a table with the schema's columns."""
    check_rule(rule, schema)
    require_now(rule, now)
    params: list[Any] = []
    sql = _node(rule, schema, now, params)
    return SqlPredicate(sql, tuple(params))


def segment_query(rule: Node, schema: FrameSchema, now: Any = None, table: str = "features",
                  id_column: str = "customer_id", tags_column: str = "tags") -> SqlPredicate:
    """``SELECT id, inactive FROM table WHERE rule``: the matching ids and their inactive flag."""
    where = to_sql(rule, schema, now)
    if schema.kinds.get(tags_column) == "tags":
        inactive = f"COALESCE(list_contains({quote(tags_column)}, CAST(? AS VARCHAR)), FALSE)"
        inactive_params: tuple[Any, ...] = (INACTIVE_TAG,)
    else:
        inactive, inactive_params = "FALSE", ()
    sql = (
        f"SELECT {quote(id_column)} AS customer_id, {inactive} AS inactive "
        f"FROM {quote(table)} WHERE {where.sql}"
    )
    return SqlPredicate(sql, inactive_params + where.params)


def _node(node: Node, schema: FrameSchema, now: Any, params: list) -> str:
    if isinstance(node, Condition):
        return f"COALESCE({_condition(node, schema.kinds[node.field], now, params)}, FALSE)"
    if isinstance(node, Not):
        return f"(NOT {_node(node.child, schema, now, params)})"
    if not node.children:
        return "TRUE" if isinstance(node, And) else "FALSE"
    joiner = " AND " if isinstance(node, And) else " OR "
    return "(" + joiner.join(_node(c, schema, now, params) for c in node.children) + ")"


_SQL_TYPE = {"number": "DOUBLE", "string": "VARCHAR", "category": "VARCHAR", "bool": "BOOLEAN",
             "datetime": "TIMESTAMPTZ"}


def _condition(cond: Condition, kind: str, now: Any, params: list) -> str:
    col = quote(cond.field)
    op, v = cond.op, cond.value
    if kind == "tags":
        if op == "is_empty":
            return f"({col} IS NULL OR len({col}) = 0)"
        if op == "is_set":
            return f"(len({col}) > 0)"
        params.append(list(v))
        func = {"has_any": "list_has_any", "has_all": "list_has_all", "has_none": "list_has_any"}[op]
        expr = f"{func}({col}, CAST(? AS VARCHAR[]))"
        return f"(NOT {expr})" if op == "has_none" else expr
    if kind in ("string", "category"):
        empty = f"({col} IS NULL OR {col} = '')"
        if op == "is_empty":
            return empty
        if op == "is_set":
            return f"(NOT {empty})"
    elif op == "is_empty":
        return f"({col} IS NULL)"
    elif op == "is_set":
        return f"({col} IS NOT NULL)"
    typ = _SQL_TYPE[kind]
    if kind == "number":
        col = f"CAST({col} AS DOUBLE)"
        v = tuple(float(x) for x in v) if isinstance(v, tuple) else float(v)
    if kind == "datetime":
        if op in ("within_last", "more_than_ago"):
            params.append(cutoff(now, v).to_pydatetime())
            return f"({col} {'>=' if op == 'within_last' else '<'} CAST(? AS TIMESTAMPTZ))"
        v = tuple(_time_param(x) for x in v) if isinstance(v, tuple) else _time_param(v)
    if op == "between":
        params.extend(v)
        return f"({col} BETWEEN CAST(? AS {typ}) AND CAST(? AS {typ}))"
    if op in ("in", "not_in"):
        params.extend(v)
        holes = ", ".join(f"CAST(? AS {typ})" for _ in v)
        return f"({col} {'IN' if op == 'in' else 'NOT IN'} ({holes}))"
    if op in ("contains", "starts_with", "ends_with", "regex"):
        params.append(translate(v).sql if op == "regex" else v)
        func = {"contains": "contains", "starts_with": "starts_with", "ends_with": "ends_with",
                "regex": "regexp_matches"}[op]
        return f"{func}({col}, CAST(? AS VARCHAR))"
    params.append(v)
    return f"({col} {'<>' if op == '!=' else op} CAST(? AS {typ}))"


def _time_param(value: Any):
    return to_timestamp(value).to_pydatetime()


class SqlEvaluator:
    """Evaluates rules in an in-process DuckDB over one features frame (registered once, via Arrow).

    Pass ``connection`` to share one DuckDB connection (opening one costs ~0.1 s); the frame is
    then registered as ``table`` on it and unregistered by ``close()``.
    """

    def __init__(self, frame: pd.DataFrame | SegmentFrame, connection: Any = None, table: str = "features") -> None:
        import duckdb
        import pyarrow as pa

        self.sf = segment_frame(frame)
        self.table = table
        self._lock = threading.Lock()
        self._owns_connection = connection is None
        self._con = duckdb.connect() if connection is None else connection
        arrow = pa.Table.from_pandas(self.sf.frame, preserve_index=False)
        tags = self.sf.tags_column
        if self.sf.schema.kinds.get(tags) == "tags" and arrow.schema.field(tags).type != pa.list_(pa.string()):
            index = arrow.schema.get_field_index(tags)
            values = pa.array([None if v is None else list(v) for v in self.sf.frame[tags]], pa.list_(pa.string()))
            arrow = arrow.set_column(index, tags, values)
        self._con.register(self.table, arrow)

    def query(self, rule: Node, now: Any = None) -> SqlPredicate:
        return segment_query(rule, self.sf.schema, now, self.table, self.sf.id_column, self.sf.tags_column)

    def evaluate(self, rule: Node, now: Any = None, include_inactive: bool = False) -> SegmentResult:
        """Same contract as ``evaluation.evaluate`` (ids in no particular order; no mask)."""
        q = self.query(rule, now)
        with self._lock:
            got = self._con.execute(q.sql, list(q.params)).fetchnumpy()
        ids = np.asarray(got["customer_id"], dtype=object)
        inactive = np.asarray(got["inactive"], dtype=bool)
        keep = np.ones(len(ids), dtype=bool) if include_inactive else ~inactive
        return SegmentResult(
            count=int(keep.sum()), base=len(self.sf), excluded_inactive=int(inactive.sum()),
            include_inactive=include_inactive, _ids=ids[keep],
        )

    def count(self, rule: Node, now: Any = None, include_inactive: bool = False) -> tuple[int, int]:
        """(matching customers, inactive-90-day customers among the matches) without fetching ids."""
        q = self.query(rule, now)
        sql = ("SELECT count(*) FILTER (WHERE NOT inactive) AS active, count(*) FILTER (WHERE inactive) "
               f"AS inactive FROM ({q.sql}) AS matches")
        with self._lock:
            [(active, inactive)] = self._con.execute(sql, list(q.params)).fetchall()
        return (active + inactive if include_inactive else active), inactive

    def close(self) -> None:
        if self._owns_connection:
            self._con.close()
        else:
            self._con.unregister(self.table)

    def __enter__(self) -> "SqlEvaluator":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
