"""What every scripted history shares: a sandbox workspace over the history's store on simulated time,
and the history's end.

The demo, the A/B play and the calibration each script their own campaigns; the session they play
them in (the embedded sandbox on an unlimited tier, its receiver, the clock) is built here once.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..clock import SimulatedClock
from ..data.schema import CustomerData
from ..facade import Workspace
from ..messages import Template
from ..sandbox import BehaviourParams, SandboxConfig
from ..settings import Settings
from ..store import Store


def history_workspace(
    store: Store,
    customers: CustomerData,
    start: float,
    *,
    behaviour: BehaviourParams | None = None,
    templates: Sequence[Template] = (),
    seed: int = SandboxConfig.seed,
) -> Workspace:
    """A sandbox workspace over ``store`` (left open) for ``customers`` on simulated time from ``start``.

    Simulated time stands still unless the history advances it (speed 0): a send takes no simulated
    time however long it takes on a loaded machine, so the same history gives the same results. The
    tier is unlimited and the throughput's burst holds any history's campaign (no simulated second
    passes to refill it), so a history's sends never wait on Meta's limits; ``seed`` fixes the sandbox's draws."""
    config = SandboxConfig(messaging_tier="TIER_UNLIMITED", throughput_per_second=1e9, seed=seed)
    return Workspace(
        Settings(sandbox=True),
        store=store,
        clock=SimulatedClock(start, speed=0.0),
        customers=customers,
        behaviour=behaviour,
        templates=templates,
        sandbox_config=config,
    )


def finish_history(ws: Workspace, until: float, pace: float) -> dict[str, int]:
    """End a history at ``until``: send what is due, wait for the last webhooks, store the sandbox's
    orders; returns the sandbox's counters."""
    ws.advance_to(until)
    ws.send_due(pace)
    ws.settle(60.0)
    ws.sandbox.save_conversions(ws.store)
    return dict(ws.sandbox.counters())
