"""The calibration history: does the sandbox's customer model reproduce the published figures?

``play_calibration`` plays a scripted history for sample customers through the real pipeline —
dry run → ledger → paced sender → sandbox → signed webhooks → receiver → ledger — on a simulated
clock, in a :class:`~wamkt_nb.facade.Workspace` over the store. ``measure`` then reads the store with the
functions the dashboards call and puts each figure of the WhatsApp marketing guide, 2024 beside
what they show, with PASS/FAIL at ±3 percentage points. docs/figures.md explains each figure and
which one gives way where two cannot both hold.

The history (days after ``START``, sent at 15 h Berlin time unless said otherwise):

* days 0-6, on the fresh list: an image-header template to everyone (media delivery); a copy test
  on frequent buyers (arm A the name late in a long text, arm B 20-30 characters starting with
  the name); a send-time test (everyone in 14 slices, one per local hour 8-21 h); order
  notifications (utility) to active customers;
* from day 8, days 0, 2, 4, 6 of each round (``rounds`` rounds, 8 days apart): the segment comparison — the same
  plain-text newsletter to everyone, to frequent buyers, to high order value (50+), to customers
  active in the last 7 days. Each round lies in one period of the customers' shared draws
  (``BehaviourParams.shared_draws_days``): a customer's read and order luck is the same for the
  baseline and the segment message of that round (common random numbers), and over the rounds it
  is stratified (``shared_draws_strata``), so the uplifts' sampling noise largely cancels while
  every message keeps its own read and order chance.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .. import analytics as A
from ..abtest import assign_arms
from ..analytics.timing import local_time
from ..compliance import Policy
from ..data.features import build_features
from ..data.sample import generate
from ..data.schema import CustomerData
from ..ledger import new_campaign_id
from ..messages import MessageSpec, Param, Template, template_from_text
from ..sandbox import BehaviourParams
from ..sandbox import behaviour as bm
from ..sandbox.templates import default_templates
from ..segments import evaluate, preset
from ..store import Store, open_store
from .playback import finish_history, history_workspace

SOURCE = "WhatsApp marketing guide, 2024"
DAY = 86_400.0
ROUND_DAYS = 8
"""Days from one comparison round to the next, and the period of the customers' shared draws."""
ROUNDS = 8
"""Comparison rounds: enough orders for the uplifts' ±3 points (docs/figures.md, "Sampling error")."""
START = pd.Timestamp("2026-03-24", tz="UTC")
"""The history's first day: ``ROUND_DAYS`` before the start of a block of ``ROUNDS`` shared-draw
periods (1 April 2026, a multiple of 64 days after 1 January 1970), so each comparison round lies
inside one period and the rounds stratify each customer's draws (``BehaviourParams.shared_draws_strata``)."""
HOME_ZONE = "Europe/Berlin"
"""Where most sample customers live: campaigns go out at a Berlin hour."""
SEND_HOUR = 15.0
"""Local send hour of every campaign but the send-time test: not a peak hour, so the segment
comparison and the copy test read at the model's plain rate."""
TEST_HOURS = tuple(range(8, 22))
"""The send-time test's local hours: the whole day outside the default quiet hours (22-8 h)."""
COMPARISON = ("frequent_buyers", "high_order_value", "active_7d")
TOLERANCE = 0.03

NEWSLETTER = template_from_text(
    "neuheiten_fruehling", "de", "MARKETING", "Neu im Shop: die Frühlingskollektion. Schau vorbei auf shop.example.com"
)
"""Plain promotion without a call to action: the comparison's and the copy test's generic text."""
NAME_FIRST = template_from_text(
    "name_zuerst", "de", "MARKETING", "{{first_name}}, dein Code ist da", examples={"first_name": "Anna"}
)
"""20-30 characters with the name at the start (a 2-10 letter first name gives 21-28)."""
NAME_LATE = template_from_text(
    "neuheiten_mit_name",
    "de",
    "MARKETING",
    "Neu im Shop: die Frühlingskollektion, ausgesucht für dich, {{first_name}}. Schau vorbei!",
    examples={"first_name": "Anna"},
)
"""The copy test's control: the same name, but late in a longer text. Both arms fill the same
variable: the dry run checks every arm's parameters on every recipient, so an arm without the
variable would be excluded as ``missing_parameter``."""


