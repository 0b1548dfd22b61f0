"""Journeys: follow-up steps of a campaign, started when they come due, sent like any campaign.

A journey is a campaign (its *stage 0*) plus ordered steps. Step ``n`` waits ``delay`` after the
last message of the stage before it went out (step 1: the campaign; a stage still sending holds the
next one back), then goes to the campaign's reached recipients who

* did not stop: no message from them, order or opt-out since the journey's first message went out
  (the journey's ``stop_on``), and
* meet the step's condition on the latest journey message they got (:data:`CONDITIONS`).

Starting a step plans it with the dry run (consent, opt-outs, service windows, quiet hours, the day's
limit, the 24 h marketing cap, with the compliance policy the campaign was planned with) and writes
the plan as a child campaign (:func:`wamkt_nb.ledger.journeys.step_campaign_id`) with a standing run
request: ``Workspace.send_due`` or the worker sends it through the same sender, the send-time checks
and the cap reservation, exactly once (the child's id is the step's claim). The request carries the
pace the campaign was submitted with, or the step's own. The step funnel reads those child campaigns.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
import pandas as pd

from .. import ledger
from ..data.features import build_features
from ..data.stored import read_customer_data
from ..ledger import control
from ..ledger import journeys as steps_sql
from ..ledger.engagement import engagement_facts
from ..messages.personalise import MessageSpec, Param
from ..messages.templates import Template
from ..store import Store
from .dryrun import dry_run
from .pacing import resolve_rate
from .planned_policy import campaign_policy
from .send_options import pace_options

CONDITIONS: dict[str, str] = {
    "any": "everyone still in the journey",
    "not_delivered": "the last message was not delivered",
    "not_read": "the last message was not read",
    "read_no_reply": "read the last message, did not reply",
    "clicked": "clicked a link of the last message",
    "not_clicked": "did not click a link of the last message",
}
"""Step conditions on the recipient's latest journey message, and how people read them."""

_FLAGS: dict[str, Callable[[pd.DataFrame], np.ndarray]] = {
    "any": lambda f: np.ones(len(f), dtype=bool),
    "not_delivered": lambda f: ~f["delivered"].to_numpy(bool),
    "not_read": lambda f: ~f["read"].to_numpy(bool),
    "read_no_reply": lambda f: f["read"].to_numpy(bool) & ~f["replied"].to_numpy(bool),
    "clicked": lambda f: f["clicked"].to_numpy(bool),
    "not_clicked": lambda f: ~f["clicked"].to_numpy(bool),
}


@dataclass(frozen=True)
class Step:
    """A step as the analyst defines it: wait ``delay_seconds``, check ``condition``, send ``message``
    with ``values`` as fixed columns of every recipient (e.g. the campaign's discount: the step is
    planned later from the customers' features, which have no campaign-wide columns), at ``pace``
    (None: the pace the campaign was submitted with, else the default)."""

    delay_seconds: float
    condition: str
    message: MessageSpec
    values: Mapping[str, str] = field(default_factory=dict)
    pace: str | float | None = None

    def __post_init__(self) -> None:
        if self.condition not in CONDITIONS:
            raise ValueError(f"step condition {self.condition!r}: choose one of {', '.join(CONDITIONS)}")
        if not np.isfinite(self.delay_seconds) or self.delay_seconds < 0:
            raise ValueError(f"step delay must be a number of seconds >= 0, not {self.delay_seconds!r}")
        if self.pace is not None:
            resolve_rate(self.pace)  # a bad pace is refused here, not when the step comes due in a worker


# -- messages as the ledger keeps them ----------------------------------------------------------------
def message_json(spec: MessageSpec, values: Mapping[str, str] | None = None) -> str:
    """``spec`` (and a step's fixed ``values``) as JSON, for a step started later by another process
    (a worker)."""
    variants: dict[str, Any] = {}
    for language, variant in spec.variants.items():
        if isinstance(variant, Template):
            variants[language] = {
                "name": variant.name,
                "language": variant.language,
                "category": variant.category,
                "status": variant.status,
                "id": variant.id,
                "parameter_format": variant.parameter_format,
                "components": variant.to_api(),
            }
        else:
            variants[language] = variant
    return orjson.dumps(
        {
            "category": spec.category,
            "kind": spec.kind,
            "variants": variants,
            "params": {
                k: {"source": p.source, "fallback": p.fallback, "max_length": p.max_length}
                for k, p in spec.params.items()
            },
            "max_length": spec.max_length,
            "default_language": spec.default_language,
            "header_media": spec.header_media,
            "button_suffixes": {str(k): v for k, v in spec.button_suffixes.items()},
            "links": dict(spec.links),
            "values": {str(k): str(v) for k, v in (values or {}).items()},
        }
    ).decode()


