"""Overlap and side-by-side comparison of segments (saved ones or any evaluated results)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..store import Store
from .evaluation import SegmentResult, evaluate
from .frame import SegmentFrame, segment_frame
from .saved import list_segments


def evaluate_saved(store: Store, frame: pd.DataFrame | SegmentFrame, now: Any) -> dict[str, SegmentResult]:
    """Every saved segment evaluated on ``frame``, by name (each with its own inactive choice)."""
    sf = segment_frame(frame)
    return {s.name: evaluate(s.rule, sf, now, s.include_inactive) for s in list_segments(store)}


def overlap_counts(results: Mapping[str, SegmentResult]) -> pd.DataFrame:
    """Customers in both segments, for every pair (the diagonal is each segment's size)."""
    names = list(results)
    masks = np.stack([results[n].mask for n in names]) if names else np.zeros((0, 0), bool)
    m = masks.astype(np.int32)
    counts = m @ m.T if names else np.zeros((0, 0), dtype=np.int64)
    return pd.DataFrame(counts, index=pd.Index(names, name="segment"), columns=names)


def compare_segments(frame: pd.DataFrame | SegmentFrame, results: Mapping[str, SegmentResult]) -> pd.DataFrame:
    """Size, share, average order value, spend and historic read/reply rate per segment.

    Average order value is order-weighted (spend / orders); read and reply rates are the
    customers' mean historic rates, ignoring customers we never reached.
    """
    sf = segment_frame(frame)
    spend = sf.numbers("total_spend")
    orders = sf.numbers("order_count")
    read = sf.numbers("read_rate")
    reply = sf.numbers("reply_rate")
    rows = []
    for name, result in results.items():
        m = result.mask
        n_orders = np.nansum(orders[m])
        total = float(np.nansum(spend[m]))
        rows.append(
            {
                "segment": name,
                "customers": int(m.sum()),
                "share": m.sum() / len(sf) if len(sf) else 0.0,
                "avg_order_value": total / n_orders if n_orders else np.nan,
                "total_spend": total,
                "spend_per_customer": total / m.sum() if m.sum() else np.nan,
                "read_rate": _mean(read[m]),
                "reply_rate": _mean(reply[m]),
            }
        )
    columns = [
        "segment",
        "customers",
        "share",
        "avg_order_value",
        "total_spend",
        "spend_per_customer",
        "read_rate",
        "reply_rate",
    ]
    return pd.DataFrame(rows, columns=columns).set_index("segment")


def _mean(values: np.ndarray) -> float:
    values = values[~np.isnan(values)]
    return float(values.mean()) if len(values) else np.nan