@dataclass
class CalibrationRun:
    """What the history left: the customers, and the campaign ids by purpose."""

    data: CustomerData
    start: float
    params: BehaviourParams
    comparison: list[str] = field(default_factory=list)
    media: str = ""
    copy_test: str = ""
    send_time: list[str] = field(default_factory=list)
    utility: str = ""
    counters: dict[str, int] = field(default_factory=dict)

    @property
    def timezones(self) -> pd.Series:
        customers = self.data.customers
        return pd.Series(customers["timezone"].to_numpy(), index=customers["customer_id"].astype(str))


def _library() -> dict[str, Template]:
    library = {(t["name"], t["language"]): t for t in default_templates()}
    return {name: Template.from_api(library[(name, "de")]) for name in ("willkommen", "order_shipped")}


def _spec(template: Template) -> MessageSpec:
    name = Param("first_name", fallback="du")
    if template.name == "order_shipped":
        return MessageSpec(
            category="utility", template={"*": template}, params={"1": name, "2": Param("order_ref", fallback="#10001")}
        )
    if template.name == "willkommen":
        return MessageSpec(template={"*": template}, params={"1": name})
    if template.name in (NAME_FIRST.name, NAME_LATE.name):
        return MessageSpec(template={"*": template}, params={"first_name": Param("first_name", fallback="Hallo")})
    return MessageSpec(template={"*": template})


def _segment(features: pd.DataFrame, key: str) -> pd.DataFrame:
    chosen = preset(key)
    mask = evaluate(chosen.rule, features, now=START, include_inactive=chosen.include_inactive).mask
    return features[mask].reset_index(drop=True)


def at_local(day: float, hour: float = SEND_HOUR) -> float:
    """Epoch seconds of ``hour`` o'clock Berlin time (summer or winter) on ``day`` days after ``START``."""
    date = (START + pd.Timedelta(days=day)).tz_convert(HOME_ZONE).normalize()
    return (date + pd.Timedelta(hours=hour)).timestamp()


def play_calibration(
    store: Store,
    customers: int = 10_000,
    *,
    seed: int = 42,
    rounds: int = ROUNDS,
    pace: float = 2_000.0,
    params: BehaviourParams | None = None,
    log: Callable[[str], None] = print,
) -> CalibrationRun:
    """Play the calibration history for ``customers`` sample customers into ``store``."""
    data = generate(customers, seed=seed, now=START)
    features = build_features(data, now=START)
    features = features.assign(order_ref="#" + features["customer_id"].astype(str).str[-5:])
    library = _library()
    run = CalibrationRun(
        data=data,
        start=START.timestamp(),
        params=params or BehaviourParams(shared_draws_days=ROUND_DAYS, shared_draws_strata=ROUNDS),
    )
    workspace = history_workspace(
        store, data, START.timestamp(), behaviour=run.params, seed=seed, templates=(NEWSLETTER, NAME_FIRST, NAME_LATE)
    )
    with workspace as ws:

        def campaign(
            at: float,
            name: str,
            audience: pd.DataFrame,
            message: MessageSpec | dict[str, MessageSpec],
            segment: str | None = None,
            experiment: str | None = None,
        ) -> str:
            ws.advance_to(at)
            ws.send_due(pace)
            composed = ws.campaign(
                audience, message, name=new_campaign_id(at), title=name, segment_name=segment, experiment_key=experiment
            )
            composed.dry_run(schedule="now", policy=Policy(daily_limit=None))
            ws.send_due(pace)
            log(f"  day {(at - run.start) / DAY:5.2f}: {name} ({len(audience):,} customers) -> {composed.name}")
            return composed.name

        newsletter = _spec(NEWSLETTER)
        run.media = campaign(
            at_local(0), "Bild-Vorlage: alle", features, _spec(library["willkommen"]), segment="media test"
        )
        buyers = _segment(features, "frequent_buyers")
        buyers["arm"] = assign_arms(buyers["customer_id"], "calibration-name-first", ["A", "B"]).to_numpy()
        run.copy_test = campaign(
            at_local(2),
            "Text-Test: Name zuerst",
            buyers,
            {"A": _spec(NAME_LATE), "B": _spec(NAME_FIRST)},
            segment="copy test",
            experiment="calibration-name-first",
        )
        slices = assign_arms(features["customer_id"], "calibration-send-hour", [f"{h:02d}" for h in TEST_HOURS])
        for hour in TEST_HOURS:
            audience = features[slices.to_numpy() == f"{hour:02d}"].reset_index(drop=True)
            run.send_time.append(
                campaign(
                    at_local(4, hour), f"Sendezeit-Test {hour:02d} h", audience, newsletter, segment="send-time test"
                )
            )
        run.utility = campaign(
            at_local(6),
            "Versand-Info",
            _segment(features, "active_7d"),
            _spec(library["order_shipped"]),
            segment="active_7d",
        )
        day = float(ROUND_DAYS)
        for r in range(rounds):
            run.comparison.append(campaign(at_local(day), f"Vergleich {r + 1}: alle", features, newsletter))
            for k, key in enumerate(COMPARISON, start=1):
                run.comparison.append(
                    campaign(
                        at_local(day + 2 * k),
                        f"Vergleich {r + 1}: {key}",
                        _segment(features, key),
                        newsletter,
                        segment=key,
                    )
                )
            day += ROUND_DAYS
        ws.advance_to(at_local(day))
        ws.send_due(pace)  # rows held back by quiet hours, then a day to answer and buy
        run.counters = finish_history(ws, at_local(day + 1), pace)
    return run