def message_from_json(text: str) -> MessageSpec:
    """The :class:`MessageSpec` :func:`message_json` wrote."""
    data = orjson.loads(text)
    variants = data["variants"]
    kind = data["kind"]
    return MessageSpec(
        category=data["category"],
        text=variants if kind == "text" else None,
        template={k: Template.from_api(v) for k, v in variants.items()} if kind == "template" else None,
        params={k: Param(**p) for k, p in data["params"].items()},
        max_length=data["max_length"],
        default_language=data["default_language"],
        header_media=data["header_media"],
        button_suffixes={int(k): v for k, v in data["button_suffixes"].items()},
        links=data["links"],
    )


def add_steps(store: Store, journey_id: str, steps: list[Step], stop_on: tuple[str, ...], now: float) -> list[int]:
    """Append ``steps`` to the journey of campaign ``journey_id``; their numbers."""
    return [
        steps_sql.save_step(
            store,
            journey_id,
            delay_seconds=s.delay_seconds,
            condition=s.condition,
            message_json=message_json(s.message, s.values),
            stop_on=stop_on,
            now=now,
            options_json=orjson.dumps({} if s.pace is None else {"pace": s.pace}).decode(),
        )
        for s in steps
    ]


# -- when steps come due --------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Next:
    """The next step of a journey not yet started, and when it is due (None: its stage still sends)."""

    row: steps_sql.StepRow
    due_at: float | None
    since: float | None  # when the journey's first message went out (None: nobody was reached)


def _next_step(store: Store, journey_id: str) -> _Next | None:
    rows = steps_sql.journey_steps(store, journey_id)
    pending = [r for r in rows if r.started_at is None]
    if not pending:
        return None
    row = pending[0]
    over, since, last = steps_sql.stage_sent(store, journey_id)
    if not over:
        return _Next(row, None, since)
    anchor = last
    before = [r for r in rows if r.step < row.step]
    if before:
        prev = before[-1]
        anchor = prev.started_at
        if prev.campaign_id is not None:
            prev_over, _, prev_last = steps_sql.stage_sent(store, prev.campaign_id)
            if not prev_over:
                return _Next(row, None, since)
            anchor = prev_last if prev_last is not None else prev.started_at
    if anchor is None:  # the campaign reached nobody: the journey has nobody to follow up
        return _Next(row, -np.inf, None)
    return _Next(row, anchor + row.delay_seconds, since)


def next_step_due(store: Store) -> float | None:
    """The earliest time a journey step comes due (None: no step is waiting for a time)."""
    times = [n.due_at for j in steps_sql.open_journeys(store) if (n := _next_step(store, j)) is not None and n.due_at]
    return min(times, default=None)


def start_due_steps(store: Store, now: float, link_base_url: str | None = None) -> list[str]:
    """Start every journey step due at ``now`` (a later step of the same journey waits for this one
    to be sent); return the step campaigns created. ``link_base_url``: where tracked links of the
    steps' messages point (default: the settings' ``links_base``)."""
    created: list[str] = []
    for journey_id in steps_sql.open_journeys(store):
        found = _next_step(store, journey_id)
        if found is None or found.due_at is None or found.due_at > now:
            continue
        child = _start(store, journey_id, found, now, link_base_url)
        if child is not None:
            created.append(child)
    return created


