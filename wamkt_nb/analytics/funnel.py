"""The per-recipient funnel: which stage each ledger row reached, replies and orders attributed to it.

``enrich`` adds one boolean column per stage (a later stage implies the earlier ones, because a
``read`` webhook may arrive without ``delivered``), whether a person clicked one of its tracked
links, the first reply within the reply window and the revenue of orders attributed to the message
(last touch within the attribution window).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..cloudapi.errors import error_class, error_meaning
from ..ledger.states import AT_LEAST, HELD_BY_META, HELD_LABEL, NOT_ATTEMPTED_STATES

STAGES = ("attempted", "accepted", "sent", "delivered", "read", "clicked", "replied", "converted")
EMAIL_READ_RATE = 0.20
"""The e-mail open rate of the WhatsApp marketing guide, 2024, the baseline a WhatsApp read rate is compared with."""
REPLY_WARNING_RATE = 0.05
"""Under 5 % replies within 24 h Meta sees spam and lowers the sender's priority (WhatsApp marketing guide, 2024)."""


def enrich(
    sends: pd.DataFrame,
    inbound: pd.DataFrame,
    conversions: pd.DataFrame,
    reply_window: pd.Timedelta = pd.Timedelta(hours=24),
    attribution_window: pd.Timedelta = pd.Timedelta(days=7),
    clicks: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Sends with stage flags, ``out_at``, ``clicks``, ``first_click_at``, ``first_reply_at``,
    ``reply_minutes``, ``revenue``.

    ``clicks`` are people's clicks of tracked links per send (``analytics.load.load_clicks``);
    ``clicked`` is set from them alone (a reader with read receipts off can click unread).

    A reply is the first inbound message from the recipient's phone after the message went out and
    before the next message to that phone, within ``reply_window``. An order counts for the latest
    delivered message to that customer before it, within ``attribution_window``.
    """
    out = sends.copy()
    state = out["state"]
    out["attempted"] = ~state.isin(NOT_ATTEMPTED_STATES).to_numpy()
    reached = pd.Series(False, index=out.index)
    for stage in ("read", "delivered", "sent", "accepted"):  # a later stage implies the earlier ones
        reached = reached | state.isin(AT_LEAST[stage]) | out[f"{stage}_at"].notna()
        out[stage] = reached.to_numpy()
    # 131049 is Meta holding a marketing message back (per-user limit), not a failure of ours.
    held = (state == "failed") & (pd.to_numeric(out["error_code"], errors="coerce") == HELD_BY_META)
    out["held"] = held.to_numpy()
    out["failed"] = ((state == "failed") & ~held).to_numpy()
    out["excluded"] = (state == "excluded").to_numpy()
    # the first known time a message went out; one unit for all four, so the fills never mix units
    times = [
        pd.to_datetime(out[c], utc=True).astype("datetime64[ns, UTC]")
        for c in ("sent_at", "accepted_at", "delivered_at", "read_at")
    ]
    out["out_at"] = times[0].fillna(times[1]).fillna(times[2]).fillna(times[3])
    _attach_clicks(out, clicks)
    _attach_replies(out, inbound, reply_window)
    _attach_revenue(out, conversions, attribution_window)
    return out


def _shared_codes(a: pd.Series, b: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes for two key columns over one vocabulary (merging on ints is much faster)."""
    dtype = a.dtype if len(a) >= len(b) else b.dtype  # the big side's: Arrow strings factorize natively
    both = pd.concat([a.astype(dtype), b.astype(dtype)], ignore_index=True)
    codes, _ = pd.factorize(both)
    return codes[: len(a)], codes[len(a) :]


def _attach_clicks(out: pd.DataFrame, clicks: pd.DataFrame | None) -> None:
    out["clicks"] = 0
    out["first_click_at"] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns, UTC]")
    if clicks is not None and len(clicks) and len(out):
        per_send = pd.MultiIndex.from_arrays([clicks["campaign_id"].astype(str), clicks["customer_id"].astype(str)])
        pos = per_send.get_indexer(
            pd.MultiIndex.from_arrays([out["campaign_id"].astype(str), out["customer_id"].astype(str)])
        )
        hit = pos >= 0
        out.loc[hit, "clicks"] = clicks["clicks"].to_numpy(dtype="int64")[pos[hit]]
        out.loc[hit, "first_click_at"] = pd.to_datetime(clicks["first_click_at"], utc=True).to_numpy()[pos[hit]]
    out["clicked"] = (out["clicks"] > 0).to_numpy()


