"""The dry-run: what a campaign would do, recipient by recipient, before anything is sent.

:func:`dry_run` personalises the message, applies the compliance rules, plans each send time,
prices every message and estimates the funnel. Its ``plan`` DataFrame is the "Campaign plan" of
``docs/contracts.md``: the sending engine writes it to the ledger and sends it.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..cloudapi.payloads import MAX_TEXT_BODY, template_message, text_message
from ..compliance import (
    REASON_CODES,
    Policy,
    apply_daily_limit,
    check_rules,
    explain,
    needs_service_window,
    planned_times,
    reached_last_24h,
    recipient_zones,
)
from ..currency import ExchangeRates
from ..identities import customer_keys
from ..ledger.campaigns import PLAN_COLUMNS as LEDGER_PLAN_COLUMNS
from ..links import UTM, add_tracked_links
from ..messages.interactive import send_arguments
from ..messages.personalise import MessageSpec, personalise
from ..messages.templates import Template
from ..messages.validation import MAX_BODY
from ..pricing import RateCard, default_card, message_costs, unpriced_note
from ..settings import PACE_PRESETS, load_settings, reporting_rates
from ..store import Store

DAY = 86_400.0
DELIVERY_RATE = {"text": 0.98, "media": 0.925}
"""WhatsApp marketing guide, 2024: plain text is delivered 98 % of the time, images/PDF 90-95 %."""
DEFAULT_READ_RATE = 0.58
DEFAULT_REPLY_RATE = {"marketing": 0.02, "utility": 0.175, "authentication": 0.0, "service": 0.4}
"""Used where a customer has no history: the guide's read rate 58 %, replies 1-3 % for promotions and
15-20 % for order notifications."""
OUTCOMES = ("send", "later", "excluded")
SEND, LATER, EXCLUDED = 0, 1, 2
PLAN_COLUMNS = (*LEDGER_PLAN_COLUMNS, "name", "arm", "cost")
"""The dry run's plan: every column the ledger records a campaign from, plus the recipient's name (for
the preview), the A/B arm and the price."""


@dataclass
class DryRunReport:
    """The plan (one row per recipient) plus the numbers an analyst decides on."""

    plan: pd.DataFrame
    now: float
    pace: str
    rate_per_second: float
    card: RateCard
    currency: str
    funnel: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    @property
    def to_send(self) -> pd.DataFrame:
        return self.plan[self.plan["outcome"] != "excluded"]

    def counts(self) -> pd.DataFrame:
        """Recipients by outcome and reason (send, later, excluded; largest first), with the meaning."""
        plan = self.plan
        out = (
            plan.groupby(["outcome", "reason"], observed=True)
            .size()
            .rename("recipients")
            .reset_index()
            .astype({"outcome": "str", "reason": "str"})
        )
        out["meaning"] = out["reason"].map(explain).where(out["reason"] != "", "")
        out["rank"] = out["outcome"].map({o: i for i, o in enumerate(OUTCOMES)})
        out = out.sort_values(["rank", "recipients"], ascending=[True, False], kind="stable")
        out["share"] = out["recipients"] / max(len(plan), 1)
        return out.drop(columns="rank").reset_index(drop=True)

    @property
    def total_cost(self) -> float:
        return float(self.plan["cost"].sum())

    @property
    def duration_seconds(self) -> float:
        """Time to push every planned message through at the chosen pace."""
        return float((self.plan["outcome"] != "excluded").sum() / self.rate_per_second)

    def summary(self) -> dict[str, Any]:
        """The headline figures as one flat dict (for the widget, the CLI and the notebook)."""
        plan = self.plan
        outcome = plan["outcome"]
        planned = plan.loc[outcome != "excluded", "planned_at"]
        return {
            "recipients": len(plan),
            "send": int((outcome == "send").sum()),
            "later": int((outcome == "later").sum()),
            "excluded": int((outcome == "excluded").sum()),
            "cost": round(self.total_cost, 4),
            "currency": self.currency,
            "rate_card": self.card.label,
            "cost_note": unpriced_note(plan[outcome != "excluded"], plan.loc[outcome != "excluded", "cost"], self.card),
            "pace": self.pace,
            "rate_per_second": self.rate_per_second,
            "duration_seconds": self.duration_seconds,
            "first_send": planned.min() if len(planned) else pd.NaT,
            "last_send": planned.max() if len(planned) else pd.NaT,
            "expected_read": float(self.funnel.loc[self.funnel["stage"] == "read", "expected"].sum()),
            "expected_replied": float(self.funnel.loc[self.funnel["stage"] == "replied", "expected"].sum()),
        }


def dry_run(
    audience: pd.DataFrame,
    message: MessageSpec | Mapping[str, MessageSpec],
    *,
    now: float | pd.Timestamp,
    store: Store | None = None,
    campaign_id: str = "",
    policy: Policy = Policy(),
    card: RateCard | None = None,
    rates: ExchangeRates | None = None,
    pace: str = "safe",
    schedule: str = "best_hour",
    start: float | None = None,
    payloads: bool = True,
    tracked_links: bool | None = None,
    link_base_url: str | None = None,
    utm: UTM | None = None,
) -> DryRunReport:
    """Plan a campaign for ``audience`` (customers or features, one row each) without sending.

    A customer is addressed by their key (:func:`wamkt_nb.identities.customer_keys`): the phone, or
    for a customer with a ``bsuid`` and no phone the phone a webhook linked to it, else the BSUID
    (the plan's ``phone`` column then holds it and the message uses Meta's ``recipient`` field).

    ``message`` is one :class:`MessageSpec` or, for an A/B test, ``{arm: spec}`` with the arm of
    each customer in the audience's ``arm`` column (``"holdout"`` gets nothing). ``schedule`` is
    ``"best_hour"`` (each customer's ``most_active_hour``), ``"windows"`` (10-12 h / 20-22 h local)
    or ``"now"``; ``pace`` names a :data:`wamkt_nb.settings.PACE_PRESETS` entry. Each message's
    ``cost`` is what it will cost if delivered at its planned time, priced by ``card`` (default: the
    settings' rate card) in ``rates.currency`` (default: the reporting currency).

    ``tracked_links`` (default: when a message declares ``links``) gives every recipient their own
    tracked link for each URL of the message, under ``link_base_url`` (default: the settings'
    ``links_base``) with ``utm`` parameters; ``create_campaign`` stores them with the sends.
    """
    now_s = _epoch(now)
    if pace not in PACE_PRESETS:
        raise ValueError(f"pace must be one of {', '.join(PACE_PRESETS)}, not {pace!r}")
    missing = [c for c in ("customer_id", "phone") if c not in audience]
    if missing:
        raise ValueError(f"the audience lacks column(s) {', '.join(missing)}")
    audience = audience.reset_index(drop=True)
    if "bsuid" in audience:
        audience = audience.assign(phone=customer_keys(store, audience["phone"], audience["bsuid"]))
    specs, arm = _arms(audience, message)
    first = next(iter(specs.values()))
    category, kind = first.category, first.kind
    if any(s.category != category or s.kind != kind for s in specs.values()):
        raise ValueError("all A/B arms must share the category and the kind (text or template)")
    message_type = "template" if kind == "template" else "text"

    body, lang, values, truncated = _personalise_arms(audience, specs, arm)
    rules = check_rules(
        audience,
        category=category,
        message_type=message_type,
        now=now_s,
        store=store,
        campaign_id=campaign_id,
        policy=policy,
    )
    code = rules.reason.cat.codes.to_numpy().copy()  # index into REASON_CODES, 0 = no reason
    limit = MAX_BODY if kind == "template" else MAX_TEXT_BODY
    length = body.str.len().fillna(0).to_numpy(dtype=np.int64)
    holdout = REASON_CODES.index("holdout")  # holdout members are excluded for the same reasons as a message
    code[(length > limit) & ((code == 0) | (code == holdout))] = REASON_CODES.index("message_too_long")
    if kind == "template":  # Meta refuses empty parameters
        empty = np.zeros(len(audience), dtype=bool)
        for v in values.values():
            empty |= v.str.len().fillna(0).to_numpy() == 0
        code[empty & ((code == 0) | (code == holdout))] = REASON_CODES.index("missing_parameter")

    zones = recipient_zones(audience)
    planned, quiet = planned_times(
        audience,
        zones,
        now_s,
        mode=schedule,
        start=start,  # type: ignore[arg-type]
        policy=policy,
    )
    outcome = np.where(code == 0, SEND, EXCLUDED).astype(np.int8)
    deferred = quiet & (outcome == SEND)
    code[deferred], outcome[deferred] = REASON_CODES.index("quiet_hours"), LATER
    window_open = rules.window_open.to_numpy(dtype=bool)
    going = outcome != EXCLUDED
    counts_tier = going & ~window_open & (category != "service")
    days = apply_daily_limit(planned, counts_tier, policy.daily_limit, reached_last_24h(store, now_s))
    planned = planned + days * DAY
    pushed = days > 0
    code[pushed], outcome[pushed] = REASON_CODES.index("tier_limit"), LATER
    if needs_service_window(message_type):
        _keep_in_window(
            audience, zones, rules.window_closes_at.to_numpy(dtype=float), planned, code, outcome, now_s, start, policy
        )
    going = outcome != EXCLUDED

    card = card or default_card()
    rates = rates or reporting_rates()
    cost = message_costs(
        pd.DataFrame(
            {
                "phone": audience["phone"],
                "category": category,
                "message_type": message_type,
                "at": planned,
                "delivered": going,
                "window_open": window_open,
            }
        ),
        card,
        rates,
    ).to_numpy()
    plan = pd.DataFrame(
        {
            "customer_id": _as_text(audience["customer_id"]),
            "phone": _as_text(audience["phone"]),
            "name": audience["name"] if "name" in audience else pd.Series(pd.NA, index=audience.index, dtype="str"),
            "outcome": pd.Categorical.from_codes(outcome, categories=list(OUTCOMES)),
            "reason": pd.Categorical.from_codes(code, categories=list(REASON_CODES)),
            "category": category,
            "message_type": message_type,
            "body": body,
            "payload": None,
            "planned_at": pd.DatetimeIndex(np.round(planned * 1e3).astype("int64") * 1_000_000, tz="UTC"),
            "arm": arm,
            "cost": cost,
            "language": lang,
            "timezone": zones,
            "length": length,
            "truncated": truncated.to_numpy(dtype=bool),
            "window_open": window_open,
        }
    )
    if payloads:
        plan["payload"] = build_payloads(plan, specs, values)
        if tracked_links or (tracked_links is None and any(s.links for s in specs.values())):
            add_tracked_links(plan, link_base_url or load_settings().links_base, utm)
    plan.attrs["policy"] = policy  # stored with the campaign: the sender re-checks with the same limits
    rate = PACE_PRESETS[pace]
    funnel = expected_funnel(audience, going, category, _has_media(specs))
    return DryRunReport(
        plan=plan, now=now_s, pace=pace, rate_per_second=rate, card=card, currency=rates.currency, funnel=funnel
    )


WINDOW_MARGIN = 600.0
"""A free-form message is planned at least 10 minutes before the customer's service window closes."""


def _keep_in_window(
    audience: pd.DataFrame,
    zones: pd.Series,
    closes: np.ndarray,
    planned: np.ndarray,
    code: np.ndarray,
    outcome: np.ndarray,
    now: float,
    start: float | None,
    policy: Policy,
) -> None:
    """Free-form messages planned after the window closes (131047 at Meta) go out now instead, else
    (quiet hours until it closes) are excluded as ``outside_service_window``; updates in place."""
    late = np.flatnonzero((outcome != EXCLUDED) & ~(closes > planned + WINDOW_MARGIN))
    if not len(late):
        return
    soon, quiet = planned_times(audience.iloc[late], zones.iloc[late], now, mode="now", start=start, policy=policy)
    fits = closes[late] > soon + WINDOW_MARGIN
    rows, quiet = late[fits], quiet[fits]
    planned[rows] = soon[fits]
    code[rows] = np.where(quiet, REASON_CODES.index("quiet_hours"), 0)
    outcome[rows] = np.where(quiet, LATER, SEND)
    code[late[~fits]], outcome[late[~fits]] = REASON_CODES.index("outside_service_window"), EXCLUDED


def build_payloads(plan: pd.DataFrame, specs: Mapping[str, MessageSpec], values: Mapping[str, pd.Series]) -> pd.Series:
    """The ``/messages`` request body of every recipient who is not excluded (None for the others)."""
    with _no_gc():
        return _build_payloads(plan, specs, values)


@contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: a million small dicts hold no cycles, yet each
    generation-0 sweep would rescan them all (it costs more than building them)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _build_payloads(plan: pd.DataFrame, specs: Mapping[str, MessageSpec], values: Mapping[str, pd.Series]) -> pd.Series:
    out = np.full(len(plan), None, dtype=object)
    rows = np.flatnonzero((plan["outcome"] != "excluded").to_numpy())
    if not len(rows):
        return pd.Series(out, index=plan.index)

    def pick(column: pd.Series) -> np.ndarray:
        return column.iloc[rows].to_numpy(dtype=object)

    phones = pick(plan["phone"])
    first = next(iter(specs.values()))
    if first.kind == "text":
        out[rows] = [text_message(p, b) for p, b in zip(phones, pick(plan["body"]), strict=True)]
        return pd.Series(out, index=plan.index)
    langs, arms = pick(plan["language"]), pick(plan["arm"])
    cols = {k: pick(v.reset_index(drop=True)) for k, v in values.items()}
    for (arm, language), group in pd.Series(np.arange(len(rows))).groupby([arms, langs], sort=False):
        spec = specs[arm]
        template = spec.template[spec.variant_language(language)]  # type: ignore[index]
        g = group.to_numpy()
        out[rows[g]] = _template_payloads(template, spec, phones[g], {k: v[g] for k, v in cols.items()})
    return pd.Series(out, index=plan.index)


def _template_payloads(
    t: Template, spec: MessageSpec, phones: np.ndarray, cols: Mapping[str, np.ndarray]
) -> list[dict]:
    named = t.parameter_format == "NAMED"
    body_names = list(dict.fromkeys(t.body_variables)) if named else sorted(set(t.body_variables), key=int)
    header_names = t.header_variables
    n = len(phones)
    body = _params_per_row([cols[k] for k in body_names], body_names if named else None, n)
    header = _params_per_row([cols[k] for k in header_names], header_names if named else None, n)
    media = (t.header_format.lower(), spec.header_media or t.header or "") if t.has_media else None
    interactive = send_arguments(t, spec)
    return [
        template_message(phone, t.name, t.language, body_params=bp, header_params=hp, header_media=media, **interactive)
        for phone, bp, hp in zip(phones, body, header, strict=True)
    ]


def _params_per_row(columns: list[np.ndarray], names: list[str] | None, n: int) -> list[Any]:
    """One parameter set per row: a dict for named templates, a list for positional, None if none."""
    if not columns:
        return [None] * n
    if names is None:
        return [list(row) for row in zip(*columns, strict=True)]
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def expected_funnel(audience: pd.DataFrame, planned: np.ndarray, category: str, media: bool) -> pd.DataFrame:
    """Messages → delivered → read → replied expected from each customer's history.

    Customers without history count with the rates of the WhatsApp marketing guide, 2024 (read 58 %,
    replies by category).
    """
    n = int(planned.sum())
    delivery = DELIVERY_RATE["media" if media else "text"]
    read = _rate(audience, "read_rate", DEFAULT_READ_RATE)[planned]
    reply = _rate(audience, "reply_rate", DEFAULT_REPLY_RATE.get(category, 0.02))[planned]
    rows = [
        ("messages", float(n)),
        ("delivered", n * delivery),
        ("read", float(read.sum()) * delivery),
        ("replied", float(reply.sum()) * delivery),
    ]
    out = pd.DataFrame(rows, columns=["stage", "expected"])
    out["rate_of_messages"] = out["expected"] / n if n else 0.0
    return out


def _rate(audience: pd.DataFrame, column: str, default: float) -> np.ndarray:
    if column not in audience:
        return np.full(len(audience), default)
    values = pd.to_numeric(audience[column], errors="coerce").to_numpy(dtype=float)
    return np.where(np.isnan(values), default, np.clip(values, 0, 1))


def _arms(
    audience: pd.DataFrame, message: MessageSpec | Mapping[str, MessageSpec]
) -> tuple[dict[str, MessageSpec], pd.Series]:
    if isinstance(message, MessageSpec):
        arm = (
            audience["arm"].astype("str").fillna("")
            if "arm" in audience
            else pd.Series("", index=audience.index, dtype="str")
        )
        used = set(arm.unique()) - {"holdout"}
        return {a: message for a in used | {""}}, arm
    specs = dict(message)
    if not specs:
        raise ValueError("no message given")
    if len(specs) == 1 and "arm" not in audience:
        key = next(iter(specs))
        return specs, pd.Series(key, index=audience.index, dtype="str")
    if "arm" not in audience:
        raise ValueError(
            "several message variants need an 'arm' column in the audience (assign arms with the A/B test tools first)"
        )
    arm = audience["arm"].astype("str").fillna("")
    unknown = sorted(set(arm.unique()) - set(specs) - {"holdout"})
    if unknown:
        raise ValueError(
            f"arm(s) {', '.join(map(repr, unknown))} in the audience have no message variant; "
            f"variants: {', '.join(map(repr, specs))}"
        )
    if "holdout" in set(arm.unique()):
        specs.setdefault("holdout", next(iter(specs.values())))
    return specs, arm


def _personalise_arms(
    audience: pd.DataFrame, specs: Mapping[str, MessageSpec], arm: pd.Series
) -> tuple[pd.Series, pd.Series, dict[str, pd.Series], pd.Series]:
    """Render each arm's variant for its own customers; return aligned Series."""
    if len(set(map(id, specs.values()))) == 1:
        p = personalise(audience, next(iter(specs.values())))
        return p.body, p.language, p.values, p.truncated
    body = pd.Series(pd.NA, index=audience.index, dtype="str")
    lang = pd.Series(pd.NA, index=audience.index, dtype="str")
    truncated = pd.Series(False, index=audience.index)
    values: dict[str, pd.Series] = {}
    for name, spec in specs.items():
        mask = (arm == name).to_numpy()
        if not mask.any():
            continue
        p = personalise(audience[mask], spec)
        body[mask], lang[mask], truncated[mask] = p.body, p.language, p.truncated
        for k, v in p.values.items():
            values.setdefault(k, pd.Series("", index=audience.index, dtype="str"))[mask] = v
    return body, lang, values, truncated


def _has_media(specs: Mapping[str, MessageSpec]) -> bool:
    return any(isinstance(v, Template) and v.has_media for s in specs.values() for v in s.variants.values())


def _as_text(values: pd.Series) -> pd.Series:
    """Strings stay as they are (no copy); anything else becomes text."""
    return values if isinstance(values.dtype, pd.StringDtype) else values.astype("str")


def _epoch(now: float | pd.Timestamp) -> float:
    if isinstance(now, (int, float)):
        return float(now)
    ts = pd.Timestamp(now)
    return (ts.tz_localize("UTC") if ts.tzinfo is None else ts).timestamp()
