"""What the builder shows about a segment: a sample of members (phones masked) and its make-up."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..data.privacy import mask_frame
from .frame import SegmentFrame

SAMPLE_COLUMNS = (
    "customer_id",
    "name",
    "phone",
    "country",
    "order_count",
    "avg_order_value",
    "interaction_recency",
    "tags",
)
COMPOSITION_COLUMNS = ("purchase_frequency", "order_value_band", "interaction_recency")


def sample_members(sf: SegmentFrame, mask: np.ndarray, n: int = 8, seed: int = 0) -> pd.DataFrame:
    """Up to ``n`` matching customers (a stable random pick), phone numbers masked in every column."""
    rows = np.flatnonzero(mask)
    if len(rows) > n:
        rows = np.sort(np.random.default_rng(seed).choice(rows, n, replace=False))
    columns = [c for c in SAMPLE_COLUMNS if c in sf.frame.columns]
    out = sf.frame.iloc[rows][columns].reset_index(drop=True)
    if "avg_order_value" in out:
        out["avg_order_value"] = out["avg_order_value"].round(2)
    if "tags" in out:
        out["tags"] = out["tags"].map(lambda t: ", ".join(t) if isinstance(t, tuple) else "")
    return mask_frame(out)


def composition(sf: SegmentFrame, mask: np.ndarray, column: str) -> pd.DataFrame:
    """Share of each level of a category column in the segment and in the whole base."""
    codes, levels = sf.codes(column)
    k = len(levels)
    base = np.bincount(codes[codes >= 0], minlength=k)
    seg_codes = codes[mask]
    seg = np.bincount(seg_codes[seg_codes >= 0], minlength=k)
    return pd.DataFrame(
        {"segment": seg / max(seg.sum(), 1), "base": base / max(base.sum(), 1)},
        index=pd.Index(levels, name=column),
    )


def composition_figure(sf: SegmentFrame, mask: np.ndarray) -> Figure:
    """Small bars: each band's share in the segment, with the base as a tick for comparison."""
    columns = [c for c in COMPOSITION_COLUMNS if sf.schema.kinds.get(c) == "category"]
    fig = Figure(figsize=(3.2 * max(len(columns), 1), 2.2), dpi=100)
    fig.subplots_adjust(left=0.09, right=0.98, bottom=0.12, top=0.88, wspace=0.55)  # cheaper than a layout engine
    for i, column in enumerate(columns):
        ax = fig.add_subplot(1, len(columns), i + 1)
        table = composition(sf, mask, column)
        y = np.arange(len(table))
        ax.barh(y, table["segment"], color="#2a9d8f", label="segment")
        ax.plot(table["base"], y, "|", color="#264653", markersize=14, mew=2, label="all customers")
        ax.set_yticks(y, table.index, fontsize=8)
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.xaxis.set_major_formatter(lambda v, _pos: f"{v:.0%}")
        ax.tick_params(axis="x", labelsize=7)
        ax.set_title(column.replace("_", " "), fontsize=9)
    if columns:
        fig.axes[0].legend(fontsize=7, loc="lower right", frameon=False)
    return fig