def _attach_replies(out: pd.DataFrame, inbound: pd.DataFrame, window: pd.Timedelta) -> None:
    out["first_reply_at"] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns, UTC]")
    reached = out.loc[out["accepted"] & out["out_at"].notna(), ["phone", "out_at"]]
    if len(reached) and len(inbound):
        left = inbound.loc[inbound["timestamp"].notna(), ["phone", "timestamp"]]
        left = left.astype({"timestamp": reached["out_at"].dtype})
        right = reached.rename_axis("row").reset_index()
        left["phone"], right["phone"] = _shared_codes(left["phone"], right["phone"])
        left, right = left.sort_values("timestamp"), right.sort_values("out_at")
        hits = pd.merge_asof(
            left,
            right,
            left_on="timestamp",
            right_on="out_at",
            by="phone",
            direction="backward",
            tolerance=window,
        ).dropna(subset=["row"])
        first = hits.groupby("row")["timestamp"].min()
        out.loc[first.index.astype(out.index.dtype), "first_reply_at"] = first.to_numpy()
    start = out["delivered_at"].fillna(out["out_at"])
    out["reply_minutes"] = (out["first_reply_at"] - start).dt.total_seconds() / 60.0
    out["replied"] = out["first_reply_at"].notna().to_numpy()


def _attach_revenue(out: pd.DataFrame, conversions: pd.DataFrame, window: pd.Timedelta) -> None:
    out["revenue"] = 0.0
    out["orders"] = 0
    touched = out.loc[out["delivered"] & out["out_at"].notna(), ["customer_id", "out_at"]]
    if len(touched) and len(conversions):
        orders = conversions.loc[conversions["at"].notna(), ["customer_id", "at", "amount"]]
        orders = orders.astype({"at": touched["out_at"].dtype})
        right = touched.rename_axis("row").reset_index()
        orders["customer_id"], right["customer_id"] = _shared_codes(
            orders["customer_id"].astype(str), right["customer_id"].astype(str)
        )
        orders, right = orders.sort_values("at"), right.sort_values("out_at")
        hits = pd.merge_asof(
            orders,
            right,
            left_on="at",
            right_on="out_at",
            by="customer_id",
            direction="backward",
            tolerance=window,
        ).dropna(subset=["row"])
        per_row = hits.groupby("row")["amount"].agg(["sum", "count"])
        idx = per_row.index.astype(out.index.dtype)
        out.loc[idx, "revenue"] = per_row["sum"].to_numpy(dtype=float)
        out.loc[idx, "orders"] = per_row["count"].to_numpy(dtype=int)
    out["converted"] = (out["orders"] > 0).to_numpy()


def funnel(enriched: pd.DataFrame, by: Sequence[str] = ("campaign_id",)) -> pd.DataFrame:
    """Counts per stage per group of enriched rows, with the rates of :func:`with_rates`."""
    by = list(by)
    counts = enriched.groupby(by, dropna=False, sort=True)[list(STAGES) + ["failed", "held", "excluded"]].sum()
    counts = counts.astype("int64")
    counts["revenue"] = enriched.groupby(by, dropna=False, sort=True)["revenue"].sum()
    return with_rates(counts.reset_index())


def with_rates(counts: pd.DataFrame) -> pd.DataFrame:
    """Stage counts (and revenue) per group with their rates: accept/delivery of attempted,
    read/click/reply/conversion of delivered, clicks of read (``click_to_read_rate``), and the read
    rate against the e-mail baseline of 20 %. ``click_rate`` is the click-through rate: sends
    clicked of delivered."""
    counts = counts.copy()
    delivered = counts["delivered"].where(counts["delivered"] > 0)
    attempted = counts["attempted"].where(counts["attempted"] > 0)
    counts["accept_rate"] = counts["accepted"] / attempted
    counts["delivery_rate"] = counts["delivered"] / attempted
    counts["read_rate"] = counts["read"] / delivered
    counts["click_rate"] = counts["clicked"] / delivered
    counts["click_to_read_rate"] = counts["clicked"] / counts["read"].where(counts["read"] > 0)
    counts["reply_rate"] = counts["replied"] / delivered
    counts["conversion_rate"] = counts["converted"] / delivered
    counts["read_vs_email"] = counts["read_rate"] / EMAIL_READ_RATE
    return counts


