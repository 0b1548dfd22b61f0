"""Deciding and recording auto-replies for inbound messages.

:func:`decide` is pure (rule + what would be sent); :class:`AutoReplier` plugs into the webhook
receiver: inside its transaction it logs the decision, applies consent and tags, and queues the
reply; after the commit the reply is sent in the background, so the webhook answers at once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..cloudapi.payloads import template_message, text_message
from ..store import Store
from ..webhooks.consent import record_consent
from ..webhooks.replies import ReplyDispatcher, queue_reply
from ..webhooks.updates import InboundMessage
from .repository import load_rules, rules_version
from .rules import Rule, first_match

DEFAULT_COOLDOWN_SECONDS = 60.0
DEFAULT_MAX_PER_HOUR = 5


@dataclass(frozen=True)
class Decision:
    """Which rule fired for a message and what it does; ``payload`` is the reply body, if any."""

    rule: Rule | None
    payload: dict[str, Any] | None = None
    consent: bool | None = None
    tag: str | None = None
    handover: bool = False

    @property
    def reply_preview(self) -> str:
        """The reply as the customer would read it (template: its name and parameters)."""
        if not self.payload:
            return ""
        if self.payload["type"] == "text":
            return self.payload["text"]["body"]
        tpl = self.payload["template"]
        params = [p["text"] for c in tpl.get("components", []) for p in c.get("parameters", [])]
        return f"template {tpl['name']} ({tpl['language']['code']})" + (f" with {params}" if params else "")

    def effects(self) -> list[str]:
        """What happens, one plain sentence each (empty when no rule fires)."""
        if self.rule is None:
            return []
        out = [f"rule {self.rule.rule_id!r} fires ({self.rule.action})"]
        if self.payload:
            kind = "session message" if self.payload["type"] == "text" else "template"
            out.append(f"{kind} that would be sent: {self.reply_preview}")
        if self.consent is not None:
            out.append("records an opt-in" if self.consent else "records an opt-out")
        if self.tag:
            out.append(f"adds tag {self.tag!r}")
        if self.handover:
            out.append("hands the conversation to a person in the inbox")
        return out

    def describe(self) -> str:
        """One line for a person: the rule and its effects."""
        return "; ".join(self.effects()) or "no rule matches: the message goes to the inbox"


def decide(rules: Iterable[Rule], text: str | None, phone: str, language: str | None = None) -> Decision:
    """The decision for one message from ``phone`` (E.164), without side effects."""
    rule = first_match(rules, text, language)
    if rule is None:
        return Decision(None)
    payload = None
    if rule.action == "template":
        payload = template_message(
            phone, rule.template_name, rule.template_language, body_params=list(rule.template_params) or None
        )
    elif rule.reply_text.strip():
        payload = text_message(phone, rule.reply_text)
    consent = {"opt_out": False, "opt_in": True}.get(rule.action)
    return Decision(rule, payload, consent, rule.tag or None, rule.action == "handover")


def decide_message(rules: Iterable[Rule], meanings: Iterable[str], phone: str, language: str | None = None) -> Decision:
    """The decision for a message by its meanings in order (a button's payload before its label):
    the first meaning a rule matches decides."""
    rules = list(rules)
    for meaning in meanings:
        decision = decide(rules, meaning, phone, language)
        if decision.rule is not None:
            return decision
    return Decision(None)


def language_lookup(customers: Any) -> Callable[[str], str | None]:
    """``customer key -> language`` from a customers DataFrame (columns ``phone``, ``language``, optionally
    ``bsuid``: a customer without a phone is known by it), for rule languages."""
    keys = customers["phone"].fillna(customers["bsuid"]) if "bsuid" in customers else customers["phone"]
    table = customers.assign(phone=keys).dropna(subset=["phone", "language"])
    languages = dict(zip(table["phone"].astype(str), table["language"].astype(str).str.lower(), strict=True))
    return languages.get


def try_message(store: Store, text: str, phone: str = "+491510000000", language: str | None = None) -> Decision:
    """What the stored rules would do with ``text`` (for the rule editor's "try a message" box)."""
    return decide(load_rules(store), text, phone, language)


class AutoReplier:
    """The receiver's inbound handler: rules from the store, a per-customer cooldown, background sends.

    At most one auto-reply per customer per ``cooldown_seconds`` (opt-in/opt-out confirmations
    excepted) and ``max_per_hour`` in any hour, so two bots answering each other stop quickly.
    """

    def __init__(
        self,
        dispatcher: ReplyDispatcher | None,
        *,
        cooldown_seconds: float = DEFAULT_COOLDOWN_SECONDS,
        max_per_hour: int = DEFAULT_MAX_PER_HOUR,
        language_of: Callable[[str], str | None] | None = None,
        default_phone_number_id: str | None = None,
    ) -> None:
        self.dispatcher = dispatcher
        self.cooldown_seconds = float(cooldown_seconds)
        self.max_per_hour = int(max_per_hour)
        self.language_of = language_of
        self.default_phone_number_id = default_phone_number_id
        self._rules: tuple[tuple, list[Rule]] = ((), [])

    def __repr__(self) -> str:
        return f"AutoReplier(cooldown_seconds={self.cooldown_seconds:g}, max_per_hour={self.max_per_hour})"

    def _throttled(self, conn: sqlite3.Connection, phone: str, now: float, confirmation: bool) -> str | None:
        last, hourly = conn.execute(
            "SELECT MAX(created_at), SUM(CASE WHEN created_at > ? THEN 1 ELSE 0 END) FROM replies"
            " WHERE phone = ? AND kind = 'auto'"
            " AND created_at > ?",
            (now - 3600, phone, now - max(3600.0, self.cooldown_seconds)),
        ).fetchone()
        if hourly and hourly >= self.max_per_hour:
            return "hourly_cap"
        if not confirmation and last is not None and now - last < self.cooldown_seconds:
            return "cooldown"
        return None

    def _current_rules(self, conn: sqlite3.Connection) -> list[Rule]:
        """The stored rules, re-read only when they changed (the editor may run in another process)."""
        version = rules_version(conn)
        if version != self._rules[0]:
            self._rules = (version, load_rules(conn))
        return self._rules[1]

    def record(self, conn: sqlite3.Connection, messages: list[InboundMessage], received_at: float) -> list[int]:
        """Decide and record every message's auto-reply in the receiver's transaction; reply ids to send."""
        rules = self._current_rules(conn)
        reply_ids: list[int] = []
        for msg in messages:
            language = self.language_of(msg.key) if self.language_of else None
            decision = decide_message(rules, msg.meanings, msg.key, language)
            rule = decision.rule
            outcome, reply_id = ("no_match" if rule is None else "no_reply"), None
            if decision.consent is not None:
                record_consent(conn, msg.key, decision.consent, msg.timestamp, "keyword")
            if decision.tag:
                conn.execute(
                    "INSERT INTO customer_tags (phone, tag, added_at, source) VALUES (?,?,?,?) ON CONFLICT DO NOTHING",
                    (msg.key, decision.tag, received_at, f"autoreply:{rule.rule_id}"),
                )
            if decision.payload is not None:
                outcome = self._throttled(conn, msg.key, received_at, decision.consent is not None) or "replied"
                if outcome == "replied":
                    reply_id = queue_reply(
                        conn,
                        phone=msg.key,
                        kind="auto",
                        payload=decision.payload,
                        phone_number_id=msg.phone_number_id or self.default_phone_number_id,
                        now=received_at,
                        source=rule.rule_id,
                        in_reply_to=msg.wamid,
                        received_at=received_at,
                    )
                    reply_ids.append(reply_id)
            conn.execute(
                "INSERT INTO autoreply_log (wamid, phone, rule_id, action, outcome, reply_id, at)"
                " VALUES (?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
                (
                    msg.wamid,
                    msg.key,
                    rule.rule_id if rule else None,
                    rule.action if rule else None,
                    outcome,
                    reply_id,
                    received_at,
                ),
            )
        return reply_ids

    def dispatch(self, job_ids: list[int], started: float) -> None:
        if self.dispatcher is not None:
            self.dispatcher.submit(job_ids, started)
