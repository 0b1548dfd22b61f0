"""When customers answer: reply-time decay, the hour x weekday activity heatmap, best send hours,
and the read rate by local send hour.

Reply delays are counted from the moment the customer READ the message (its ``read`` status;
delivery when no read receipt came): the WhatsApp marketing guide, 2024 says 65 % of replies come
within 3 minutes and 12 % after 30 minutes, which only holds from the customer's first look at
the message, since many read it hours after delivery (see docs/figures.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
DECAY_EDGES_MIN = (0, 3, 5, 10, 30, 60, 180, 720, 1440)
"""Minute bins for reply-time decay (3 and 30 are the guide's marks, see docs/figures.md)."""
DECAY_TITLE = (
    "Replies by minutes after the customer read the message "
    "(WhatsApp marketing guide, 2024: 65 % within 3 min, 12 % after 30 min)"
)
"""The title of the reply-time table and chart: says from which moment the minutes count."""
PEAK_HOURS = (10, 11, 20, 21)
"""Local hours of the activity peaks 10-12 h and 20-22 h (WhatsApp marketing guide, 2024)."""
PEAK_TITLE = (
    "Read rate by local send hour (WhatsApp marketing guide, 2024: 10-12 h and 20-22 h read 20-25 % above average)"
)


def reply_delay_minutes(enriched: pd.DataFrame) -> pd.Series:
    """Minutes from the customer reading the message (delivery, then send, when no read came) to
    the first reply; NaN for rows without a reply."""
    seen = enriched["read_at"].fillna(enriched["delivered_at"]).fillna(enriched["out_at"])
    return (enriched["first_reply_at"] - seen).dt.total_seconds() / 60.0


def reply_time_decay(enriched: pd.DataFrame, edges: Sequence[float] = DECAY_EDGES_MIN) -> pd.DataFrame:
    """Share of replies by minutes since the message was read (bins from ``edges``) and the cumulative share."""
    minutes = reply_delay_minutes(enriched.loc[enriched["replied"]]).clip(lower=0)
    edges = list(edges)
    labels = [f"{a:g}-{b:g} min" for a, b in zip(edges[:-1], edges[1:], strict=True)]
    bins = pd.cut(minutes, edges, labels=labels, right=False, include_lowest=True)
    counts = bins.value_counts(sort=False).reindex(labels, fill_value=0).astype("int64")
    total = int(counts.sum())
    return pd.DataFrame(
        {
            "bin": labels,
            "start_min": edges[:-1],
            "end_min": edges[1:],
            "replies": counts.to_numpy(),
            "share": counts.to_numpy() / (total or np.nan),
            "cumulative_share": counts.cumsum().to_numpy() / (total or np.nan),
        }
    )


def reply_share_within(enriched: pd.DataFrame, minutes: float) -> float:
    """Share of replies that came within ``minutes`` of the message being read (NaN without replies)."""
    rm = reply_delay_minutes(enriched.loc[enriched["replied"]])
    return float((rm < minutes).mean()) if len(rm) else float("nan")


def read_rate_by_hour(
    enriched: pd.DataFrame, timezones: pd.Series | None = None, peak_hours: Sequence[int] = PEAK_HOURS
) -> pd.DataFrame:
    """Per local hour of delivery (of sending when no delivery came): delivered, read, read rate,
    its ``read_uplift`` over the read rate of all these messages (0.20 = 20 % above average) and whether the
    hour is a peak hour. Only delivered messages count, as in every read rate."""
    rows = enriched.loc[enriched["delivered"]]
    hour = local_hour(rows["delivered_at"].fillna(rows["out_at"]), rows["customer_id"], timezones)
    table = (
        rows.groupby(hour)["read"]
        .agg(["size", "sum"])
        .rename(columns={"size": "delivered", "sum": "read"})
        .astype("int64")
    )
    table.index = pd.Index(table.index.astype("int64"), name="hour")
    average = table["read"].sum() / table["delivered"].sum() if len(table) else np.nan
    table["read_rate"] = table["read"] / table["delivered"]
    table["read_uplift"] = table["read_rate"] / average - 1
    table["peak"] = table.index.isin(list(peak_hours))
    return table.reset_index()


def local_hour(times: pd.Series, customer_ids: pd.Series, timezones: pd.Series | None) -> np.ndarray:
    """Local wall-clock hour (float, NaN for NaT) of each UTC time in its customer's zone (UTC where
    unknown); one conversion per zone over integer codes, so a million rows take well under a second."""
    index = pd.DatetimeIndex(times)
    if timezones is None or not len(index):
        return index.tz_convert("UTC").hour.to_numpy(dtype="float64")
    codes, ids = pd.factorize(customer_ids.astype(str))
    zone_codes, zones = pd.factorize(pd.Series(ids).map(timezones).fillna("UTC").astype(str))
    per_row = zone_codes[codes]
    out = np.full(len(index), np.nan)
    for k, name in enumerate(zones):
        rows = per_row == k
        try:
            out[rows] = index[rows].tz_convert(name).hour
        except Exception:  # an unknown zone name: UTC rather than fail the table
            out[rows] = index[rows].tz_convert("UTC").hour
    return out


def peak_read_lift(
    enriched: pd.DataFrame | None = None,
    timezones: pd.Series | None = None,
    peak_hours: Sequence[int] = PEAK_HOURS,
    *,
    by_hour: pd.DataFrame | None = None,
) -> float:
    """Read rate of messages delivered in the peak hours over the read rate of all of them, minus 1
    (from ``by_hour``, a ``read_rate_by_hour`` table, when the caller has it already)."""
    table = by_hour if by_hour is not None else read_rate_by_hour(enriched, timezones, peak_hours)
    peak = table[table["peak"]]
    if peak.empty or not table["delivered"].sum():
        return float("nan")
    return float(peak["read"].sum() / peak["delivered"].sum() / (table["read"].sum() / table["delivered"].sum()) - 1)


def local_time(times: pd.Series, customer_ids: pd.Series, timezones: pd.Series | None) -> pd.Series:
    """``times`` (UTC) as naive local wall time of each customer; UTC where the zone is unknown.

    ``timezones`` maps customer_id -> IANA zone; conversion runs once per zone, not per row.
    """
    if timezones is None or times.empty:
        return times.dt.tz_convert("UTC").dt.tz_localize(None)
    zones = customer_ids.map(timezones).fillna("UTC").astype(str)
    out = pd.Series(pd.NaT, index=times.index, dtype="datetime64[ns]")
    for zone, idx in zones.groupby(zones).groups.items():
        try:
            out.loc[idx] = times.loc[idx].dt.tz_convert(zone).dt.tz_localize(None).to_numpy()
        except Exception:  # an unknown zone name: keep UTC rather than fail the whole chart
            out.loc[idx] = times.loc[idx].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
    return out


def activity_events(
    enriched: pd.DataFrame,
    timezones: pd.Series | None = None,
    by: str = "segment",
    history: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per read and per reply (``by`` column, customer, local ``at``), plus the recorded
    interactions (``history``: customer_id, at) of the customers in ``enriched``, each counted for
    every ``by`` group the customer was messaged in."""
    frames = []
    for col in ("read_at", "first_reply_at"):
        rows = enriched.loc[enriched[col].notna(), [by, "customer_id", col]]
        frames.append((rows[by], rows["customer_id"], rows[col]))
    if history is not None and len(history):
        pairs = enriched[[by, "customer_id"]].astype({"customer_id": str}).drop_duplicates()
        past = history.loc[history["at"].notna(), ["customer_id", "at"]].astype({"customer_id": str})
        past = past.merge(pairs, on="customer_id")
        frames.append((past[by], past["customer_id"], past["at"]))
    parts = [  # Series, not arrays: no conversion of a million ids when the zone is not needed
        pd.DataFrame(
            {
                by: group.reset_index(drop=True),
                "customer_id": who.reset_index(drop=True),
                "at": local_time(at, who, timezones).reset_index(drop=True),
            }
        )
        for group, who, at in frames
    ]
    events = pd.concat(parts, ignore_index=True)
    events["at"] = pd.to_datetime(events["at"])
    return events


def activity_heatmap(
    enriched: pd.DataFrame, timezones: pd.Series | None = None, history: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Reads + replies (+ ``history`` interactions) by local weekday (rows Mon..Sun) and hour (0..23)."""
    columns = enriched[["customer_id", "read_at", "first_reply_at"]].assign(everyone="")
    events = activity_events(columns, timezones, "everyone", history)  # each interaction counted once
    grid = pd.crosstab(events["at"].dt.day_of_week, events["at"].dt.hour)
    grid = grid.reindex(index=range(7), columns=range(24), fill_value=0).astype("int64")
    grid.index = pd.Index(WEEKDAYS, name="weekday")
    grid.columns = pd.Index(range(24), name="hour")
    return grid


def best_send_hours(
    enriched: pd.DataFrame,
    by: str = "segment",
    top: int = 3,
    timezones: pd.Series | None = None,
    history: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Per group the ``top`` local hours with the most reads and replies (and ``history``
    interactions of its customers), with their share of the group's activity and the lift over an
    average hour (1.0 = average)."""
    events = activity_events(enriched, timezones, by, history)
    events["hour"] = events["at"].dt.hour
    counts = events.groupby([by, "hour"]).size().rename("events").reset_index()
    totals = counts.groupby(by)["events"].transform("sum")
    counts["share"] = counts["events"] / totals
    counts["lift"] = counts["share"] * 24
    counts = counts.sort_values([by, "events", "hour"], ascending=[True, False, True])
    counts["rank"] = counts.groupby(by).cumcount() + 1
    return counts[counts["rank"] <= top].reset_index(drop=True)[[by, "rank", "hour", "events", "share", "lift"]]
