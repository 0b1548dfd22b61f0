"""A rule as a parameterised SQL predicate in one of four dialects, and evaluation in DuckDB in process.

One compiler walks the rule; a ``Dialect`` holds what differs between databases (placeholders,
identifier quotes, type names, the tag-list and string functions, the regex spelling). Values
always travel as parameters with an explicit CAST; column names are checked against the frame and
quoted. Every condition is wrapped in ``COALESCE(..., FALSE)`` so NULLs follow the same semantics
as the pandas evaluator (see ``evaluation.py``). The text runs against a warehouse table with the
features columns: tags as a string list/array, missing values as NULL (never NaN).

``duckdb`` and ``postgres`` (psycopg's ``%s`` placeholders) are executed by the tests against real
databases. ``bigquery`` and ``snowflake`` keep ``?`` placeholders; ``inline_sql`` writes the values
in as literals through sqlglot (which parses the text in that dialect, so a malformed spelling
fails there) for pasting into the warehouse's console. PostgreSQL string comparisons use
``COLLATE "C"`` (code-point order, as Python); PostgreSQL keeps timestamps to the microsecond.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from .engagement import expand
from .evaluation import SegmentResult, cutoff, require_now
from .frame import INACTIVE_TAG, SegmentFrame, segment_frame
from .regex import translate
from .rules import And, Condition, Node, Not, SegmentRuleError
from .schema import FrameSchema, check_rule, to_timestamp


@dataclass(frozen=True)
class SqlPredicate:
    """A WHERE-clause fragment (or a query) with its parameters in order."""

    sql: str
    params: tuple[Any, ...]
    dialect: str = "duckdb"


@dataclass(frozen=True)
class Dialect:
    """The spellings that differ between databases; ``{c}`` is the column, ``{p}`` a parameter.

    A template may use ``{p}`` more than once: the value is then passed once per use.
    """

    name: str
    placeholder: str
    quote_char: str
    types: dict[str, str]  # rule kind -> SQL type, plus "tags" -> the string-list type
    size: str  # number of tags
    has_any: str
    has_all: str
    has_tag: str  # one tag ({p} is a single string)
    contains: str
    starts_with: str
    ends_with: str
    regex: str
    regex_spelling: str  # attribute of PortableRegex
    text_order: str = "{c}"  # a string column in ordered comparisons


DIALECTS = {
    "duckdb": Dialect(
        "duckdb",
        "?",
        '"',
        {
            "number": "DOUBLE",
            "string": "VARCHAR",
            "category": "VARCHAR",
            "bool": "BOOLEAN",
            "datetime": "TIMESTAMPTZ",
            "tags": "VARCHAR[]",
        },
        size="len({c})",
        has_any="list_has_any({c}, {p})",
        has_all="list_has_all({c}, {p})",
        has_tag="list_contains({c}, {p})",
        contains="contains({c}, {p})",
        starts_with="starts_with({c}, {p})",
        ends_with="ends_with({c}, {p})",
        regex="regexp_matches({c}, {p})",
        regex_spelling="sql",
    ),
    "postgres": Dialect(
        "postgres",
        "%s",
        '"',
        {
            "number": "DOUBLE PRECISION",
            "string": "TEXT",
            "category": "TEXT",
            "bool": "BOOLEAN",
            "datetime": "TIMESTAMPTZ",
            "tags": "TEXT[]",
        },
        size="cardinality({c})",
        has_any="({c} && {p})",
        has_all="({c} @> {p})",
        has_tag="({p} = ANY({c}))",
        contains="(strpos({c}, {p}) > 0)",
        starts_with="starts_with({c}, {p})",
        ends_with="(right({c}, char_length({p})) = {p})",
        regex="({c} ~ {p})",
        regex_spelling="postgres",
        text_order='({c} COLLATE "C")',
    ),
    "bigquery": Dialect(
        "bigquery",
        "?",
        "`",
        {
            "number": "FLOAT64",
            "string": "STRING",
            "category": "STRING",
            "bool": "BOOL",
            "datetime": "TIMESTAMP",
            "tags": "ARRAY<STRING>",
        },
        size="ARRAY_LENGTH({c})",
        has_any="IF({c} IS NULL, NULL, EXISTS(SELECT 1 FROM UNNEST({c}) AS tag WHERE tag IN UNNEST({p})))",
        has_all="IF({c} IS NULL, NULL, NOT EXISTS(SELECT 1 FROM UNNEST({p}) AS tag WHERE tag NOT IN UNNEST({c})))",
        has_tag="({p} IN UNNEST({c}))",
        contains="(STRPOS({c}, {p}) > 0)",
        starts_with="STARTS_WITH({c}, {p})",
        ends_with="ENDS_WITH({c}, {p})",
        regex="REGEXP_CONTAINS({c}, {p})",
        regex_spelling="sql",
    ),
    "snowflake": Dialect(
        "snowflake",
        "?",
        '"',
        {
            "number": "DOUBLE",
            "string": "VARCHAR",
            "category": "VARCHAR",
            "bool": "BOOLEAN",
            "datetime": "TIMESTAMP_TZ",
            "tags": "ARRAY",
        },
        size="ARRAY_SIZE({c})",
        has_any="ARRAYS_OVERLAP({c}, {p})",
        has_all="(ARRAY_SIZE(ARRAY_EXCEPT({p}, {c})) = 0)",
        has_tag="ARRAY_CONTAINS({p}::VARIANT, {c})",
        contains="CONTAINS({c}, {p})",
        starts_with="STARTSWITH({c}, {p})",
        ends_with="ENDSWITH({c}, {p})",
        regex="(REGEXP_INSTR({c}, {p}) > 0)",
        regex_spelling="sql",
    ),
}


def dialect_of(name: str) -> Dialect:
    try:
        return DIALECTS[name]
    except KeyError:
        raise SegmentRuleError(f"unknown SQL dialect {name!r}; known: {', '.join(DIALECTS)}") from None


def quote(name: str, dialect: str = "duckdb") -> str:
    """A safely quoted SQL identifier (``%`` doubled where ``%s`` marks the parameters)."""
    d = dialect_of(dialect)
    q = d.quote_char
    quoted = q + name.replace(q, q + q) + q
    return quoted.replace("%", "%%") if d.placeholder == "%s" else quoted


def to_sql(rule: Node, schema: FrameSchema, now: Any = None, dialect: str = "duckdb") -> SqlPredicate:
    """The rule as one boolean SQL expression over a table with the schema's columns."""
    d = dialect_of(dialect)
    rule = expand(rule)
    check_rule(rule, schema)
    require_now(rule, now)
    params: list[Any] = []
    sql = _Compiler(d, schema, now, params).node(rule)
    return SqlPredicate(sql, tuple(params), d.name)


