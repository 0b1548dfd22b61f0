"""Named segments in the store: save (create or update), load, list and delete."""

from __future__ import annotations

from dataclasses import dataclass

from ..clock import Clock, SystemClock
from ..store import Store
from .describe import describe
from .rules import Node, from_json, to_json


@dataclass(frozen=True)
class SavedSegment:
    name: str
    rule: Node
    include_inactive: bool
    description: str
    created_at: float
    updated_at: float


def save_segment(
    store: Store, name: str, rule: Node, include_inactive: bool = False, clock: Clock | None = None
) -> SavedSegment:
    """Create ``name`` or replace its rule (keeping its creation time)."""
    name = name.strip()
    if not name:
        raise ValueError("a saved segment needs a name")
    now = (clock or SystemClock()).now()
    text = describe(rule, include_inactive)
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO saved_segments (name, rule_json, include_inactive, description, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(name) DO UPDATE SET rule_json = excluded.rule_json,"
            " include_inactive = excluded.include_inactive, description = excluded.description,"
            " updated_at = excluded.updated_at",
            (name, to_json(rule), int(include_inactive), text, now, now),
        )
    return load_segment(store, name)


def load_segment(store: Store, name: str) -> SavedSegment:
    rows = store.query("SELECT * FROM saved_segments WHERE name = ?", (name,))
    if not rows:
        raise KeyError(f"no saved segment named {name!r}")
    return _segment(rows[0])


def list_segments(store: Store) -> list[SavedSegment]:
    """All saved segments, by name."""
    return [_segment(r) for r in store.query("SELECT * FROM saved_segments ORDER BY name")]


def delete_segment(store: Store, name: str) -> bool:
    """Remove ``name``; False when there was none."""
    with store.transaction() as conn:
        return conn.execute("DELETE FROM saved_segments WHERE name = ?", (name,)).rowcount > 0


def _segment(row) -> SavedSegment:
    return SavedSegment(
        name=row["name"],
        rule=from_json(row["rule_json"]),
        include_inactive=bool(row["include_inactive"]),
        description=row["description"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )
