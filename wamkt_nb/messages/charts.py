"""Charts about messages (matplotlib object API only, no pyplot state)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .lint import SWEET_SPOT


def length_figure(lengths: Mapping[str, pd.Series], limit: int | None = None) -> Figure:
    """Histogram of message lengths per variant over the whole audience, with the 20-30 sweet spot."""
    fig = Figure(figsize=(6.0, 2.6), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    values = {k: np.asarray(v, dtype=float) for k, v in lengths.items() if len(v)}
    if not values:
        ax.text(0.5, 0.5, "no recipients", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    top = max(float(v.max()) for v in values.values())
    bins = np.arange(0, max(top, SWEET_SPOT[1]) + 3, max(1, int(top // 40) or 1))
    ax.axvspan(*SWEET_SPOT, color="#25d366", alpha=0.15, label="20-30 characters")
    for name, v in values.items():
        ax.hist(v, bins=bins, alpha=0.6, label=f"{name or 'message'} (median {int(np.median(v))})")
    if limit is not None and limit <= top:
        ax.axvline(limit, color="#c0392b", linestyle="--", label=f"limit {limit}")
    ax.set_xlabel("characters")
    ax.set_ylabel("recipients")
    ax.legend(fontsize=7, frameon=False)
    ax.tick_params(labelsize=8)
    return fig
