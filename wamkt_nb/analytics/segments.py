"""The segmentation comparison of the WhatsApp marketing guide, 2024 (docs/figures.md), reproduced
from the ledger: read rate, conversion uplift and
marketing cost reduction of each segment against unsegmented sends."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .funnel import funnel
from .load import UNSEGMENTED

GUIDE_SEGMENTATION = pd.DataFrame(
    {
        "segmentation": ["none", "by purchase frequency", "by average order value", "by interaction frequency"],
        "read_rate": [0.45, 0.58, 0.63, 0.72],
        "conversion_uplift": [0.0, 0.22, 0.35, 0.48],
        "cost_reduction": [0.0, 0.15, 0.28, 0.40],
    }
)
"""The WhatsApp marketing guide, 2024 table (average open rate, conversion uplift, marketing cost
reduction vs none); the calibration run reproduces it (docs/figures.md)."""


def segment_comparison(
    enriched: pd.DataFrame,
    baseline: str = UNSEGMENTED,
    category: str | None = "marketing",
) -> pd.DataFrame:
    """Per segment of priced sends (a ``cost`` column, see ``priced_sends``): delivered, read rate,
    conversion rate, cost per conversion, and against the ``baseline`` segment the conversion uplift
    and the cost reduction (both NaN when no baseline was sent). Only ``category`` campaigns count
    (the guide compares marketing sends); None takes all."""
    if category is not None:
        enriched = enriched[enriched["category"] == category]
    table = funnel(enriched, ("segment",))
    table["cost"] = table["segment"].map(enriched.groupby("segment")["cost"].sum()).fillna(0.0).to_numpy()
    table["cost_per_conversion"] = table["cost"] / table["converted"].where(table["converted"] > 0)
    base = table.loc[table["segment"] == baseline]
    base_conv = float(base["conversion_rate"].iat[0]) if len(base) else np.nan
    base_cpc = float(base["cost_per_conversion"].iat[0]) if len(base) else np.nan
    table["conversion_uplift"] = table["conversion_rate"] / base_conv - 1 if base_conv else np.nan
    table["cost_reduction"] = 1 - table["cost_per_conversion"] / base_cpc if base_cpc else np.nan
    table["is_baseline"] = table["segment"] == baseline
    columns = [
        "segment",
        "is_baseline",
        "delivered",
        "read",
        "read_rate",
        "converted",
        "conversion_rate",
        "revenue",
        "cost",
        "cost_per_conversion",
        "conversion_uplift",
        "cost_reduction",
    ]
    return table.sort_values(["is_baseline", "read_rate"], ascending=[False, True])[columns].reset_index(drop=True)
