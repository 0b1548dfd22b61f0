"""The demo's history: several campaigns played through the embedded sandbox on simulated time.

One sandbox (simulated customers built from the sample data) and one webhook receiver with
keyword auto-replies run for the whole history. Each campaign goes the real way: features at
that day from the store (the import plus every read, reply and order recorded so far) -> segment
preset -> dry-run -> ledger -> paced sender -> sandbox -> signed webhooks -> receiver -> ledger;
between campaigns the sandbox's clock moves on, so customers read, reply ("JA", "Rabatt",
questions) and buy, and the auto-replier answers. The history also plays a retargeting campaign and
an abandoned-cart journey whose steps go out as they come due. Nothing here computes a metric:
the dashboards read what this leaves in the store.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..abtest import arm_counts, experiment_spec
from ..abtest.evaluation import underpowered
from ..autoreply import Rule
from ..autoreply.repository import save_rule
from ..campaigns.journeys import next_step_due
from ..compliance import Policy
from ..data.schema import CustomerData
from ..data.stored import write_customer_data
from ..facade import Workspace
from ..facade.campaign import Campaign
from ..inbox.answer import answer
from ..inbox.queries import open_conversations
from ..ledger import new_campaign_id
from ..ledger.journeys import step_campaigns
from ..messages import MessageSpec, Param, Template, template_from_text
from ..sandbox import BehaviourParams
from ..sandbox.templates import default_templates
from ..store import Store
from .playback import finish_history, history_workspace

DAY = 86_400.0
AB_EXPERIMENT = "demo-rabatt-wording"
AB_TRUE_READ_UPLIFT = 0.25
"""The effect planted on arm B: its customers read 25 % more often (relative) than they would arm A."""
AB_METRIC = "read"
"""What the demo's A/B test measures. The planted effect is on reads; replies (a few % of messages)
and orders (about 5 %) are too rare: a +25 % change in either needs thousands of customers per arm,
more than the demo's 2,000 customers in all. The read rate is away from its ceiling when the test
goes to everyone (inactive customers read far less than active ones), not to an engaged segment."""
AB_PLANNED_MDE = 0.15
"""The smallest relative change in the read rate the demo's test is planned to detect (80 % power):
below the planted +25 %, because customers whose read chance is near its 97 % cap cannot read 25 %
more: at 15 h Berlin time the planted effect lifts the expected read rate by about +18 %."""
AB_GUARDRAIL_MARGIN = 0.005
"""How much B's opt-out or block rate may exceed A's (absolute, 0.5 percentage points) before the
demo's test calls it harm and names no winner: a practical non-inferiority margin, as product
experimentation tools set for guardrails. With margin 0 each guardrail raises a false alarm in about
α = 5 % of tests where B harms nothing (the sandbox plants no effect on opt-outs or blocks); at
about 500 customers per arm and rates near 1 %, 0.5 pp keeps that below 1 % while a doubling of
either rate still counts as harm once it is significant beyond the margin."""
RULES = (
    Rule(
        rule_id="demo-rabatt",
        name="Rabatt-Code",
        pattern="rabatt, ja, yes",
        priority=10,
        reply_text="Dein Code: WA10. 10 % auf deinen nächsten Einkauf, gültig 7 Tage.",
    ),
    Rule(
        rule_id="demo-stop",
        name="Abmelden",
        pattern="stop, stopp, abmelden, unsubscribe",
        action="opt_out",
        priority=1,
        reply_text="Du bekommst keine Angebote mehr. Schreib START, um sie wieder zu erhalten.",
    ),
    Rule(
        rule_id="demo-hours",
        name="Öffnungszeiten",
        pattern="öffnungszeiten, geöffnet",
        action="faq",
        priority=20,
        reply_text="Unser Kundenservice ist Mo-Fr 9-18 Uhr für dich da.",
    ),
    Rule(
        rule_id="demo-info",
        name="Info",
        pattern="info",
        action="faq",
        priority=30,
        reply_text="Alle Infos zu Versand und Rückgabe: shop.example.com/hilfe",
    ),
    Rule(rule_id="demo-danke", name="Danke", pattern="danke", priority=40, reply_text="Gern geschehen!"),
)
"""The demo's auto-replies: a discount code for "Rabatt"/"JA", opt-out, FAQ answers, thanks.
Questions about an order have no rule: the team answers them (see ``_team_round``)."""

INBOUND_TEXTS = (
    "Rabatt",
    "Gibt es Rabatt?",
    "Öffnungszeiten?",
    "Wo ist meine Bestellung?",
    "Kann ich umtauschen?",
    "Ist das auch in Blau da?",
)
"""What customers write on their own between campaigns; the last three have no rule (inbox work)."""
AGENT_ANSWER = "Danke für deine Nachricht! Wir kümmern uns sofort darum."
LEFT_OPEN_HOURS = (6.0, 4.0, 1.5, 0.5)
"""Questions in the last hours of the history that nobody answered yet: the inbox's open (red) rows."""