def segment_query(
    rule: Node,
    schema: FrameSchema,
    now: Any = None,
    table: str = "features",
    id_column: str = "customer_id",
    tags_column: str = "tags",
    dialect: str = "duckdb",
) -> SqlPredicate:
    """``SELECT id, inactive FROM table WHERE rule``: the matching ids and their inactive flag."""
    d = dialect_of(dialect)
    where = to_sql(rule, schema, now, d.name)
    if schema.kinds.get(tags_column) == "tags":
        inactive_params: list[Any] = []
        has_tag = _Compiler(d, schema, now, inactive_params).fill(
            d.has_tag, quote(tags_column, d.name), INACTIVE_TAG, "string"
        )
        inactive = f"COALESCE({has_tag}, FALSE)"
    else:
        inactive, inactive_params = "FALSE", []
    sql = (
        f"SELECT {quote(id_column, d.name)} AS customer_id, {inactive} AS inactive "
        f"FROM {quote(table, d.name)} WHERE {where.sql}"
    )
    return SqlPredicate(sql, tuple(inactive_params) + where.params, d.name)


def count_query(query: SqlPredicate) -> SqlPredicate:
    """``SELECT active, inactive`` counts over a ``segment_query`` without fetching the ids."""
    sql = (
        "SELECT count(*) FILTER (WHERE NOT inactive) AS active, count(*) FILTER (WHERE inactive) "
        f"AS inactive FROM ({query.sql}) AS matches"
    )
    return SqlPredicate(sql, query.params, query.dialect)


def inline_sql(query: SqlPredicate) -> str:
    """The query with its parameters written in as literals (via sqlglot, parsed in its dialect).

    For reading or pasting into a console; programs should pass the parameters instead.
    """
    import sqlglot  # noqa: PLC0415 (heavy, ~0.15 s to import: only to print a rule as another dialect's SQL)
    from sqlglot import exp  # noqa: PLC0415 (see sqlglot above)

    read = query.dialect
    text = query.sql
    if dialect_of(read).placeholder == "%s":
        text = re.sub(r"%([s%])", lambda m: "?" if m.group(1) == "s" else "%", text)
    tree = sqlglot.parse_one(text, read=read)
    values = [list(v) if isinstance(v, tuple) else v for v in query.params]
    return exp.replace_placeholders(tree, *values).sql(dialect=read)