def _start(store: Store, journey_id: str, found: _Next, now: float, link_base_url: str | None) -> str | None:
    row = found.row
    chosen = [] if found.since is None else _recipients(store, journey_id, row.condition, found.since)
    if not chosen:
        steps_sql.mark_started(store, journey_id, row.step, None, 0, now)
        return None
    child = steps_sql.step_campaign_id(journey_id, row.step)
    info = ledger.campaign_info(store, journey_id)
    features = build_features(read_customer_data(store), pd.Timestamp(now, unit="s", tz="UTC"))
    audience = features[features["customer_id"].astype(str).isin(chosen)].reset_index(drop=True)
    audience = audience.assign(**orjson.loads(row.message_json).get("values", {}))
    report = dry_run(
        audience,
        message_from_json(row.message_json),
        now=now,
        store=store,
        campaign_id=child,
        policy=campaign_policy(info),
        schedule="now",
        link_base_url=link_base_url,
    )
    try:
        ledger.create_campaign(
            store,
            report.plan,
            name=f"{info['name']} · step {row.step}",
            now=now,
            campaign_id=child,
            segment_name=info.get("segment_name"),
            spec={"journey": {"journey_id": journey_id, "step": row.step, "condition": row.condition}},
        )
    except ledger.LedgerError:
        if ledger.find_campaign(store, child) is None:
            raise
        # another process started the step first: its campaign stands, this plan is dropped
        steps_sql.submit_step(store, child, _step_options(store, journey_id, row), now)
        steps_sql.mark_started(store, journey_id, row.step, child, len(audience), now)
        return None
    steps_sql.submit_step(store, child, _step_options(store, journey_id, row), now)
    steps_sql.mark_started(store, journey_id, row.step, child, len(audience), now)
    return child


def _step_options(store: Store, journey_id: str, row: steps_sql.StepRow) -> dict[str, Any]:
    """The send options of a step's run request: the pace its campaign was submitted with, unless
    the step has its own."""
    return {**pace_options(control.options_of(store, journey_id)), **orjson.loads(row.options_json)}


def _recipients(store: Store, journey_id: str, condition: str, since: float) -> list[str]:
    """The journey's reached recipients who did not stop and meet ``condition`` on their latest
    journey message."""
    reached = steps_sql.reached_customers(store, journey_id)
    stopped = steps_sql.stopped_customers(store, journey_id, since, steps_sql.journey_stop_on(store, journey_id))
    stages = [journey_id] + [r.campaign_id for r in steps_sql.journey_steps(store, journey_id) if r.campaign_id]
    facts = engagement_facts(store, stages)
    latest = facts.sort_values("at").groupby("customer_id").tail(1)
    meets = latest.loc[_FLAGS[condition](latest), "customer_id"].astype(str)
    keep = set(meets) - stopped
    return [c for c in reached if c in keep]


def journey_table(store: Store, journey_id: str) -> pd.DataFrame:
    """The journey's steps: number, delay, condition, the message's kind and text, the step's own
    pace (None: its campaign's), and once started the step's campaign, when it started and its
    recipients."""
    rows = steps_sql.journey_steps(store, journey_id)
    return pd.DataFrame(
        {
            "step": [r.step for r in rows],
            "delay_hours": [r.delay_seconds / 3600.0 for r in rows],
            "condition": [r.condition for r in rows],
            "message": [describe_message(message_from_json(r.message_json)) for r in rows],
            "pace": pd.Series([orjson.loads(r.options_json).get("pace") for r in rows], dtype="object"),
            "campaign_id": [r.campaign_id for r in rows],
            "started_at": pd.to_datetime(pd.Series([r.started_at for r in rows], dtype="float64"), unit="s", utc=True),
            "recipients": pd.array([r.recipients for r in rows], dtype="Int64"),
        }
    )


def describe_message(spec: MessageSpec) -> str:
    """A template's name, or the start of the session text."""
    variant = next(iter(spec.variants.values()))
    return f"template {variant.name}" if isinstance(variant, Template) else str(variant)[:60]


JOURNEY_PRESETS: dict[str, tuple[tuple[float, str], ...]] = {
    "abandoned_cart": ((15 * 60.0, "any"), (45 * 60.0, "any"), (23 * 3600.0, "any")),
    "not_read_24h": ((24 * 3600.0, "not_read"),),
}
"""``abandoned_cart``: reminders 15 min, 1 h and 24 h after the campaign (each delay counts from the
stage before); ``not_read_24h``: a second variant for whoever did not read within 24 h."""
