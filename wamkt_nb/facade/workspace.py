"""One analyst's session: the store, the Cloud API client and, in sandbox mode, the sandbox and its receiver.

A notebook opens a :class:`Workspace`, picks customers with :meth:`Workspace.segment` and composes a
:class:`~wamkt_nb.facade.campaign.Campaign`; the plumbing (starting the sandbox, connecting the webhook
receiver, opening and closing clients) lives here once instead of in every notebook, script and CLI.
Every method is synchronous; the async sender runs through :func:`wamkt_nb.aio.run_sync` or, in
Jupyter, as a task of the send widget.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import ledger
from ..aio import run_sync
from ..campaigns.journeys import next_step_due, start_due_steps
from ..campaigns.send_options import pace_options
from ..campaigns.sender import Progress, SendOptions, send_campaign
from ..clock import Clock, SimulatedClock, SystemClock
from ..cloudapi import AsyncCloudClient, CloudClient
from ..data.features import build_features
from ..data.sample import generate
from ..data.schema import CustomerData
from ..data.stored import has_customer_data, read_customer_data, write_customer_data
from ..ledger import control
from ..messages import Template
from ..messages.registry import TemplateRegistry
from ..sandbox import BehaviourParams, Sandbox, SandboxConfig
from ..sandbox.templates import default_templates
from ..segments import add_engagement, evaluate, preset
from ..segments.presets import PRESETS
from ..segments.rules import Node
from ..segments.saved import list_segments, load_segment, save_segment
from ..serving.wiring import SandboxLink, connect_sandbox
from ..settings import Settings, load_settings
from ..store import Store, open_store
from ..workspace import database_path, workspace_dir
from .campaign import Campaign, Message


class Segment:
    """Customers chosen by a rule at the workspace's ``now``: ``customers`` are their feature rows."""

    def __init__(self, name: str, rule: Node | None, include_inactive: bool, customers: pd.DataFrame) -> None:
        self.name, self.rule, self.include_inactive, self.customers = name, rule, include_inactive, customers

    def __len__(self) -> int:
        return len(self.customers)

    def __repr__(self) -> str:
        return f"Segment({self.name!r}, {len(self):,} customers)"