@dataclass(frozen=True)
class DemoCampaign:
    """One campaign of the history: when (days after the start, fractional = time of day UTC)."""

    day: float
    name: str
    segment: str | None  # a segment preset key; None = everyone (unsegmented)
    template: str = "rabatt_aktion"
    discount: str = "10 %"
    ab_test: bool = False
    retarget: tuple[str, str] | None = None
    """``(name of an earlier campaign of the history, engagement state)``: a retargeting campaign to
    that campaign's recipients in that state within the last :data:`RETARGET_DAYS` days."""
    cart_journey: bool = False
    """An abandoned-cart journey (see :func:`play_cart_journey`) instead of a one-off campaign."""


DEFAULT_CAMPAIGNS = (
    DemoCampaign(0.58, "Newsletter März: Neuheiten", None),
    DemoCampaign(3.58, "Stammkunden-Rabatt", "frequent_buyers", discount="15 %"),
    DemoCampaign(6.58, "Premium-Angebot", "high_order_value", discount="20 %"),
    DemoCampaign(9.58, "Diese Woche aktiv", "active_7d"),
    DemoCampaign(12.58, "A/B: Rabatt-Wording", None, ab_test=True),
    DemoCampaign(15.6, "Versand-Info", "active_7d", template="order_shipped"),
    DemoCampaign(16.6, "Warenkorb-Erinnerung", None, cart_journey=True),
    DemoCampaign(18.58, "Newsletter: Sale", None, discount="15 %"),
    DemoCampaign(
        19.62, "Sale: nicht gelesen", None, discount="20 %", retarget=("Newsletter: Sale", "delivered_not_read")
    ),
)
"""The segment comparison's campaigns and the A/B test go out at 14 h UTC (15-16 h in Berlin),
outside the 10-12 h and 20-22 h peaks: their read rates are comparable with the published ones
(docs/figures.md), and few customers sit at the read chance's cap, where arm B's planted uplift
could not show (in a peak hour about 29 % of the demo's customers would). The retargeting campaign
goes a day after the sale newsletter (the 24 h marketing cap has passed) to whoever got it and did not
read it."""
RETARGET_DAYS = 3.0
CART_SHOPPERS = 60
"""How many customers leave a cart in the demo's abandoned-cart journey (at most a fifth of them all)."""
CART_QUESTIONS = ("Ist das auch in Blau da?", "Gibt es die Jacke in M?", "Wie lange dauert der Versand?")
"""What the cart's shoppers ask the shop before leaving (no keyword: the team answers them)."""
CART_TEXTS = (
    "Hallo {{first_name}}, dein Warenkorb wartet noch auf dich. Fragen? Schreib uns einfach hier.",
    "{{first_name}}, deine Artikel sind noch reserviert: bestell jetzt, solange alles da ist.",
    "Noch unentschlossen, {{first_name}}? Wir halten deinen Warenkorb heute noch für dich bereit.",
)
"""The cart message and its reminders at +15 min and +1 h: session texts in the shopper's service
window (they wrote to the shop minutes before); the reminder after 24 h, when that window has closed,
is the offer template."""


