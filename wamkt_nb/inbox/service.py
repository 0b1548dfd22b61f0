"""Inbox service levels: first response time, share answered within 5 minutes, red flags.

WhatsApp marketing guide, 2024: answered within 5 minutes -> 91 % satisfaction, 30+ minutes -> 47 %; conversations
unanswered for 2 hours are flagged red.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ANSWER_WITHIN = pd.Timedelta(minutes=5)
RED_AFTER = pd.Timedelta(hours=2)


def conversations(
    inbound: pd.DataFrame,
    responses: pd.DataFrame,
    now: pd.Timestamp,
    red_after: pd.Timedelta = RED_AFTER,
) -> pd.DataFrame:
    """One row per conversation: inbound messages from a phone up to our next response.

    Columns: phone, started_at, messages, first_response_at, first_response_min, answered,
    waiting_min (for open ones, until ``now``), red (open longer than ``red_after``).
    """
    left = inbound.loc[inbound["timestamp"].notna(), ["phone", "timestamp"]].sort_values("timestamp")
    right = responses.loc[responses["at"].notna(), ["phone", "at"]].sort_values("at")
    left["timestamp"] = left["timestamp"].astype("datetime64[ns, UTC]")
    right["at"] = right["at"].astype("datetime64[ns, UTC]")
    right = right.astype({"phone": left["phone"].dtype}) if len(left) else right
    matched = pd.merge_asof(left, right, left_on="timestamp", right_on="at", by="phone", direction="forward")
    matched["at"] = pd.to_datetime(matched["at"], utc=True)
    table = (
        matched.groupby(["phone", "at"], dropna=False, sort=False)
        .agg(started_at=("timestamp", "min"), messages=("timestamp", "size"))
        .reset_index()
        .rename(columns={"at": "first_response_at"})
    )
    now = pd.Timestamp(now)
    now = now.tz_localize("UTC") if now.tzinfo is None else now
    table["answered"] = table["first_response_at"].notna()
    table["first_response_min"] = (table["first_response_at"] - table["started_at"]).dt.total_seconds() / 60
    waiting = (now - table["started_at"]).dt.total_seconds() / 60
    table["waiting_min"] = waiting.where(~table["answered"])
    table["red"] = ~table["answered"] & (waiting > red_after.total_seconds() / 60)
    return table.sort_values("started_at").reset_index(drop=True)[
        ["phone", "started_at", "messages", "first_response_at", "first_response_min", "answered", "waiting_min", "red"]
    ]


def service_summary(table: pd.DataFrame, answer_within: pd.Timedelta = ANSWER_WITHIN) -> pd.DataFrame:
    """One row: conversations, answered, median and p90 first response (min), share answered
    within ``answer_within`` (of all conversations), open ones and red flags."""
    frt = table.loc[table["answered"], "first_response_min"]
    n = len(table)
    limit = answer_within.total_seconds() / 60
    return pd.DataFrame(
        [
            {
                "conversations": n,
                "answered": int(table["answered"].sum()),
                "median_first_response_min": float(frt.median()) if len(frt) else np.nan,
                "p90_first_response_min": float(frt.quantile(0.9)) if len(frt) else np.nan,
                "share_in_time": float((frt <= limit).sum() / n) if n else np.nan,
                "open": int((~table["answered"]).sum()),
                "red_flags": int(table["red"].sum()),
            }
        ]
    )
