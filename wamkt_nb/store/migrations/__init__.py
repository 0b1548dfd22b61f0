"""Versioned schema migrations, one numbered sequence per component.

Each component owns a folder here (``core/``, ``campaigns/``, ...) holding ``NNN_what.sql`` files.
A file, once released, never changes: a schema change is a new file. A database records which
(component, version) it has, so a file written by an older wamkt_nb opens in a newer one, and one
written by a newer wamkt_nb is refused with a clear message instead of being damaged.
Components are applied ``core`` first, then by name; tables do not reference other components.

What SQLite and PostgreSQL spell too differently for ``Dialect.ddl`` (triggers: SQLite's bodies
against PostgreSQL's trigger functions) goes into ``NNN_what.sqlite.sql`` and
``NNN_what.postgresql.sql`` (beside ``NNN_what.sql``, if some is shared): the file of the database's
dialect runs, as written, after the shared one, in the same transaction. A PostgreSQL file's
statements end with ``;`` at the end of a line outside ``$$`` quotes.
"""

from __future__ import annotations

import re
import sqlite3
import time
from dataclasses import dataclass
from importlib import resources
from typing import Any

from ..dialect import SQLITE, Dialect

_FILE = re.compile(r"^(\d{3})_([a-z0-9_]+)(?:\.(sqlite|postgresql))?\.sql$")


@dataclass(frozen=True)
class Migration:
    component: str
    version: int
    name: str
    sql: str
    own: dict[str, str]
    """The SQL of one dialect only (``Dialect.name`` to the file's text), run as written."""

    def statements(self, dialect: Dialect) -> list[str]:
        """The statements to run on ``dialect``: the shared ones in its spelling, then its own."""
        own = self.own.get(dialect.name, "")
        split = _statements if dialect is SQLITE else _dollar_quoted_statements
        return [dialect.ddl(s) for s in _statements(self.sql)] + split(own)


def known_migrations() -> list[Migration]:
    """Every migration shipped with this package, in the order it must be applied."""
    root = resources.files(__name__)
    found: list[Migration] = []
    for folder in root.iterdir():
        if not folder.is_dir() or folder.name.startswith(("_", ".")):
            continue
        shared: dict[tuple[int, str], str] = {}
        own: dict[tuple[int, str], dict[str, str]] = {}
        for file in folder.iterdir():
            match = _FILE.match(file.name)
            if not match:
                continue
            key = (int(match.group(1)), match.group(2))
            if match.group(3):
                own.setdefault(key, {})[match.group(3)] = file.read_text("utf-8")
            else:
                shared[key] = file.read_text("utf-8")
        found += [
            Migration(folder.name, v, name, shared.get((v, name), ""), own.get((v, name), {}))
            for v, name in set(shared) | set(own)
        ]
    found.sort(key=lambda m: (m.component != "core", m.component, m.version))
    return found


def apply_migrations(conn: Any, dialect: Dialect = SQLITE) -> list[Migration]:
    """Apply what the database lacks; return what was applied. Raises ValueError on a newer database.

    ``conn`` is a sqlite3 connection or the store's PostgreSQL one (with ``dialect=POSTGRES``);
    each migration runs in one writing transaction, so two processes opening a new database at
    once apply it once: the second finds it recorded when its turn comes and skips it.
    """
    for begin in dialect.begin_write:  # PostgreSQL's IF NOT EXISTS is no guard against a concurrent CREATE
        conn.execute(begin)
    conn.execute(
        dialect.ddl(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " component TEXT NOT NULL, version INTEGER NOT NULL, name TEXT NOT NULL,"
            " applied_at REAL NOT NULL, PRIMARY KEY (component, version))"
        )
    )
    conn.execute("COMMIT")
    have = {(r[0], r[1]) for r in conn.execute("SELECT component, version FROM schema_migrations")}
    migrations = known_migrations()
    newest: dict[str, int] = {}
    for m in migrations:
        newest[m.component] = max(newest.get(m.component, 0), m.version)
    for component, version in have:
        if version > newest.get(component, 0):
            raise ValueError(
                f"written by a newer wamkt_nb (schema {component} v{version}, this version knows "
                f"v{newest.get(component, 0)}); upgrade wamkt_nb to open it"
            )
    applied = []
    for m in migrations:
        if (m.component, m.version) in have:
            continue
        for begin in dialect.begin_write:
            conn.execute(begin)
        try:
            if not conn.execute(
                "SELECT 1 FROM schema_migrations WHERE component = ? AND version = ?", (m.component, m.version)
            ).fetchone():
                for statement in m.statements(dialect):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_migrations VALUES (?, ?, ?, ?)",
                    (m.component, m.version, m.name, time.time()),
                )
                applied.append(m)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    return applied


def _statements(sql: str) -> list[str]:
    """Split a migration file into complete statements (sqlite3.complete_statement keeps triggers whole)."""
    out, buf = [], ""
    for line in sql.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                out.append(buf.strip())
            buf = ""
    if buf.strip().strip(";").strip():
        raise ValueError(f"incomplete SQL statement in migration: {buf.strip()[:80]!r}")
    return out


def _dollar_quoted_statements(sql: str) -> list[str]:
    """Split a PostgreSQL migration file into statements: each ends with ``;`` at the end of a line
    outside ``$$`` quotes (a trigger function's body holds semicolons of its own)."""
    out, buf, quoted = [], "", False
    for line in sql.splitlines(keepends=True):
        buf += line
        quoted ^= line.count("$$") % 2 == 1
        if not quoted and line.rstrip().endswith(";"):
            out.append(buf.strip())
            buf = ""
    if buf.strip() and not all(ln.strip().startswith("--") or not ln.strip() for ln in buf.splitlines()):
        raise ValueError(f"incomplete SQL statement in migration: {buf.strip()[:80]!r}")
    return out