@dataclass
class DemoResult:
    """What the history left in the store, and what it could not play (with the reason)."""

    campaign_ids: list[str] = field(default_factory=list)
    played: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    injected: int = 0
    counters: dict[str, int] = field(default_factory=dict)
    journey_steps: list[str] = field(default_factory=list)
    """The campaigns the journeys' steps became (the ledger and the dashboards count them as campaigns)."""


def _templates() -> dict[str, Template]:
    library = {t["name"]: t for t in default_templates() if t["language"] == "de"}
    found = {name: Template.from_api(library[name]) for name in ("rabatt_aktion", "order_shipped")}
    found["rabatt_aktion_b"] = template_from_text(
        "rabatt_aktion_b",
        "de",
        "MARKETING",
        "Hallo {{first_name}}, {{discount}} Rabatt nur für dich! Antworte JA für deinen Code.",
        examples={"first_name": "Anna", "discount": "10 %"},
    )
    return found


def _spec(template: Template) -> MessageSpec:
    if template.name == "order_shipped":
        return MessageSpec(
            category="utility",
            template={"*": template},
            params={"1": Param("first_name"), "2": Param("order_ref", fallback="#10001")},
        )
    return MessageSpec(
        template={"*": template},
        params={"first_name": Param("first_name"), "discount": Param("discount", fallback="10 %")},
    )


def play_campaign(
    ws: Workspace,
    campaign: DemoCampaign,
    templates: dict[str, Template],
    pace: float,
    earlier: dict[str, str] | None = None,
) -> str:
    """Compose, dry-run and send one campaign at the workspace's current simulated time, for the
    customers as the store knows them now: the import plus every read, reply and order recorded so far.
    ``earlier`` maps the names of the history's campaigns so far to their ids (for retargeting)."""
    if campaign.retarget is not None:
        name, state = campaign.retarget
        if name not in (earlier or {}):
            raise ValueError(f"retargets {name!r}, which the history has not played")
        chosen = Campaign.saved(ws, (earlier or {})[name]).retarget(state, RETARGET_DAYS)
        chosen.name = f"retarget_{state}"  # the segment the dashboards show
    elif campaign.segment:
        chosen = ws.segment(campaign.segment)
    else:
        chosen = ws.segment(None).customers
    if len(chosen) == 0:
        raise ValueError("the segment is empty at that time")
    message: MessageSpec | dict[str, MessageSpec] = _spec(templates[campaign.template])
    if campaign.ab_test:
        message = {"A": _spec(templates["rabatt_aktion"]), "B": _spec(templates["rabatt_aktion_b"])}
    composed = ws.campaign(
        chosen,
        message,
        name=new_campaign_id(ws.clock.now()),
        title=campaign.name,
        params={
            "discount": campaign.discount,
            "order_ref": lambda rows: "#" + rows["customer_id"].astype(str).str[-5:],
        },
        experiment_key=AB_EXPERIMENT if campaign.ab_test else None,
        design={"guardrail_margin": AB_GUARDRAIL_MARGIN} if campaign.ab_test else None,
    )
    if campaign.ab_test:  # planned from these customers' read rate on the earlier campaigns
        composed.plan_test(AB_PLANNED_MDE, metric=AB_METRIC, power=0.8)
    composed.dry_run(schedule="now", policy=Policy(daily_limit=None))
    ws.send_due(pace)
    return composed.name