@dataclass(frozen=True)
class Check:
    """One published figure against what the dashboards measure, with the measurement's sample
    size ``n`` and binomial standard error ``se`` (delta method for ratios)."""

    figure: str
    low: float
    high: float
    measured: float
    measured_by: str
    n: int
    se: float
    model: float = float("nan")  # what the customer model expects for the same messages
    yields_to: str = ""  # the figure that wins where both cannot hold (docs/figures.md)

    @property
    def published(self) -> str:
        return f"{self.low:.0%}" if self.low == self.high else f"{self.low:.0%}-{self.high:.0%}"

    @property
    def status(self) -> str:
        if math.isnan(self.measured):
            return "FAIL"
        if self.low - TOLERANCE <= self.measured <= self.high + TOLERANCE:
            return "PASS"
        return "YIELDS" if self.yields_to else "FAIL"


def rate_se(p: float, n: float) -> float:
    """Binomial standard error of a rate ``p`` measured on ``n`` trials."""
    return math.sqrt(p * (1 - p) / n) if n > 0 and 0 <= p <= 1 else float("nan")


def ratio_se(p_a: float, n_a: float, p_b: float, n_b: float) -> float:
    """Standard error of ``p_a / p_b`` (two independent binomial rates), by the delta method."""
    if min(n_a, n_b) <= 0 or min(p_a, p_b) <= 0:
        return float("nan")
    return p_a / p_b * math.sqrt((1 - p_a) / (n_a * p_a) + (1 - p_b) / (n_b * p_b))


def model_rates(run: CalibrationRun, sends: pd.DataFrame) -> pd.DataFrame:
    """Per segment of ``sends``: the mean read chance and order chance (read × conversion) the
    customer model gives the delivered messages, each at its customer's local hour — the rates the
    campaign would show without sampling noise."""
    rows = sends.loc[sends["delivered"]]
    features = build_features(run.data, now=START).set_index("customer_id")
    features = features.loc[rows["customer_id"].astype(str)].to_dict("records")
    hours = local_time(rows["delivered_at"].fillna(rows["out_at"]), rows["customer_id"], run.timezones).dt.hour
    read, order = [], []
    for customer, hour in zip(features, hours, strict=True):
        p = bm.read_probability(customer, NEWSLETTER.body, int(hour), run.params)
        read.append(p)
        order.append(p * bm.conversion_probability(customer, "marketing", run.params))
    frame = pd.DataFrame({"segment": rows["segment"].astype(str).to_numpy(), "read": read, "order": order})
    return frame.groupby("segment")[["read", "order"]].mean()


def round_spread(of: Callable[[list[str]], pd.DataFrame], comparison: list[str]) -> pd.DataFrame | None:
    """Standard error of the pooled uplifts and cost reductions from their spread over the rounds:
    the standard deviation of each round's ``segment_comparison`` value / sqrt(rounds). With shared
    draws the baseline and the segment campaigns of a round are correlated (that is their purpose),
    so the binomial delta-method SE, which assumes independent samples, would overstate the error;
    the rounds are independent of each other. None below 3 rounds (too few to estimate a spread)."""
    size = 1 + len(COMPARISON)
    rounds = [comparison[i : i + size] for i in range(0, len(comparison), size)]
    if len(rounds) < 3:
        return None
    values = pd.concat(
        [A.segment_comparison(of(ids)).set_index("segment")[["conversion_uplift", "cost_reduction"]] for ids in rounds]
    )
    return values.groupby(level=0).std(ddof=1) / math.sqrt(len(rounds))


