"""One campaign of a :class:`~wamkt_nb.facade.workspace.Workspace`: compose, preview, dry-run, send, read back.

The dry run writes the plan into the ledger under the campaign's name (its id), so a later notebook,
``wamkt send NAME`` or a worker picks up exactly the campaign that was checked, by name. A dry run
repeated before sending replaces that plan; once sending started the campaign is only resumed.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pandas as pd

from .. import ledger
from ..abtest import assign_arms, evaluate_campaign, plan_test
from ..abtest.planning import TestPlan
from ..abtest.simulation import outcome_probabilities
from ..aio import run_sync
from ..analytics import compute_metrics, load_journey_steps, load_ledger, priced_sends, step_funnel
from ..analytics.metrics import MetricOptions
from ..campaigns.dryrun import DryRunReport, dry_run
from ..campaigns.journeys import JOURNEY_PRESETS, Step, add_steps, journey_table
from ..campaigns.sender import CampaignRunner, Progress, SendOptions
from ..campaigns.watch import SubmittedRun
from ..campaigns.worker import submitted_options
from ..compliance import Policy
from ..ledger.journeys import STOP_REASONS, clear_unstarted_steps
from ..messages import MessageSpec, Template, personalise
from ..segments import engagement_condition

if TYPE_CHECKING:  # the workspace imports this module; only its type is needed here
    from .workspace import Segment, Workspace

SEND_DISPLAYS: dict[str, Callable[[CampaignRunner | SubmittedRun, Any], Any]] = {}
"""Views that show a running send, by name (``Campaign.send(display=...)``): given the runner (or the
watch of a submitted campaign) and its client (to close when the run ends; None for a watch), start
the run on the current event loop and return the view.
The widgets layer adds ``"widget"`` (:mod:`wamkt_nb.widgets.send`), so this layer needs no ipywidgets;
without a registered view the run blocks with a one-line progress display."""

Message = MessageSpec | Template | Mapping[str, MessageSpec | Template]
"""One message for everyone, or ``{arm: message}`` for an A/B test (arms assigned by the campaign's name)."""


def _seconds(after: float | str | timedelta) -> float:
    """A delay given as seconds, a timedelta or text pandas reads (``"15min"``, ``"1h"``, ``"24h"``)."""
    if isinstance(after, (int, float)) and not isinstance(after, bool):
        return float(after)
    try:
        return float(pd.Timedelta(after).total_seconds())
    except ValueError as exc:
        raise ValueError(f"follow-up delay {after!r}: give seconds or a duration such as '15min' or '24h'") from exc


def _spec(message: MessageSpec | Template) -> MessageSpec:
    return (
        message
        if isinstance(message, MessageSpec)
        else MessageSpec(category=message.category.lower(), template={"*": message})
    )


class Campaign:
    """A campaign composed for a segment (``audience``), or one saved by an earlier dry run."""

    def __init__(
        self,
        workspace: Workspace,
        name: str,
        segment_name: str | None,
        audience: pd.DataFrame | None,
        message: Message | None,
        *,
        title: str | None = None,
        experiment_key: str | None = None,
        design: Mapping[str, Any] | None = None,
    ) -> None:
        if ":" in name or not name.strip():
            raise ValueError(f"campaign name {name!r} must be non-empty and contain no ':'")
        self.workspace, self.name, self.segment_name = workspace, name, segment_name
        self.title = title or name
        self.experiment_key = experiment_key or name
        self.design = dict(design) if design is not None else None
        self.message = message
        self.audience = audience
        self.report: DryRunReport | None = None
        self.test_plan: TestPlan | None = None
        self.metric = "read"
        if isinstance(message, Mapping) and audience is not None and "arm" not in audience:
            arms = assign_arms(audience["customer_id"], self.experiment_key, list(message)).to_numpy()
            self.audience = audience.assign(arm=arms)

    @classmethod
    def saved(cls, workspace: Workspace, name: str) -> Campaign:
        """The campaign the ledger holds under ``name`` (its id)."""
        info = ledger.campaign_info(workspace.store, name)
        return cls(workspace, info["campaign_id"], info["segment_name"], None, None)

    def __repr__(self) -> str:
        return f"Campaign({self.name!r}, {self.status})"

    def retarget(
        self,
        state: str,
        within_days: float | None = None,
        *,
        save_as: str | None = None,
        include_inactive: bool = False,
    ) -> Segment:
        """The recipients of this campaign in ``state`` (e.g. ``"read_no_reply"``; the states are
        :data:`wamkt_nb.segments.engagement.STATES`) whose message went out within the last
        ``within_days`` (None: ever), as a segment for :meth:`Workspace.campaign`; ``save_as`` also
        keeps its rule as a saved segment."""
        rule = engagement_condition(self.name, state, within_days)
        if save_as:
            self.workspace.save_segment(save_as, rule, include_inactive)
        segment = self.workspace.segment(rule, include_inactive=include_inactive)
        segment.name = save_as or f"{self.name}-{state}"
        return segment

    # -- journeys -------------------------------------------------------------------------------
    def follow_up(
        self,
        after: float | str | timedelta,
        message: MessageSpec | Template,
        *,
        when: str = "any",
        stop_on: Sequence[str] = STOP_REASONS,
        params: Mapping[str, str] | None = None,
        pace: str | float | None = None,
    ) -> pd.DataFrame:
        """Add a journey step: ``after`` the stage before it (this campaign, or the previous step)
        went out, send ``message`` to this campaign's recipients whose latest journey message meets
        ``when`` (:data:`wamkt_nb.campaigns.journeys.CONDITIONS`, e.g. ``"not_read"``) and who did not
        reply, order or opt out since (``stop_on``). The step is planned and sent when it comes due
        (``Workspace.send_due`` or the worker), under every compliance rule. ``params`` are fixed
        values of the message's variables (e.g. ``{"discount": "10 %"}``); the others come from the
        customers' features when the step starts. The step goes at ``pace`` (None: the pace this
        campaign was last sent or submitted with). Returns the journey."""
        ws = self.workspace
        step = Step(_seconds(after), when, _spec(message), dict(params or {}), pace)
        self._check_steps([step])
        add_steps(ws.store, self.name, [step], tuple(stop_on), ws.clock.now())
        return self.journey()

    def define_journey(
        self,
        steps: Sequence[
            tuple[float | str | timedelta, MessageSpec | Template, str]
            | tuple[float | str | timedelta, MessageSpec | Template, str, str | float | None]
        ],
        *,
        stop_on: Sequence[str] = STOP_REASONS,
        params: Mapping[str, str] | None = None,
    ) -> pd.DataFrame:
        """Replace the journey's steps not started yet by ``steps``, each ``(after, message, when)``
        or ``(after, message, when, pace)`` as for :meth:`follow_up`; returns the journey."""
        chosen = [
            Step(_seconds(s[0]), s[2], _spec(s[1]), dict(params or {}), s[3] if len(s) > 3 else None) for s in steps
        ]
        self._check_steps(chosen)
        ws = self.workspace
        clear_unstarted_steps(ws.store, self.name)
        add_steps(ws.store, self.name, chosen, tuple(stop_on), ws.clock.now())
        return self.journey()

    def _check_steps(self, steps: Sequence[Step]) -> None:
        """Personalise each step's message for a few customers now, so a variable with no value is
        refused here, not when the step comes due in a worker."""
        sample = self.workspace.features.head(3)
        for number, step in enumerate(steps, 1):
            try:
                personalise(sample.assign(**step.values), step.message)
            except KeyError as exc:
                raise ValueError(f"step {number}: {exc.args[0]}; give it in params") from exc

    def cart_reminders(
        self,
        messages: Sequence[MessageSpec | Template] | MessageSpec | Template,
        *,
        stop_on: Sequence[str] = STOP_REASONS,
        params: Mapping[str, str] | None = None,
    ) -> pd.DataFrame:
        """The abandoned-cart journey: reminders 15 min, 1 h and 24 h after this campaign (one message
        for all three, or three), stopping on a reply, an order or an opt-out; replaces the steps not
        started yet. ``params`` as for :meth:`follow_up`."""
        timings = JOURNEY_PRESETS["abandoned_cart"]
        chosen = list(messages) if isinstance(messages, Sequence) else [messages] * len(timings)
        if len(chosen) != len(timings):
            raise ValueError(f"cart reminders take one message or {len(timings)}, not {len(chosen)}")
        steps = [(delay, m, when) for (delay, when), m in zip(timings, chosen, strict=True)]
        return self.define_journey(steps, stop_on=stop_on, params=params)

    def journey(self) -> pd.DataFrame:
        """This campaign's follow-up steps (delay, condition, message; once started its campaign,
        start time and recipients)."""
        return journey_table(self.workspace.store, self.name)

    def step_results(self) -> pd.DataFrame:
        """The journey's funnel per step (step 0: this campaign): sent, delivered, read, clicked,
        replied, converted, as the campaign overview counts them."""
        ws = self.workspace
        steps = load_journey_steps(ws.store)
        steps = steps[steps["journey_id"] == self.name]
        data = load_ledger(ws.store)
        data.sends = data.sends[data.sends["campaign_id"].isin(steps["campaign_id"])]
        return step_funnel(priced_sends(data, MetricOptions()), steps).reset_index(drop=True)

    @property
    def is_experiment(self) -> bool:
        return isinstance(self.message, Mapping)

    @property
    def status(self) -> str:
        info = ledger.find_campaign(self.workspace.store, self.name)
        return info["status"] if info else "composed"

    def _composed(self) -> tuple[pd.DataFrame, MessageSpec | dict[str, MessageSpec]]:
        """The audience and the message spec(s); a campaign opened from the ledger has neither."""
        if self.message is None or self.audience is None:
            raise ValueError(f"campaign {self.name!r} was loaded from the ledger: it can be sent, not re-planned")
        if isinstance(self.message, Mapping):
            return self.audience, {arm: _spec(m) for arm, m in self.message.items()}
        return self.audience, _spec(self.message)

    # -- before sending ------------------------------------------------------------------------
    def preview(self, n: int = 5) -> pd.DataFrame:
        """What the first ``n`` customers would get (body per customer, or why they would not)."""
        sample = self._plan(n, schedule="now")
        columns = [c for c in ("customer_id", "arm", "outcome", "reason", "body") if c in sample.plan.columns]
        return sample.plan[columns]

    def _plan(self, first: int | None, **options: Any) -> DryRunReport:
        """The dry run of the whole audience, or of its ``first`` customers."""
        audience, messages = self._composed()
        ws = self.workspace
        return dry_run(
            audience if first is None else audience.head(first),
            messages,
            now=ws.clock.now(),
            store=ws.store,
            campaign_id=self.name,
            **options,
        )

    def dry_run(
        self,
        *,
        schedule: str = "best_hour",
        pace: str = "safe",
        policy: Policy | None = None,
        retry_held: bool = False,
        **options: Any,
    ) -> DryRunReport:
        """Plan every recipient (who is excluded and why, when each gets it, the cost) and save the plan
        in the ledger under the campaign's name; nothing is sent. ``retry_held``: a message Meta holds
        back (131049) is sent once more no sooner than 24 h later, through the 24 h marketing cap."""
        report = self._plan(None, schedule=schedule, pace=pace, policy=policy or Policy(), **options)
        store, now = self.workspace.store, self.workspace.clock.now()
        if self.status != "composed":
            ledger.discard_unsent(store, self.name)
        design = (
            (self.design or {}) | self.test_plan.sample.spec() | {"metric": self.metric}
            if self.test_plan
            else self.design
        )
        ledger.create_campaign(
            store,
            report.plan,
            name=self.title,
            now=now,
            campaign_id=self.name,
            segment_name=self.segment_name,
            experiment_key=self.experiment_key if self.is_experiment else None,
            spec=None if design is None else {"experiment": design},
        )
        if retry_held:
            ledger.set_held_retry(store, self.name)
        self.report = report
        return report

    def plan_test(self, mde: float, *, metric: str = "read", baseline: float | None = None, **design: Any) -> TestPlan:
        """Size an A/B test of the campaign's arms to detect ``mde`` (relative) on ``metric``.

        Without ``baseline``: the read rate of these customers on earlier marketing messages (the
        ledger); with no such history in sandbox mode, what the simulated customers' model expects
        for the first arm's text (the sandbox's customers are that model)."""
        if not self.is_experiment or self.audience is None:
            raise ValueError("plan_test needs a composed campaign with {arm: message}")
        if baseline is None:
            baseline = self._baseline(metric)
        self.metric = metric
        self.test_plan = plan_test(baseline, mde, len(self.audience), metric=metric, **{"relative": True} | design)
        return self.test_plan

    def _baseline(self, metric: str) -> float:
        audience, specs = self._composed()
        messages, reads = ledger.marketing_read_history(self.workspace.store, list(audience["customer_id"].astype(str)))
        if messages and metric == "read":
            return reads / messages
        if self.workspace.mode != "sandbox":
            raise ValueError(f"no earlier {metric} rate of these customers in the ledger: give baseline=")
        first = next(iter(specs.values())) if isinstance(specs, dict) else specs
        texts = [t.body for t in first.template.values()] if first.template else list((first.text or {}).values())
        text = texts[0] if texts else ""
        hour = int(self.workspace.now().hour)
        return float(
            outcome_probabilities(audience, metric, text=text, local_hour=hour, params=self.workspace.behaviour).mean()
        )

    # -- sending --------------------------------------------------------------------------------
    def _options(self, pace: str | float, **options: Any) -> SendOptions:
        return self.workspace.send_options(pace, **options)

    def send(
        self, pace: str | float = "safe", *, display: str | None = None, submit: bool | None = None, **options: Any
    ) -> Any:
        """Send (or resume) the saved plan. With a worker (``submit=True``, or the ``worker`` setting)
        this is :meth:`submit`. Otherwise it runs in this process: in Jupyter it shows the send widget
        and returns it (its ``task`` runs on the kernel's loop); elsewhere it blocks with a one-line
        progress display and returns the final :class:`Progress`. ``options`` are :class:`SendOptions` fields."""
        if self.status == "composed":
            raise ledger.LedgerError(f"campaign {self.name!r} has no plan yet: dry_run() it first")
        ws = self.workspace
        if submit if submit is not None else ws.settings.worker:
            return self.submit(pace, display=display, **options)
        client = ws.async_client()
        runner = CampaignRunner(ws.store, client, self.name, self._options(pace, **options), clock=ws.clock)
        show = SEND_DISPLAYS.get(display or _display())
        if show is not None:
            return show(runner, client)
        runner.on_progress = _line_printer()

        async def run() -> Progress:
            async with client:
                return await runner.run()

        progress = run_sync(run())
        ws.settle()
        print(file=sys.stdout, flush=True)
        return progress

    @property
    def progress(self) -> pd.Series:
        """Recipients per ledger state now (status webhooks included)."""
        return pd.Series(ledger.state_counts(self.workspace.store, self.name), name=self.name)

    def results(self) -> pd.DataFrame:
        """The campaign's funnel as the dashboards count it (attempted, delivered, read, replied,
        converted and their rates), from the ledger, the inbound messages and the orders so far."""
        ws = self.workspace
        by_campaign = compute_metrics(load_ledger(ws.store), ws.now()).by_campaign
        return by_campaign[by_campaign["campaign_id"] == self.name].reset_index(drop=True)

    def errors(self) -> pd.DataFrame:
        """Errors by Meta code with their meaning; empty when every request went through."""
        return ledger.error_breakdown(self.workspace.store, self.name)

    def evaluate(self, metric: str | None = None, **options: Any) -> Any:
        """The A/B evaluation (per-arm rates, test, lift, sample ratio check and verdict)."""
        _, evaluation = evaluate_campaign(self.workspace.store, self.name, metric, **options)
        return evaluation

    def submit(self, pace: str | float = "safe", *, display: str | None = None, **options: Any) -> Any:
        """Hand the saved plan to ``wamkt worker`` (through the ledger) and watch it: in Jupyter the
        send widget follows the ledger (its pause, resume and cancel go to the worker), elsewhere the
        :class:`SubmittedRun` is returned (``progress()``, ``pause()``, ``cancel()``). The campaign
        goes on when the notebook closes; ``options`` are :class:`SendOptions` fields."""
        if self.status == "composed":
            raise ledger.LedgerError(f"campaign {self.name!r} has no plan yet: dry_run() it first")
        ws = self.workspace
        watched = SubmittedRun(ws.store, self.name, submitted_options({"pace": pace, **options}), clock=ws.clock)
        show = SEND_DISPLAYS.get(display or _display())
        if show is not None:
            return show(watched, None)
        watched.submit()
        return watched


def _display() -> str:
    """``widget`` inside a Jupyter kernel, ``text`` elsewhere (terminal, tests, CI)."""
    shell = sys.modules.get("IPython")
    ip = shell.get_ipython() if shell is not None else None  # type: ignore[attr-defined]
    return "widget" if ip is not None and getattr(ip, "kernel", None) is not None else "text"


def _line_printer() -> Callable[[Progress], None]:
    def show(p: Progress) -> None:
        left = p.counts["planned"] + p.counts["in_flight"]
        print(
            f"\r[{p.status}] {p.done:,}/{p.total:,} final · {left:,} left · {p.rate:,.1f} msg/s",
            end="",
            file=sys.stdout,
            flush=True,
        )

    return show