class _Compiler:
    """One rule to SQL text in one dialect, appending parameters in the order they appear."""

    def __init__(self, dialect: Dialect, schema: FrameSchema, now: Any, params: list) -> None:
        self.d, self.schema, self.now, self.params = dialect, schema, now, params

    def node(self, node: Node) -> str:
        if isinstance(node, Condition):
            return f"COALESCE({self.condition(node, self.schema.kinds[node.field])}, FALSE)"
        if isinstance(node, Not):
            return f"(NOT {self.node(node.child)})"
        if not node.children:
            return "TRUE" if isinstance(node, And) else "FALSE"
        joiner = " AND " if isinstance(node, And) else " OR "
        return "(" + joiner.join(self.node(c) for c in node.children) + ")"

    def param(self, value: Any, kind: str) -> str:
        """One placeholder with its CAST; the value goes to the parameter list."""
        self.params.append(value)
        return f"CAST({self.d.placeholder} AS {self.d.types[kind]})"

    def fill(self, template: str, col: str, value: Any, kind: str) -> str:
        """A dialect template with the column and one CAST parameter per ``{p}`` in it."""
        parts = template.split("{p}")
        out = parts[0]
        for part in parts[1:]:
            out += self.param(value, kind) + part
        return out.replace("{c}", col)

    def condition(self, cond: Condition, kind: str) -> str:
        d = self.d
        col = quote(cond.field, d.name)
        op, v = cond.op, cond.value
        if kind == "tags":
            size = d.size.replace("{c}", col)
            if op == "is_empty":
                return f"({col} IS NULL OR {size} = 0)"
            if op == "is_set":
                return f"({size} > 0)"
            expr = self.fill(d.has_all if op == "has_all" else d.has_any, col, list(v), "tags")
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
        if kind == "number":
            col = f"CAST({col} AS {d.types['number']})"
            v = tuple(float(x) for x in v) if isinstance(v, tuple) else float(v)
        elif kind in ("string", "category") and op in ("between", ">", ">=", "<", "<="):
            col = d.text_order.replace("{c}", col)
        if kind == "datetime":
            if op in ("within_last", "more_than_ago"):
                bound = self.param(cutoff(self.now, v).to_pydatetime(), kind)
                return f"({col} {'>=' if op == 'within_last' else '<'} {bound})"
            v = tuple(_time_param(x) for x in v) if isinstance(v, tuple) else _time_param(v)
        if op == "between":
            return f"({col} BETWEEN {self.param(v[0], kind)} AND {self.param(v[1], kind)})"
        if op in ("in", "not_in"):
            holes = ", ".join(self.param(x, kind) for x in v)
            return f"({col} {'IN' if op == 'in' else 'NOT IN'} ({holes}))"
        if op in ("contains", "starts_with", "ends_with"):
            return self.fill(getattr(d, op), col, v, "string")
        if op == "regex":
            return self.fill(d.regex, col, getattr(translate(v), d.regex_spelling), "string")
        return f"({col} {'<>' if op == '!=' else op} {self.param(v, kind)})"


def _time_param(value: Any):
    return to_timestamp(value).to_pydatetime()


class SqlEvaluator:
    """Evaluates rules in an in-process DuckDB over one features frame (registered once, via Arrow).

    Pass ``connection`` to share one DuckDB connection (opening one costs ~0.1 s); the frame is
    then registered as ``table`` on it and unregistered by ``close()``.
    """

    def __init__(self, frame: pd.DataFrame | SegmentFrame, connection: Any = None, table: str = "features") -> None:
        import duckdb  # noqa: PLC0415 (heavy, ~0.6 s to import: only when a rule is evaluated in DuckDB)

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
            count=int(keep.sum()),
            base=len(self.sf),
            excluded_inactive=int(inactive.sum()),
            include_inactive=include_inactive,
            _ids=ids[keep],
        )

    def count(self, rule: Node, now: Any = None, include_inactive: bool = False) -> tuple[int, int]:
        """(matching customers, inactive-90-day customers among the matches) without fetching ids."""
        q = count_query(self.query(rule, now))
        with self._lock:
            [(active, inactive)] = self._con.execute(q.sql, list(q.params)).fetchall()
        return (active + inactive if include_inactive else active), inactive

    def close(self) -> None:
        if self._owns_connection:
            self._con.close()
        else:
            self._con.unregister(self.table)

    def __enter__(self) -> SqlEvaluator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