def measure(store: Store, run: CalibrationRun) -> pd.DataFrame:
    """Each published figure beside what the dashboards' functions measure in ``store``."""
    options = A.MetricOptions(timezones=run.timezones)
    data = options.in_report_currency(A.load_ledger(store))
    rows = A.priced_sends(data, options)

    def of(ids: list[str] | str) -> pd.DataFrame:
        return rows[rows["campaign_id"].isin([ids] if isinstance(ids, str) else ids)]

    checks: list[Check] = []

    def add(
        figure: str,
        low: float,
        high: float,
        measured: float,
        how: str,
        n: float,
        se: float,
        yields_to: str = "",
        model: float = float("nan"),
    ) -> None:
        checks.append(Check(figure, low, high, float(measured), how, int(n), float(se), model, yields_to))

    for label, frame, low, high in (
        ("plain text", rows[rows["campaign_id"] != run.media], 0.98, 0.98),
        ("with media", of(run.media), 0.90, 0.95),
    ):
        head = A.headline(frame, A.roi_per_message(frame)).iloc[0]
        add(
            f"delivery, {label}",
            low,
            high,
            head["delivery_rate"],
            f"headline delivery_rate, {'image-header campaign' if label == 'with media' else 'all text campaigns'}",
            head["attempted"],
            rate_se(head["delivery_rate"], head["attempted"]),
        )

    table = A.segment_comparison(of(run.comparison)).set_index("segment")
    published = A.GUIDE_SEGMENTATION.set_index("segmentation")
    names = dict(zip(published.index, [A.UNSEGMENTED, *COMPARISON], strict=True))
    nan = float("nan")

    def cell(segment: str, column: str) -> float:
        return float(table[column].get(segment, nan))

    base = A.UNSEGMENTED
    expected = model_rates(run, of(run.comparison))
    for label, row in published.iterrows():
        seg = names[label]
        add(
            f"read rate, segmented {label}",
            row["read_rate"],
            row["read_rate"],
            cell(seg, "read_rate"),
            f"segment_comparison read_rate [{seg}]",
            cell(seg, "delivered"),
            rate_se(cell(seg, "read_rate"), cell(seg, "delivered")),
            model=expected.loc[seg, "read"],
        )
    model_ratio = expected["order"] / expected.loc[base, "order"]
    spread = round_spread(of, run.comparison)
    for column, figure, yields_to in (
        ("conversion_uplift", "conversion uplift", ""),
        ("cost_reduction", "cost reduction", "conversion uplift"),
    ):
        for label, row in published.iloc[1:].iterrows():
            seg = names[label]
            if spread is not None:
                se = float(spread.loc[seg, column])
            else:
                se = ratio_se(
                    cell(seg, "conversion_rate"),
                    cell(seg, "delivered"),
                    cell(base, "conversion_rate"),
                    cell(base, "delivered"),
                )
                if column == "cost_reduction":  # 1 - cost per conversion ratio = 1 - 1 / conversion ratio
                    se = se / (1 + cell(seg, "conversion_uplift")) ** 2
            model = model_ratio[seg] - 1 if column == "conversion_uplift" else 1 - 1 / model_ratio[seg]
            why = (
                (
                    f"{yields_to} {row['conversion_uplift']:+.0%}, and at one price per delivered message "
                    f"1 - 1/(1 + uplift) = {1 - 1 / (1 + row['conversion_uplift']):.1%}"
                )
                if yields_to
                else ""
            )
            add(
                f"{figure}, {label}",
                row[column],
                row[column],
                cell(seg, column),
                f"segment_comparison {column} [{seg}]",
                cell(seg, "delivered"),
                se,
                why,
                model,
            )

    arms = A.funnel(of(run.copy_test), ("arm",)).set_index("arm")
    for arm, figure, target in (
        ("A", "read rate, name late in long copy (frequent buyers)", 0.58),
        ("B", "read rate, name first, 20-30 characters (frequent buyers)", 0.79),
    ):
        rate, n = float(arms["read_rate"].get(arm, nan)), float(arms["delivered"].get(arm, 0))
        add(figure, target, target, rate, f"funnel read_rate by arm [{arm}], copy test", n, rate_se(rate, n))
    hours = A.read_rate_by_hour(of(run.send_time), run.timezones)
    peak = hours[hours["peak"]]
    p_peak, n_peak = peak["read"].sum() / max(peak["delivered"].sum(), 1), peak["delivered"].sum()
    p_all, n_all = hours["read"].sum() / max(hours["delivered"].sum(), 1), hours["delivered"].sum()
    add(
        "read rate in peak hours vs average",
        0.20,
        0.25,
        A.peak_read_lift(by_hour=hours),
        "peak_read_lift, send-time test",
        n_peak,
        ratio_se(p_peak, n_peak, p_all, n_all),
    )

    decay = A.reply_time_decay(rows).set_index("end_min")
    replies = float(decay["replies"].sum())
    within = float(decay["cumulative_share"].get(3, nan))
    after = 1 - float(decay["cumulative_share"].get(30, nan))
    add(
        "replies within 3 min of reading",
        0.65,
        0.65,
        within,
        "reply_time_decay cumulative_share to 3 min",
        replies,
        rate_se(within, replies),
    )
    add(
        "replies after 30 min of reading",
        0.12,
        0.12,
        after,
        "1 - reply_time_decay cumulative_share to 30 min",
        replies,
        rate_se(after, replies),
    )

    health = A.reply_health(rows, ("campaign_id",)).set_index("campaign_id")
    promo, notice = health.loc[run.comparison[0]], health.loc[run.utility]
    add(
        "reply rate, pure promotion",
        0.01,
        0.03,
        promo["reply_rate"],
        "reply_health reply_rate, newsletter to all",
        promo["delivered"],
        rate_se(promo["reply_rate"], promo["delivered"]),
    )
    add(
        "reply rate, order notification",
        0.15,
        0.20,
        notice["reply_rate"],
        "reply_health reply_rate, utility",
        notice["delivered"],
        rate_se(notice["reply_rate"], notice["delivered"]),
    )
    warns = bool(promo["warning"]) and not bool(notice["warning"])
    add(
        "reply rate under 5 % warns",
        1.0,
        1.0,
        float(warns),
        f"reply_health warning: newsletter {bool(promo['warning'])}, utility {bool(notice['warning'])}",
        2,
        0.0,
    )
    return pd.DataFrame(
        [
            {
                "figure": c.figure,
                "published": c.published,
                "measured": c.measured,
                "model": c.model,
                "n": c.n,
                "se": c.se,
                "status": c.status,
                "low": c.low,
                "high": c.high,
                "measured_by": c.measured_by + (f" (yields to {c.yields_to})" if c.status == "YIELDS" else ""),
            }
            for c in checks
        ]
    )


