"""Charts of the metric tables as ``matplotlib.figure.Figure`` objects (object API, no pyplot state,
so they are safe to draw from any thread and in Voila)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..ledger.states import HELD_LABEL
from .funnel import EMAIL_READ_RATE, REPLY_WARNING_RATE
from .segments import GUIDE_SEGMENTATION

GREEN, BLUE, GREY, RED, ORANGE = "#25D366", "#128C7E", "#9e9e9e", "#d9534f", "#f0ad4e"


def _figure(
    width: float = 7.0, height: float = 3.6, left: float = 0.1, bottom: float = 0.15, right: float = 0.97
) -> tuple[Figure, object]:
    """A figure with fixed margins (an automatic layout costs more than the drawing itself)."""
    fig = Figure(figsize=(width, height), dpi=100)
    fig.subplots_adjust(left=left, right=right, bottom=bottom, top=0.88)
    return fig, fig.add_subplot()


def _empty(ax, text: str = "no data for this selection") -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color=GREY)
    ax.set_axis_off()


def funnel_chart(stages: pd.DataFrame, title: str = "Funnel") -> Figure:
    """Horizontal bars attempted -> converted with counts and share of attempted."""
    fig, ax = _figure(left=0.14)
    if stages["count"].sum() == 0:
        _empty(ax)
        return fig
    y = np.arange(len(stages))[::-1]
    ax.barh(y, stages["count"], color=[BLUE] * 5 + [GREEN] * max(len(stages) - 5, 0))  # what customers did: green
    for yi, count, share in zip(y, stages["count"], stages["share"], strict=True):
        ax.text(count, yi, f" {count:,} ({share:.0%})", va="center", fontsize=9)
    ax.set_yticks(y, stages["stage"])
    ax.set_xlim(0, stages["count"].max() * 1.3)
    ax.set_title(title)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def _paired_bars(ax, table: pd.DataFrame, label: str, left: tuple[str, str, str], right: tuple[str, str, str]) -> None:
    """Two bars per row of ``table`` (column, legend, colour each), labelled by its ``label`` column."""
    x = np.arange(len(table))
    for offset, (column, legend, color) in ((-0.2, left), (0.2, right)):
        ax.bar(x + offset, table[column].fillna(0), 0.4, label=legend, color=color)
    ax.set_xticks(x, table[label].astype(str), rotation=20, ha="right", fontsize=8)


def rates_chart(table: pd.DataFrame, label: str, title: str = "Read and reply rate") -> Figure:
    """Read and reply rate per group (``label`` column), with the 20 % e-mail and 5 % reply lines."""
    fig, ax = _figure(bottom=0.3)
    if table.empty:
        _empty(ax)
        return fig
    _paired_bars(ax, table, label, ("read_rate", "read rate", BLUE), ("reply_rate", "reply rate (24 h)", GREEN))
    ax.axhline(EMAIL_READ_RATE, color=GREY, ls="--", lw=1, label=f"e-mail open rate {EMAIL_READ_RATE:.0%}")
    ax.axhline(REPLY_WARNING_RATE, color=RED, ls=":", lw=1, label=f"spam risk under {REPLY_WARNING_RATE:.0%}")
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.legend(fontsize=7, loc="upper right")
    ax.set_title(title)
    return fig


def failures_chart(failures: pd.DataFrame) -> Figure:
    """Failures by Meta error code, labelled with the meaning; messages Meta held back (131049)
    in grey, apart from the failures."""
    fig, ax = _figure(height=3.0, left=0.55)
    if failures.empty:
        _empty(ax, "no failed messages")
        return fig
    top = failures.head(8).iloc[::-1]
    held = top.get("outcome", pd.Series("failed", index=top.index)) == HELD_LABEL
    labels = [
        f"{c}: {HELD_LABEL if h else m[:45]}" for c, m, h in zip(top["error_code"], top["meaning"], held, strict=True)
    ]
    ax.barh(labels, top["count"], color=[GREY if h else RED for h in held])
    ax.tick_params(axis="y", labelsize=8)
    ax.set_title(f"Failures by error code (grey: {HELD_LABEL}, not failed)" if held.any() else "Failures by error code")
    return fig


def reply_decay_chart(decay: pd.DataFrame) -> Figure:
    """Share of replies by minutes since delivery, with the cumulative share."""
    fig, ax = _figure(bottom=0.28)
    if decay["replies"].sum() == 0:
        _empty(ax, "no replies yet")
        return fig
    ax.bar(decay["bin"], decay["share"], color=GREEN)
    ax.plot(decay["bin"], decay["cumulative_share"], color=BLUE, marker="o", label="cumulative")
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.tick_params(axis="x", labelsize=8, rotation=30)
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=8)
    ax.set_title("When customers reply (minutes after delivery)")
    return fig


def heatmap_chart(grid: pd.DataFrame, title: str = "Activity by local hour and weekday") -> Figure:
    """Weekday x hour activity as a colour grid."""
    fig, ax = _figure(8.0, 3.2, left=0.07, right=1.0)
    if grid.values.sum() == 0:
        _empty(ax, "no activity yet")
        return fig
    image = ax.imshow(grid.to_numpy(), aspect="auto", cmap="Greens")
    ax.set_yticks(range(len(grid.index)), grid.index)
    ax.set_xticks(range(0, 24, 2), [str(h) for h in range(0, 24, 2)])
    ax.set_xlabel("hour")
    fig.colorbar(image, ax=ax, label="events")
    ax.set_title(title)
    return fig


def hours_chart(events_by_hour: pd.Series, best: list[int], title: str) -> Figure:
    """Activity per hour (0..23) with the best hours highlighted."""
    fig, ax = _figure(7.0, 3.0)
    if events_by_hour.sum() == 0:
        _empty(ax, "no activity yet")
        return fig
    colors = [GREEN if h in best else BLUE for h in events_by_hour.index]
    ax.bar(events_by_hour.index, events_by_hour.to_numpy(), color=colors)
    ax.set_xticks(range(0, 24, 2))
    ax.set_xlabel("local hour")
    ax.set_title(title)
    return fig


def segment_comparison_chart(table: pd.DataFrame) -> Figure:
    """Read rate, conversion uplift and cost reduction per segment next to the published figures
    (WhatsApp marketing guide, 2024; docs/figures.md)."""
    fig = Figure(figsize=(9.0, 3.4), dpi=100)
    fig.subplots_adjust(left=0.17, right=0.98, bottom=0.15, top=0.88, wspace=0.1)
    axes = fig.subplots(1, 3)
    if table.empty:
        for ax in axes:
            _empty(ax)
        return fig
    metrics = (
        ("read_rate", "read rate"),
        ("conversion_uplift", "conversion uplift"),
        ("cost_reduction", "cost reduction"),
    )
    for ax, (col, label) in zip(axes, metrics, strict=True):
        values = table[col].fillna(0)
        colors = [GREY if b else GREEN for b in table["is_baseline"]]
        ax.barh(table["segment"].astype(str), values, color=colors)
        published = GUIDE_SEGMENTATION[col].iloc[1:]
        if col != "read_rate":
            ax.axvline(0, color="black", lw=0.8)
        ax.axvspan(published.min(), published.max(), color=ORANGE, alpha=0.15, label="published range")
        ax.xaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
        ax.set_title(label, fontsize=10)
        ax.tick_params(axis="y", labelsize=8)
        if ax is not axes[0]:
            ax.set_yticklabels([])
    axes[0].legend(fontsize=7, loc="lower right")
    return fig


def costs_chart(costs: pd.DataFrame, currency: str, prices: str) -> Figure:
    """Delivered template messages per month, split into charged and free, with the cost in
    ``currency`` at ``prices`` (the rate card's label)."""
    fig, ax = _figure(left=0.12)
    if costs.empty:
        _empty(ax, "no delivered template messages yet")
        return fig
    ax.bar(costs["month"], costs["charged"], color=BLUE, label="charged")
    ax.bar(costs["month"], costs["free"], bottom=costs["charged"], color=GREEN, label="free (window, allowance)")
    for x, total, cost in zip(costs["month"], costs["delivered_templates"], costs["cost"], strict=True):
        ax.text(x, total, f"{cost:,.2f} {currency}", ha="center", va="bottom", fontsize=8)
    ax.set_ylabel("delivered template messages")
    ax.legend(fontsize=8)
    ax.set_title(f"Cost per month ({prices})")
    return fig


def roi_chart(roi: pd.DataFrame, currency: str, label: str = "campaign_name") -> Figure:
    """Revenue and cost per delivered message per campaign, both in ``currency``."""
    fig, ax = _figure(bottom=0.3)
    if roi.empty:
        _empty(ax)
        return fig
    _paired_bars(
        ax, roi, label, ("revenue_per_message", "revenue / message", GREEN), ("cost_per_message", "cost / message", RED)
    )
    ax.set_ylabel(f"{currency} per message")
    ax.legend(fontsize=8)
    ax.set_title("ROI per message")
    return fig


def ltv_chart(ltv: pd.DataFrame) -> Figure:
    """Cumulative LTV per customer by month, WhatsApp-reached vs the rest."""
    fig, ax = _figure(bottom=0.22)
    if ltv.empty:
        _empty(ax)
        return fig
    for group, color in (("whatsapp", GREEN), ("rest", GREY)):
        rows = ltv[ltv["group"] == group]
        ax.plot(rows["month"], rows["ltv"], marker="o", color=color, label=f"{group} ({rows['customers'].iat[0]:,})")
    ax.tick_params(axis="x", labelsize=7, rotation=45)
    ax.set_ylabel("cumulative revenue per customer")
    ax.legend(fontsize=8)
    ax.set_title("LTV: customers reached on WhatsApp vs the rest")
    return fig


def response_time_chart(conversations: pd.DataFrame) -> Figure:
    """First response times of answered conversations, with the 5-minute target."""
    fig, ax = _figure(7.0, 3.0)
    frt = conversations.loc[conversations["answered"], "first_response_min"]
    if frt.empty:
        _empty(ax, "no answered conversations yet")
        return fig
    edges = [0, 1, 5, 15, 30, 60, 120, max(240, float(frt.max()) + 1)]
    counts, _ = np.histogram(frt.clip(lower=0), bins=edges)
    labels = ["<1", "1-5", "5-15", "15-30", "30-60", "60-120", "120+"]
    ax.bar(labels, counts, color=[GREEN, GREEN, ORANGE, ORANGE, RED, RED, RED])
    ax.set_xlabel("first response (minutes)")
    ax.set_title("First response time (target: within 5 minutes)")
    return fig


def step_funnel_chart(table: pd.DataFrame, title: str = "Journey funnel per step") -> Figure:
    """Grouped bars per journey step (step 0: the campaign): sent, delivered, read, clicked,
    replied, converted."""
    fig, ax = _figure(bottom=0.3)
    if table.empty:
        _empty(ax, "no journey in this selection")
        return fig
    stages = ("sent", "delivered", "read", "clicked", "replied", "converted")
    colors = (BLUE, BLUE, BLUE, GREEN, GREEN, GREEN)
    x = np.arange(len(table))
    width = 0.8 / len(stages)
    for i, (stage, color) in enumerate(zip(stages, colors, strict=True)):
        ax.bar(
            x + (i - len(stages) / 2 + 0.5) * width,
            table[stage],
            width,
            label=stage,
            color=color,
            alpha=1 - i % 3 * 0.3,
        )
    labels = [
        f"{j} · {'campaign' if s == 0 else f'step {s}'}" for j, s in zip(table["journey"], table["step"], strict=True)
    ]
    ax.set_xticks(x, labels, rotation=20, ha="right", fontsize=8)
    ax.legend(fontsize=8, ncols=3)
    ax.set_title(title)
    ax.spines[["top", "right"]].set_visible(False)
    return fig