class Workspace:
    """Store, client, sandbox and receiver of one session, built from settings (sandbox or live).

    ``now`` fixes the session's time (a simulated clock starting there, shared by the sandbox and the
    sender) so a notebook plays the same day on every run; without it the wall clock is used. The
    simulated clock starts no earlier than the store's last ledger record: notebooks run one after
    another in one workspace see time move forward (04 sends what 03 planned for "now").
    Use it as a context manager, or call :meth:`close`: it stops everything it started. ``database``
    names the SQLite file when it is not the workspace's (``wamkt send --db``); without it the
    store is the team's PostgreSQL database when the settings name one (``database_url``).
    ``behaviour`` (the simulated customers, e.g. an arm's planted uplift), ``templates`` (added to
    the sandbox's library as approved), ``sandbox_config`` (tier, throughput, seed) and
    ``customers`` (the simulated people; default: the store's) shape the sandbox.
    A scenario that plays a history passes its open ``store`` (the caller closes it) and its own
    ``clock`` (a :class:`SimulatedClock` at the history's start).
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        directory: Path | None = None,
        database: Path | None = None,
        store: Store | None = None,
        now: Any = None,
        clock: Clock | None = None,
        sample_size: int = 2_000,
        behaviour: BehaviourParams | None = None,
        templates: Sequence[Template] = (),
        customers: CustomerData | None = None,
        sandbox_config: SandboxConfig | None = None,
    ) -> None:
        self.settings = settings or load_settings()
        self.mode = "sandbox" if self.settings.sandbox else "live"
        if (now is not None or clock is not None) and self.mode == "live":
            raise ValueError("a live workspace runs on the wall clock: leave out now= and clock=")
        if store is not None and database is not None:
            raise ValueError("give an open store or a database path, not both")
        self.directory = directory or (store.path.parent if store is not None and store.path else workspace_dir())
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._owns_store = store is None
        self.store: Store = (
            store
            if store is not None
            else open_store(database or self.settings.database_url or database_path(self.directory))
        )
        self.clock: Clock = clock or SystemClock()
        if now is not None and clock is None:  # a later session never starts before what an earlier one recorded
            self.clock = SimulatedClock(max(_epoch(now), ledger.last_recorded(self.store) or 0.0))
        self.sample_size = sample_size
        self.behaviour, self.extra_templates = behaviour, tuple(templates)
        self.sandbox_customers, self.sandbox_config = customers, sandbox_config
        self._sandbox: Sandbox | None = None
        self._link: SandboxLink | None = None
        self._client: CloudClient | None = None
        self._templates: TemplateRegistry | None = None

    def __repr__(self) -> str:
        return f"Workspace({self.mode}, {self.directory})"

    # -- time and data ------------------------------------------------------------------------
    def now(self) -> pd.Timestamp:
        return pd.Timestamp(self.clock.now(), unit="s", tz="UTC")

    @property
    def customers(self) -> CustomerData:
        """The imported customers with every order and interaction recorded since; a seeded sample
        (saved into the store, so the sandbox and later notebooks see the same people) when none is."""
        if not has_customer_data(self.store):
            write_customer_data(self.store, generate(self.sample_size))
        return read_customer_data(self.store)

    @property
    def features(self) -> pd.DataFrame:
        """One row per customer with the features segments and messages use, as of :meth:`now`."""
        return build_features(self.customers, self.now())

    # -- segments -----------------------------------------------------------------------------
    def segments(self) -> list[str]:
        """Names a segment can be chosen by: the saved segments, then the presets."""
        return [s.name for s in list_segments(self.store)] + list(PRESETS)

    def segment(self, chosen: str | Node | None = None, *, include_inactive: bool = False) -> Segment:
        """Customers of a saved segment or preset (by name), of a rule, or everyone (``None``)."""
        features = self.features
        if chosen is None:
            return Segment("everyone", None, include_inactive, features.reset_index(drop=True))
        name = chosen if isinstance(chosen, str) else "rule"
        if isinstance(chosen, str):
            saved = {s.name for s in list_segments(self.store)}
            if chosen in saved:
                found = load_segment(self.store, chosen)
                chosen, include_inactive = found.rule, found.include_inactive
            else:
                p = preset(chosen)
                chosen, include_inactive = p.rule, p.include_inactive
        with_facts = add_engagement(self.store, features, chosen)  # retargeting: what they did with campaigns
        mask = evaluate(chosen, with_facts, now=self.now(), include_inactive=include_inactive).mask
        chosen_rows = features.iloc[np.flatnonzero(mask)] if mask is not None else features
        return Segment(name, chosen, include_inactive, chosen_rows.reset_index(drop=True))

    def save_segment(self, name: str, rule: Node, include_inactive: bool = False) -> None:
        """Keep ``rule`` under ``name``: later notebooks offer it (:meth:`segments`, :meth:`segment`)."""
        save_segment(self.store, name, rule, include_inactive, clock=self.clock)

    # -- campaigns ----------------------------------------------------------------------------
    def campaign(
        self,
        segment: Segment | str | pd.DataFrame | None = None,
        message: Message | None = None,
        *,
        name: str | None = None,
        params: Mapping[str, Any] | None = None,
        title: str | None = None,
        segment_name: str | None = None,
        experiment_key: str | None = None,
        design: Mapping[str, Any] | None = None,
    ) -> Campaign:
        """Compose a campaign for ``segment`` with ``message``, or (``message`` left out) open the
        campaign saved under the name ``segment`` (or ``name``) by an earlier dry run.

        ``segment`` may also be the audience itself (feature rows, with an ``arm`` column for an
        experiment whose arms were drawn elsewhere, e.g. with a holdout), recorded under
        ``segment_name``. ``params`` are columns added to the audience (a value, or a function of it).
        ``name`` is the campaign's id; ``title`` the name the ledger shows (default: the id).
        ``experiment_key`` draws and records the arms of ``{arm: message}`` (default: the id);
        ``design`` is the experiment's stored design when :meth:`Campaign.plan_test` does not plan it, and
        beside a plan what the plan does not set (e.g. ``guardrail_margin``)."""
        if message is None:
            key = name or segment
            if not isinstance(key, str):
                raise ValueError("give a message to compose a campaign, or the name of a saved one")
            return Campaign.saved(self, key)
        if isinstance(segment, pd.DataFrame):
            chosen = Segment(segment_name or "audience", None, False, segment.reset_index(drop=True))
        else:
            chosen = segment if isinstance(segment, Segment) else self.segment(segment)
            segment_name = segment_name or chosen.name
        audience = chosen.customers.assign(**dict(params or {}))
        return Campaign(
            self,
            name or chosen.name,
            segment_name,
            audience,
            message,
            title=title,
            experiment_key=experiment_key,
            design=design,
        )

    def campaigns(self) -> list[str]:
        """Names (ids) of the campaigns in the ledger, newest first."""
        return [campaign_id for campaign_id, _ in ledger.campaign_names(self.store)]

    def last_campaign(self) -> Campaign:
        """The campaign created last (by an earlier dry run or send)."""
        names = self.campaigns()
        if not names:
            raise ledger.LedgerError("no campaign in this workspace yet: compose one and dry-run it")
        return Campaign.saved(self, names[0])

    @property
    def templates(self) -> TemplateRegistry:
        """The account's templates (the sandbox's in sandbox mode) with local drafts, synced on first use."""
        if self._templates is None:
            waba = self.sandbox.waba_id if self.mode == "sandbox" else self.settings.waba_id
            self._templates = TemplateRegistry(self.store, self.client, waba)
            self._templates.sync()
        return self._templates

    def template(self, name: str, language: str = "de") -> Template:
        """An approved template from the account's library (the sandbox's in sandbox mode)."""
        for template in self.templates.approved():
            if template.name == name and template.language == language:
                return template
        raise KeyError(f"no approved template {name!r} ({language})")

    # -- the parts it owns --------------------------------------------------------------------
    @property
    def sandbox(self) -> Sandbox:
        """The embedded sandbox with the workspace's customers, and a receiver writing into the store;
        started on first use."""
        if self.mode != "sandbox":
            raise ValueError("a live workspace has no sandbox")
        if self._sandbox is None:
            customers = self.sandbox_customers if self.sandbox_customers is not None else self.customers
            sandbox = Sandbox(
                customers=customers,
                clock=self.clock,
                params=self.behaviour,
                config=self.sandbox_config,
                templates=default_templates() + [_approved(t) for t in self.extra_templates],
            )
            sandbox.start()
            self._sandbox = sandbox
            self._link = connect_sandbox(sandbox, self.store)
        return self._sandbox

    @property
    def receiver(self) -> SandboxLink | None:
        """The webhook receiver the sandbox posts to (None until the sandbox started)."""
        return self._link

    @property
    def api_settings(self) -> Settings:
        """Where requests go: the sandbox's address and token, or the account's settings."""
        return self.sandbox.settings() if self.mode == "sandbox" else self.settings

    @property
    def phone_number_ids(self) -> tuple[str, ...]:
        return (self.sandbox.phone_number_id,) if self.mode == "sandbox" else self.settings.phone_number_ids

    @property
    def client(self) -> CloudClient:
        """The blocking Cloud API client (templates, media, answers); opened on first use."""
        if self._client is None:
            self._client = CloudClient(self.api_settings)
        return self._client

    def async_client(self) -> AsyncCloudClient:
        """A new async client for one send; whoever runs the send closes it."""
        return AsyncCloudClient(self.api_settings)

    def settle(self, timeout: float = 10.0) -> None:
        """In sandbox mode: wait until the sandbox posted its pending webhooks and the receiver stored them."""
        if self._sandbox is not None and self._link is not None:
            self._sandbox.wait_idle(timeout)
            self._link.service.dispatcher.wait_idle(timeout)

    def advance_to(self, when: float) -> None:
        """Sandbox mode: move simulated time to ``when`` (epoch s), in steps of at most
        :data:`STEP_SECONDS` around the sandbox's pending events, each step's webhooks stored (and
        auto-replied) before the next, so a reply comes when its message arrived; quiet stretches
        are jumped over."""
        sandbox = self.sandbox
        while (pending := sandbox.engine.next_event_at()) is not None and pending <= when:
            step_end = min(max(pending, self.clock.now()) + STEP_SECONDS, when)
            sandbox.advance(max(step_end - self.clock.now(), 0.0))
            self.settle()
        gap = when - self.clock.now()
        if gap > 0:
            sandbox.advance(gap)

    def advance(self, hours: float) -> None:
        """Sandbox mode: let ``hours`` of simulated time pass, so the simulated customers read, reply and
        buy; their webhooks are stored and the sandbox's orders saved as conversions."""
        self.advance_to(self.clock.now() + hours * 3600.0)
        self.settle(60.0)
        self.sandbox.save_conversions(self.store)

    def send_options(self, pace: str | float, **options: Any) -> SendOptions:
        """How a send of this workspace runs: its phone numbers, ``pace``, and ``options`` (the other
        :class:`SendOptions` fields)."""
        live = self.mode == "live"
        # no account can be restricted in the sandbox: any pace there; live, above 50/s must be confirmed
        options.setdefault("confirm_high_rate", not live)
        return SendOptions(
            phone_number_ids=self.phone_number_ids,
            pace=pace,
            max_rate=self.settings.max_rate if live else None,
            **options,
        )

    def send_due(self, pace: str | float | None = None, **options: Any) -> dict[str, Progress]:
        """Send, in this process and on the workspace's clock, every campaign with rows due now (a
        campaign just dry-run with ``schedule="now"``, rows held back by quiet hours that are due,
        opted-in retries of messages Meta held that came due, journey steps that came due);
        rows planned for later stay for a later call. Returns each campaign's final progress.

        ``pace`` is every campaign's; None: the pace each was submitted with (a journey step: its
        campaign's, unless the step has its own), else ``"safe"``."""
        options.setdefault("wait_for_later", False)
        done: dict[str, Progress] = {}
        ledger.requeue_due_held(self.store, self.clock.now())
        start_due_steps(self.store, self.clock.now(), self._link.link_base_url if self._link is not None else None)
        for campaign_id in ledger.due_campaigns(self.store, self.clock.now()):
            paced = {"pace": pace} if pace is not None else pace_options(control.options_of(self.store, campaign_id))
            send = self.send_options(**{"pace": "safe", **paced, **options})

            async def run(campaign_id: str = campaign_id, send: SendOptions = send) -> Progress:
                async with self.async_client() as client:
                    return await send_campaign(self.store, client, campaign_id, send, clock=self.clock)

            done[campaign_id] = run_sync(run())
        return done

    def play_journeys(self, until: float, pace: str | float | None = None) -> dict[str, Progress]:
        """Sandbox mode: let simulated time run to ``until`` (epoch s), starting and sending each
        journey step when it comes due (customers read, reply and buy in between) at ``pace`` (None:
        as :meth:`send_due`); the final progress of every campaign sent on the way."""
        sent: dict[str, Progress] = {}
        while (due := next_step_due(self.store)) is not None and due <= until:
            self.advance_to(max(due, self.clock.now()))
            self.settle()
            self.sandbox.save_conversions(self.store)  # orders so far stop their buyers' journeys
            sent |= self.send_due(pace)
            self.settle()
        self.advance_to(max(until, self.clock.now()))
        self.settle()
        self.sandbox.save_conversions(self.store)
        return sent

    def close(self) -> None:
        """Close the client, the receiver, the sandbox and the store it opened (each once); a store
        given to it stays open for its owner."""
        self._templates = None
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._link is not None:
            self._link.close()
            self._link = None
        if self._sandbox is not None:
            self._sandbox.stop()
            self._sandbox = None
        if self._owns_store:
            self.store.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


STEP_SECONDS = 120.0
"""The longest step :meth:`Workspace.advance_to` plays around the sandbox's pending events."""


def _approved(template: Template) -> dict[str, Any]:
    """A local template as the sandbox's library holds an approved one."""
    return {
        "name": template.name,
        "language": template.language,
        "category": template.category,
        "status": "APPROVED",
        "parameter_format": template.parameter_format,
        "components": template.to_api(),
    }


def _epoch(now: Any) -> float:
    if isinstance(now, (int, float)):
        return float(now)
    stamp = pd.Timestamp(now)
    return (stamp if stamp.tzinfo else stamp.tz_localize("UTC")).timestamp()
