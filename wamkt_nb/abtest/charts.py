"""Charts as matplotlib ``Figure`` objects (object API, no pyplot state): power curve, intervals."""

from __future__ import annotations

from typing import cast

import numpy as np
from matplotlib.figure import Figure

from .evaluation import Evaluation
from .planning import SamplePlan, power_curve


def power_curve_figure(plan: SamplePlan, width: float = 6.4, height: float = 3.6) -> Figure:
    """Power against users in the test for the planned MDE and half/one-and-a-half of it."""
    data = power_curve(plan)
    fig = Figure(figsize=(width, height), layout="constrained")
    ax = fig.add_subplot()
    for key, part in data.groupby("mde", sort=True):
        mde = cast(float, key)  # a value of the mde column
        planned = np.isclose(mde, plan.absolute_mde)
        ax.plot(
            part["total"],
            part["power"],
            lw=2.2 if planned else 1.2,
            label=f"MDE {mde * 100:+.2f} pp" + (" (planned)" if planned else ""),
        )
    ax.axhline(plan.power, color="grey", ls="--", lw=1)
    ax.axvline(plan.total, color="grey", ls=":", lw=1)
    ax.annotate(
        f"{plan.total:,} users", (plan.total, 0.03), xytext=(4, 0), textcoords="offset points", fontsize=8, color="grey"
    )
    ax.set_xlabel("users in the test")
    ax.set_ylabel("power")
    ax.set_ylim(0, 1.02)
    ax.set_title(f"Power at baseline {plan.baseline:.2%}, α = {plan.alpha:g}", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    return fig


def intervals_figure(evaluation: Evaluation, metric: str = "rate", width: float = 6.4) -> Figure:
    """Per-arm rate with its Wilson interval, and each variant's relative lift with its interval."""
    table = evaluation.table
    fig = Figure(figsize=(width, 1.2 + 0.55 * len(table) * 2), layout="constrained")
    ax_rate, ax_lift = fig.subplots(2, 1)
    y = np.arange(len(table))[::-1]
    ax_rate.errorbar(
        table["rate"],
        y,
        xerr=[table["rate"] - table["rate_low"], table["rate_high"] - table["rate"]],
        fmt="o",
        capsize=4,
        color="tab:blue",
    )
    ax_rate.set_yticks(y, table["arm"])
    ax_rate.set_xlabel(f"{metric} ({1 - evaluation.alpha:.0%} Wilson interval)")
    control_rate = table.loc[table["arm"] == evaluation.control, "rate"].iloc[0]
    ax_rate.axvline(control_rate, color="grey", ls="--", lw=1)
    ax_rate.xaxis.set_major_formatter(lambda v, _: f"{v:.1%}")
    others = table[table["arm"] != evaluation.control]
    y2 = np.arange(len(others))[::-1]
    colours = [
        "tab:green" if lo > 0 else "tab:red" if hi < 0 else "tab:grey"
        for lo, hi in zip(others["lift_low"], others["lift_high"], strict=True)
    ]
    for yy, (_, r), c in zip(y2, others.iterrows(), colours, strict=True):
        ax_lift.errorbar(
            r["lift"], yy, xerr=[[r["lift"] - r["lift_low"]], [r["lift_high"] - r["lift"]]], fmt="o", capsize=4, color=c
        )
    ax_lift.set_yticks(y2, others["arm"])
    ax_lift.axvline(0, color="grey", lw=1)
    ax_lift.set_xlabel(f"relative lift vs {evaluation.control} ({1 - evaluation.alpha:.0%} delta-method interval)")
    ax_lift.xaxis.set_major_formatter(lambda v, _: f"{v:+.0%}")
    for ax in (ax_rate, ax_lift):
        ax.grid(axis="x", alpha=0.3)
        ax.set_ylim(-0.7, max(len(table), 1) - 0.3)
    return fig