def funnel_stages(enriched: pd.DataFrame) -> pd.DataFrame:
    """The funnel of all given rows as one column of counts (stage, count, share of attempted)."""
    return stage_column(enriched[list(STAGES)].sum())


def stage_column(totals: pd.Series) -> pd.DataFrame:
    """Totals of every stage (indexed by stage) as the funnel's column: stage, count, share of attempted."""
    counts = totals.reindex(list(STAGES)).fillna(0).astype("int64")
    base = counts["attempted"] or np.nan
    return pd.DataFrame({"stage": list(STAGES), "count": counts.to_numpy(), "share": counts.to_numpy() / base})


def reply_health(
    enriched: pd.DataFrame,
    by: Sequence[str] = ("campaign_id",),
    threshold: float = REPLY_WARNING_RATE,
    min_delivered: int = 20,
) -> pd.DataFrame:
    """Reply rate within the reply window per group; ``warning`` where it is under ``threshold``
    (Meta treats that as spam) and at least ``min_delivered`` messages make the rate meaningful."""
    table = funnel(enriched, by)[list(by) + ["delivered", "replied", "reply_rate"]]
    table["warning"] = (table["reply_rate"] < threshold) & (table["delivered"] >= min_delivered)
    table["message"] = np.where(
        table["warning"],
        f"reply rate under {threshold:.0%} in 24 h: Meta may treat it as spam; add a clear call to action",
        "",
    )
    return table


def failures(enriched: pd.DataFrame, by: Sequence[str] = ()) -> pd.DataFrame:
    """Failed rows by Meta error code (and ``by``), as :func:`failure_table` lays them out."""
    by = list(by)
    failed = enriched.loc[enriched["failed"] | enriched["held"]]
    codes = failed["error_code"].astype("float64").fillna(-1).astype("int64")
    counts = failed.assign(error_code=codes).groupby(by + ["error_code", "held"]).size().rename("count").reset_index()
    attempted = enriched.groupby(by)["attempted"].sum() if by else int(enriched["attempted"].sum())
    return failure_table(counts, attempted, by)


def failure_table(counts: pd.DataFrame, attempted: pd.Series | int, by: Sequence[str] = ()) -> pd.DataFrame:
    """Failure counts (``by``, ``error_code`` (-1: none recorded), ``held``, ``count``) as the
    failures table: count, share of failures and of attempts (``attempted``: per group of ``by``,
    or the total), Meta's meaning and whether a retry can succeed; ``outcome`` is "failed".
    Messages Meta held back (131049) follow as their own rows with ``outcome`` "held by Meta",
    outside the failure shares."""
    by = list(by)
    held = counts["held"].astype(bool)
    table = _by_code(counts.loc[~held], attempted, by).assign(outcome="failed")
    kept = _by_code(counts.loc[held], attempted, by).assign(outcome=HELD_LABEL, share_of_failed=np.nan)
    return pd.concat([table, kept], ignore_index=True) if len(kept) else table


def _by_code(counts: pd.DataFrame, attempted: pd.Series | int, by: list[str]) -> pd.DataFrame:
    table = counts.groupby(by + ["error_code"])["count"].sum().astype("int64").reset_index()
    if by:
        failed_n = table.groupby(by)["count"].transform("sum")
        per_group = attempted if isinstance(attempted, pd.Series) else pd.Series(dtype="int64")
        table["share_of_attempted"] = table["count"] / table.set_index(by).index.map(per_group).to_numpy()
    else:
        failed_n = table["count"].sum()
        table["share_of_attempted"] = table["count"] / max(int(attempted), 1)
    table["share_of_failed"] = table["count"] / failed_n
    known = table["error_code"] >= 0
    table["meaning"] = [
        error_meaning(c) if k else "no error code recorded" for c, k in zip(table["error_code"], known, strict=True)
    ]
    table["retryable"] = [
        bool(error_class(c).retryable) if k else False for c, k in zip(table["error_code"], known, strict=True)
    ]
    return table.sort_values(by + ["count"], ascending=[True] * len(by) + [False]).reset_index(drop=True)