def format_report(table: pd.DataFrame, customers: int, seed: int) -> str:
    """The report as a Markdown table (pasted into docs/figures.md)."""
    lines = [
        f"Calibration: {customers:,} sample customers (seed {seed}) through the sandbox; "
        f"published figures: {SOURCE}; PASS within ±{TOLERANCE * 100:.0f} percentage points; "
        "n = messages (replies for reply timing), SE = binomial standard error (uplifts and cost "
        "reductions over 3+ rounds: spread of the per-round values / sqrt(rounds)).",
        "",
        "model = what the customer model expects for the same messages (its calibration without sampling "
        "noise; segment comparison only).",
        "",
        "| figure | published | measured | model | n | SE | status | measured by |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in table.itertuples(index=False):
        flag = row.figure.endswith("warns")
        published = "warns / silent" if flag else row.published
        measured = ("warns / silent" if row.measured == 1 else "wrong") if flag else f"{row.measured:.1%}"
        se = "" if flag or math.isnan(row.se) else f"{row.se:.1%}"
        model = "" if math.isnan(row.model) else f"{row.model:.1%}"
        lines.append(
            f"| {row.figure} | {published} | {measured} | {model} | {row.n:,} | {se} | {row.status} "
            f"| {row.measured_by} |"
        )
    return "\n".join(lines)


def calibration_report(
    customers: int = 10_000,
    *,
    seed: int = 42,
    rounds: int = ROUNDS,
    db: Path | None = None,
    log: Callable[[str], None] = print,
) -> tuple[pd.DataFrame, str]:
    """Play the history into ``db`` (default: a temporary database, removed afterwards) and
    return the checks and the Markdown report."""
    with tempfile.TemporaryDirectory(prefix="wamkt-calibrate-") as scratch:
        store = open_store(db or Path(scratch) / "calibration.db")
        try:
            run = play_calibration(store, customers, seed=seed, rounds=rounds, log=log)
            table = measure(store, run)
        finally:
            store.close()
    return table, format_report(table, customers, seed)
