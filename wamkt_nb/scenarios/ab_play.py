"""Playing an A/B campaign in the embedded sandbox, end to end, as a real one would run.

Dry-run plan with each customer's arm → ledger rows (with the experiment key and design) → the
paced sender → the sandbox's simulated customers (a planted ``variant_uplift`` makes one arm truly
better) → signed status and inbound webhooks → our receiver → the ledger; the sandbox's simulated
orders go into ``conversions``. Then ``evaluate_campaign`` reads it like any other experiment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import pandas as pd

from ..abtest.errors import AbTestError
from ..abtest.planning import SamplePlan, plan_sample_size
from ..aio import run_sync
from ..campaigns.dryrun import DryRunReport, dry_run
from ..campaigns.sender import Progress, SendOptions, send_campaign
from ..clock import SimulatedClock
from ..cloudapi import AsyncCloudClient
from ..compliance import Policy
from ..data.schema import CustomerData
from ..ledger import create_campaign, marketing_read_history
from ..messages import MessageSpec, Template
from ..sandbox import BehaviourParams, Sandbox, SandboxConfig
from ..sandbox.templates import default_templates
from ..store import Store
from ..serving.wiring import connect_sandbox


@dataclass(frozen=True)
class PlayResult:
    """What the run left behind: the campaign in the ledger, its dry-run and the send progress."""

    campaign_id: str
    report: DryRunReport
    progress: Progress
    sandbox_counters: dict[str, int]


def history_read_rate(store: Store, customer_ids: Sequence[str]) -> tuple[int, int]:
    """(messages, reads) of the marketing messages these customers were sent before: attempted
    messages and those with ``read_at``, counted as the ``read`` outcome counts them."""
    return marketing_read_history(store, customer_ids)


def plan_from_history(
    store: Store, customer_ids: Sequence[str], mde: float, *, relative: bool = True, power: float = 0.8,
    alpha: float = 0.05,
) -> SamplePlan:
    """A two-arm read-rate test planned for ``customer_ids``: the baseline is their read rate on
    earlier marketing messages (the ledger), the size the planner's for ``mde`` at ``power``."""
    messages, reads = history_read_rate(store, customer_ids)
    if messages == 0:
        raise AbTestError("no earlier marketing messages to these customers: no baseline read rate to plan from")
    return plan_sample_size(reads / messages, mde, relative=relative, power=power, alpha=alpha)


def approved_template(template: Template) -> dict[str, Any]:
    """A local template as the sandbox's library holds an approved one."""
    return {"name": template.name, "language": template.language, "category": template.category,
            "status": "APPROVED", "parameter_format": template.parameter_format, "components": template.to_api()}


def play_in_sandbox(
    store: Store,
    data: CustomerData,
    audience: pd.DataFrame,
    messages: Mapping[str, MessageSpec],
    *,
    name: str,
    experiment_key: str,
    now: float,
    params: BehaviourParams,
    templates: Sequence[Template] = (),
    spec: dict[str, Any] | None = None,
    observe_hours: float = 168.0,
    pace: float = 500.0,
    policy: Policy = Policy(daily_limit=None),
) -> PlayResult:
    """Run the experiment for ``audience`` (one row per customer, with an ``arm`` column).

    ``templates`` are added to the sandbox as approved; ``spec`` (the design, e.g.
    ``SamplePlan.spec() | {"metric": ...}``) is stored with the campaign. Simulated time starts at
    ``now`` and is fast-forwarded ``observe_hours`` after sending.
    """
    report = dry_run(audience, messages, now=now, store=store, schedule="now", policy=policy)
    campaign_id = create_campaign(store, report.plan, name=name, now=now, experiment_key=experiment_key,
                                  spec={"experiment": spec or {}})
    sandbox = Sandbox(
        customers=data, clock=SimulatedClock(now), params=params,
        config=SandboxConfig(messaging_tier="TIER_UNLIMITED", throughput_per_second=max(80.0, 2 * pace)),
        templates=default_templates() + [approved_template(t) for t in templates],
    )
    sandbox.start()
    try:
        with connect_sandbox(sandbox, store):
            options = SendOptions(phone_number_ids=(sandbox.phone_number_id,), pace=pace,
                                  confirm_high_rate=pace > 50)

            async def send() -> Progress:
                async with AsyncCloudClient(sandbox.settings()) as client:
                    return await send_campaign(store, client, campaign_id, options, clock=sandbox.clock)

            progress = run_sync(send())
            sandbox.advance(observe_hours * 3600.0)
            sandbox.wait_idle(60.0)
            sandbox.save_conversions(store)
            counters = sandbox.counters()
    finally:
        sandbox.stop()
    return PlayResult(campaign_id=campaign_id, report=report, progress=progress, sandbox_counters=counters)