def play_cart_journey(
    ws: Workspace, campaign: DemoCampaign, templates: dict[str, Template], pace: float, rng: random.Random
) -> str:
    """The abandoned-cart journey: :data:`CART_SHOPPERS` customers ask about a product and leave their
    cart; minutes later they get the cart message in their service window, reminders follow at
    +15 min and +1 h (session texts, the window is open) and after 24 h the offer template; a reply,
    an order or an opt-out ends a shopper's journey. Every message passes the compliance rules."""
    ids = ws.customers.customers["customer_id"].astype(str).tolist()
    shoppers = rng.sample(ids, min(CART_SHOPPERS, len(ids) // 5))
    for who in shoppers:
        ws.sandbox.inject_inbound(who, rng.choice(CART_QUESTIONS))
    ws.settle()
    ws.advance_to(ws.clock.now() + 10 * 60.0)
    texts = [
        MessageSpec(category="service", text={"*": text}, params={"first_name": Param("first_name")})
        for text in CART_TEXTS
    ]
    features = ws.features
    cart = ws.campaign(
        features[features["customer_id"].astype(str).isin(shoppers)],
        texts[0],
        name=new_campaign_id(ws.clock.now()),
        title=campaign.name,
        segment_name="cart_abandoners",
    )
    cart.dry_run(schedule="now", policy=Policy(daily_limit=None))
    cart.cart_reminders([*texts[1:], _spec(templates[campaign.template])], params={"discount": campaign.discount})
    ws.send_due(pace)
    return cart.name


def ab_plan_summary(store: Store, campaign_id: str) -> str:
    """The stored plan of an A/B campaign beside the users it reached, in one line."""
    spec = experiment_spec(store, campaign_id)
    counts = arm_counts(store, campaign_id, spec["metric"])
    arms = dict(zip(counts["arm"], counts["users"], strict=True))
    planned = spec["planned_per_arm"]
    smallest = min(arms.values(), default=0)
    return (
        f"A/B plan ({spec['metric']} rate): baseline {spec['baseline']:.1%}, detect "
        f"{spec['mde'] / spec['baseline']:+.0%} relative with {spec['power']:.0%} power at "
        f"alpha {spec['alpha']:g}: {planned:,} per arm; audience "
        + ", ".join(f"{a} {n:,}" for a, n in sorted(arms.items()))
        + ("" if smallest >= planned else f" ({underpowered(planned, smallest)})")
    )


def _customer_key(store: Store, wamid: str) -> str:
    """Who wrote inbound message ``wamid``, as the store knows them: their phone, or their BSUID when
    a username user wrote before any message of ours linked the BSUID to a phone. The answer goes
    to this key (a BSUID is addressed with Meta's ``recipient`` field)."""
    return str(store.query("SELECT phone FROM inbound_messages WHERE wamid = ?", (wamid,))[0][0])


def _answer(ws: Workspace, phone: str, delay: float) -> None:
    """A person in the team answers after ``delay`` simulated seconds."""
    ws.advance_to(ws.clock.now() + delay)
    ws.settle()  # the inbound webhook is recorded: the service window is open
    _team_answer(ws, phone)


def _team_answer(ws: Workspace, phone: str) -> str:
    outcome = answer(
        ws.store,
        ws.client,
        phone,
        text=AGENT_ANSWER,
        agent="demo-team",
        phone_number_id=ws.sandbox.phone_number_id,
        clock=ws.clock,
    )
    return outcome.state


class _Team:
    """The team: at each event it answers each open conversation (window still open) with probability
    ``share``. A round is skipped when no message came in since a round that left nothing it could answer:
    the inbox can only have shrunk since, so the round would answer nothing and draw no random number."""

    def __init__(self, ws: Workspace, rng: random.Random, share: float) -> None:
        self.ws, self.rng, self.share = ws, rng, share
        self._quiet_at: int | None = None  # inbound messages when a round left nothing answerable

    def round(self) -> None:
        store = self.ws.store
        inbound = store.query("SELECT COUNT(*) FROM inbound_messages")[0][0]
        if inbound == self._quiet_at:
            return
        answerable = 0  # open windows this round leaves unanswered
        waiting = open_conversations(store, self.ws.clock.now())
        for phone, window_open in zip(waiting["phone"], waiting["window_open"], strict=True):
            if not window_open:
                continue
            answerable += 1
            if self.rng.random() < self.share:
                answerable -= _team_answer(self.ws, phone) == "accepted"
        self._quiet_at = inbound if answerable == 0 else None


def play_history(
    store: Store,
    data: CustomerData,
    *,
    start: float,
    days: float = 21.0,
    campaigns: Sequence[DemoCampaign] = DEFAULT_CAMPAIGNS,
    inbound_per_day: int = 6,
    agent_share: float = 0.8,
    pace: float = 1000.0,
    seed: int = 42,
    log: Callable[[str], None] = print,
) -> DemoResult:
    """Play ``campaigns`` from ``start`` (epoch s) over ``days`` simulated days into ``store``.

    Besides the campaigns, ``inbound_per_day`` customers write on their own (daytime); keyword
    messages get auto-replies; ``agent_share`` of their other questions a person's answer within
    minutes, and at every later event the team answers that share of what is still open.
    """
    rng = random.Random(seed)
    result = DemoResult()
    templates = _templates()
    for rule in RULES:
        save_rule(store, rule)
    write_customer_data(store, data)
    events: list[tuple[float, DemoCampaign | None]] = [(start + c.day * DAY, c) for c in campaigns if c.day < days]
    for day in range(int(np.ceil(days))):
        events += [(start + day * DAY + rng.uniform(8, 21) * 3600, None) for _ in range(inbound_per_day)]
    events.sort(key=lambda e: e[0])
    ids = data.customers["customer_id"].astype(str).to_numpy()
    behaviour = BehaviourParams(variant_read_uplift={"rabatt_aktion_b": AB_TRUE_READ_UPLIFT})
    with history_workspace(store, data, start, behaviour=behaviour, templates=[templates["rabatt_aktion_b"]]) as ws:
        team = _Team(ws, rng, agent_share)
        played: dict[str, str] = {}
        for at, campaign in events:
            _move_to(ws, at, pace)
            team.round()
            if campaign is None:  # a customer writes on their own
                who, text = rng.randrange(len(ids)), rng.choice(INBOUND_TEXTS)
                wamid = ws.sandbox.inject_inbound(ids[who], text)
                ws.settle()  # a keyword is auto-replied at the moment it came in
                result.injected += 1
                if text in INBOUND_TEXTS[3:] and rng.random() < agent_share:
                    _answer(ws, _customer_key(store, wamid), rng.expovariate(1 / 600.0))
                continue
            ws.send_due(pace)
            ws.sandbox.save_conversions(store)  # the shop's orders so far reach the store
            try:
                if campaign.cart_journey:
                    campaign_id = play_cart_journey(ws, campaign, templates, pace, rng)
                else:
                    campaign_id = play_campaign(ws, campaign, templates, pace, played)
            except Exception as exc:  # play what can be played; say what was left out
                result.skipped.append(f"{campaign.name}: {exc}")
                log(f"  skipped {campaign.name}: {exc}")
                continue
            result.campaign_ids.append(campaign_id)
            result.played.append(campaign.name)
            played[campaign.name] = campaign_id
            log(f"  day {campaign.day:4.1f}: {campaign.name} ({campaign.segment or 'unsegmented'}) -> {campaign_id}")
            if campaign.ab_test:
                log(f"    {ab_plan_summary(store, campaign_id)}")
        for hours_left in LEFT_OPEN_HOURS:
            _move_to(ws, max(ws.clock.now(), start + days * DAY - hours_left * 3600), pace)
            ws.sandbox.inject_inbound(ids[rng.randrange(len(ids))], rng.choice(INBOUND_TEXTS[3:]))
            ws.settle()
            result.injected += 1
        _move_to(ws, start + days * DAY, pace)
        result.counters = finish_history(ws, start + days * DAY, pace)
    result.journey_steps = [c for j, _, c, _, _ in step_campaigns(store) if j in result.campaign_ids]
    return result


def _move_to(ws: Workspace, at: float, pace: float) -> None:
    """Let simulated time run to ``at``, sending the journey steps that come due on the way."""
    due = next_step_due(ws.store)
    if due is not None and due <= at:
        ws.play_journeys(at, pace)
    else:
        ws.advance_to(at)
