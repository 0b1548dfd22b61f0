"""Auto-reply rules in the store: load, save (insert or update) and delete."""

from __future__ import annotations

import json
import sqlite3
import time

from ..store import Store
from .rules import AutoReplyRuleError, Rule

_COLUMNS = (
    "rule_id",
    "name",
    "match_type",
    "pattern",
    "languages",
    "priority",
    "action",
    "reply_text",
    "template_name",
    "template_language",
    "template_params",
    "tag",
    "enabled",
)


def _rule(row: sqlite3.Row) -> Rule:
    return Rule(
        rule_id=row["rule_id"],
        name=row["name"],
        match_type=row["match_type"],
        pattern=row["pattern"],
        languages=tuple(x for x in row["languages"].split(",") if x.strip()),
        priority=int(row["priority"]),
        action=row["action"],
        reply_text=row["reply_text"],
        template_name=row["template_name"],
        template_language=row["template_language"],
        template_params=tuple(str(p) for p in json.loads(row["template_params"] or "[]")),
        tag=row["tag"],
        enabled=bool(row["enabled"]),
    )


def load_rules(source: Store | sqlite3.Connection) -> list[Rule]:
    """Every stored rule (enabled or not) in the order they are tried."""
    rows = source.execute(f"SELECT {', '.join(_COLUMNS)} FROM autoreply_rules ORDER BY priority, rule_id").fetchall()
    rules = []
    for row in rows:
        try:
            rules.append(_rule(row))
        except AutoReplyRuleError:  # a hand-edited row that can no longer work is skipped, not fatal
            continue
    return rules


def rules_version(source: Store | sqlite3.Connection) -> tuple:
    """Changes whenever a rule is added, changed or deleted (cheap: lets a reader cache the rules)."""
    return tuple(
        source.execute(
            "SELECT count(*), max(updated_at), COALESCE(SUM(updated_at), 0.0) FROM autoreply_rules"
        ).fetchone()
    )


def save_rule(store: Store, rule: Rule) -> Rule:
    """Insert or replace ``rule`` (validated by constructing it)."""
    values = (
        rule.rule_id,
        rule.name,
        rule.match_type,
        rule.pattern,
        ",".join(rule.languages),
        rule.priority,
        rule.action,
        rule.reply_text,
        rule.template_name,
        rule.template_language,
        json.dumps(list(rule.template_params), ensure_ascii=False),
        rule.tag,
        int(rule.enabled),
    )
    with store.transaction() as conn:
        conn.execute(
            f"INSERT INTO autoreply_rules ({', '.join(_COLUMNS)}, updated_at)"
            f" VALUES ({', '.join('?' * len(_COLUMNS))}, ?) ON CONFLICT (rule_id) DO UPDATE SET "
            + ", ".join(f"{c} = excluded.{c}" for c in (*_COLUMNS[1:], "updated_at")),
            (*values, time.time()),
        )
    return rule


def delete_rule(store: Store, rule_id: str) -> bool:
    """Remove a rule; True if it existed."""
    with store.transaction() as conn:
        return conn.execute("DELETE FROM autoreply_rules WHERE rule_id = ?", (rule_id,)).rowcount > 0
