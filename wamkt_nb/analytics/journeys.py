"""The journey funnel: sent, delivered, read, clicked, replied and converted per journey step.

A journey's stage 0 is its campaign; each started step is a child campaign (see
:mod:`wamkt_nb.campaigns.journeys`). The per-step funnel is the ordinary funnel of those campaigns'
enriched sends, grouped by journey and step, so a step counts exactly what a campaign counts.
"""

from __future__ import annotations

import pandas as pd

from ..ledger.journeys import step_campaigns
from ..store import Store
from .funnel import funnel

STEP_COLUMNS = ("journey_id", "step", "campaign_id", "delay_hours", "condition")
STEP_FUNNEL_COLUMNS = ("sent", "delivered", "read", "clicked", "replied", "converted")
"""The stages the per-step funnel shows (``sent``: Meta accepted the message)."""
BY = ("journey", "step", "condition", "delay_hours")
RATES = ("read_rate", "click_rate", "reply_rate", "conversion_rate")


def load_journey_steps(store: Store) -> pd.DataFrame:
    """Every journey's stages with a campaign: step 0 (the campaign itself) and each started step."""
    rows = step_campaigns(store)
    journeys = list(dict.fromkeys(r[0] for r in rows))
    frame = pd.DataFrame(
        [(j, 0, j, 0.0, "campaign") for j in journeys] + [(j, s, c, d / 3600.0, w) for j, s, c, d, w in rows],
        columns=list(STEP_COLUMNS),
    )
    return frame.astype({"step": "int64", "delay_hours": "float64"}).sort_values(["journey_id", "step"])


def step_funnel(enriched: pd.DataFrame, steps: pd.DataFrame) -> pd.DataFrame:
    """Per journey and step: the step's condition and delay, its recipients per funnel stage and
    the rates of the campaign funnel; the journey named by its campaign's name."""
    if steps.empty:
        return pd.DataFrame(columns=[*BY, "excluded", *STEP_FUNNEL_COLUMNS, *RATES])
    names = enriched.drop_duplicates("campaign_id").set_index("campaign_id")["campaign_name"]
    rows = enriched.merge(steps, on="campaign_id", how="inner")
    rows["journey"] = rows["journey_id"].map(names).fillna(rows["journey_id"])
    table = funnel(rows, BY)
    table["sent"] = table["accepted"]
    return table[[*BY, "excluded", *STEP_FUNNEL_COLUMNS, *RATES]]
