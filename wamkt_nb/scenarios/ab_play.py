"""Playing an A/B campaign in the embedded sandbox, end to end, as a real one would run.

Dry-run plan with each customer's arm → ledger rows (with the experiment key and design) → the
paced sender → the sandbox's simulated customers (a planted ``variant_uplift`` makes one arm truly
better) → signed status and inbound webhooks → our receiver → the ledger; the sandbox's simulated
orders go into ``conversions``. Then ``evaluate_campaign`` reads it like any other experiment.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..campaigns.dryrun import DryRunReport
from ..campaigns.sender import Progress
from ..compliance import Policy
from ..data.schema import CustomerData
from ..ledger import new_campaign_id
from ..messages import MessageSpec, Template
from ..sandbox import BehaviourParams
from ..store import Store
from .playback import history_workspace


@dataclass(frozen=True)
class PlayResult:
    """What the run left behind: the campaign in the ledger, its dry-run and the send progress."""

    campaign_id: str
    report: DryRunReport
    progress: Progress
    sandbox_counters: dict[str, int]


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
    with history_workspace(store, data, now, behaviour=params, templates=templates) as ws:
        campaign = ws.campaign(
            audience, messages, name=new_campaign_id(now), title=name, experiment_key=experiment_key, design=spec or {}
        )
        report = campaign.dry_run(schedule="now", policy=policy)
        progress = ws.send_due(pace)[campaign.name]
        ws.advance(observe_hours)
        counters = ws.sandbox.counters()
    return PlayResult(campaign_id=campaign.name, report=report, progress=progress, sandbox_counters=counters)
