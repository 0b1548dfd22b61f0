"""What messages cost against the free tier, the revenue they bring (ROI per message), and LTV.

Meta charges per delivered template message by category (see the wire contract's pricing); the
seed's price book: 1,000 free messages a month, then about 0.005-0.01 USD each. Prices are data,
and costs come out in the currency of the prices given (``MetricOptions.report_prices`` converts
the USD price book into the reporting currency that revenue is in).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..campaigns.pricing import PriceBook

FREE_PER_MONTH = PriceBook().free_per_month
DEFAULT_PRICES: Mapping[str, float] = dict(PriceBook().prices)
"""USD per billable message by category, from the dry-run's editable price book."""


def calendar_month(times: pd.Series) -> pd.Series:
    """UTC calendar month of each timestamp as "YYYY-MM" (NaN for NaT); labels built once per month."""
    months = times.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[M]")
    codes, uniques = pd.factorize(months)
    labels = np.datetime_as_string(np.asarray(uniques, dtype="datetime64[M]"))
    return pd.Series(pd.Categorical.from_codes(codes, labels), index=times.index)


def billable(enriched: pd.DataFrame) -> pd.Series:
    """Whether Meta charges the row: the webhook's ``pricing.billable`` when known, else a
    delivered template outside the service category."""
    known = enriched["billable"].astype("float64")
    guessed = (
        (enriched["message_type"].fillna("template") == "template") & (enriched["category"] != "service")
    )
    flag = np.where(known.notna(), known.fillna(0) > 0, guessed)
    return pd.Series(flag, index=enriched.index) & enriched["delivered"]


def message_costs(
    enriched: pd.DataFrame,
    prices: Mapping[str, float] = DEFAULT_PRICES,
    free_per_month: int = FREE_PER_MONTH,
) -> pd.Series:
    """Cost of each row in the prices' currency: billable rows in time order, the first ``free_per_month`` of each
    calendar month free, the rest at their category's price."""
    category = enriched["pricing_category"].fillna(enriched["category"])
    price = category.map(dict(prices)).fillna(max(prices.values(), default=0.0)).astype("float64")
    cost = pd.Series(0.0, index=enriched.index)
    rows = enriched.loc[billable(enriched), ["out_at"]]
    if rows.empty:
        return cost
    rows = rows.sort_values("out_at", kind="stable")
    rank = rows.groupby(calendar_month(rows["out_at"])).cumcount()
    paid = rank.index[rank.to_numpy() >= free_per_month]
    cost.loc[paid] = price.loc[paid]
    return cost


def _cost(enriched: pd.DataFrame, prices: Mapping[str, float], free_per_month: int) -> pd.Series:
    """The ``cost`` column when the caller already priced the rows, else priced now."""
    if "cost" in enriched.columns:
        return enriched["cost"]
    return message_costs(enriched, prices, free_per_month)


def monthly_costs(
    enriched: pd.DataFrame,
    prices: Mapping[str, float] = DEFAULT_PRICES,
    free_per_month: int = FREE_PER_MONTH,
) -> pd.DataFrame:
    """Per calendar month (of rows priced by ``message_costs``, or a ``cost`` column): billable messages, how many the free tier covered, paid ones, cost."""
    frame = pd.DataFrame({
        "month": calendar_month(enriched["out_at"]),
        "billable": billable(enriched),
        "cost": _cost(enriched, prices, free_per_month),
    }).dropna(subset=["month"])
    table = frame.groupby("month").agg(billable=("billable", "sum"), cost=("cost", "sum"))
    table["free_tier"] = free_per_month
    table["free_used"] = np.minimum(table["billable"], free_per_month)
    table["paid"] = table["billable"] - table["free_used"]
    return table.reset_index()[["month", "billable", "free_tier", "free_used", "paid", "cost"]]


def roi_per_message(
    enriched: pd.DataFrame,
    by: Sequence[str] = ("campaign_id",),
    prices: Mapping[str, float] = DEFAULT_PRICES,
    free_per_month: int = FREE_PER_MONTH,
) -> pd.DataFrame:
    """Per group: messages delivered, cost, attributed revenue (see ``enrich``'s window), revenue
    and cost per message, and ``roi`` = revenue / cost (NaN while the free tier covers all)."""
    frame = enriched.assign(cost=_cost(enriched, prices, free_per_month))
    table = frame.groupby(list(by), dropna=False).agg(
        delivered=("delivered", "sum"), orders=("orders", "sum"),
        revenue=("revenue", "sum"), cost=("cost", "sum"),
    )
    messages = table["delivered"].where(table["delivered"] > 0)
    table["revenue_per_message"] = table["revenue"] / messages
    table["cost_per_message"] = table["cost"] / messages
    table["roi"] = table["revenue"] / table["cost"].where(table["cost"] > 0)
    return table.reset_index()


def ltv_monthly(
    orders: pd.DataFrame,
    reached: pd.Series,
    customer_ids: pd.Series | None = None,
) -> pd.DataFrame:
    """Monthly revenue per customer and cumulative LTV for customers WhatsApp reached vs the rest.

    ``orders`` has ``customer_id``, ``at`` (UTC) and ``amount``; ``reached`` the ids of customers
    with a delivered message; ``customer_ids`` the whole base (default: everyone who ordered).
    ``ltv_change`` is the month-over-month change of cumulative LTV per customer; ``uplift`` the
    reached group's revenue per customer over the rest's, minus 1.
    """
    frame = orders.loc[orders["at"].notna(), ["customer_id", "at", "amount"]]
    codes, uniques = pd.factorize(frame["customer_id"])  # membership tests on distinct ids only
    def id_index(values: object) -> pd.Index:  # plain objects: Arrow-string isin is a Python loop
        return pd.Index(pd.Series(values).astype(str).unique(), dtype=object)

    known = id_index(uniques)
    ids = id_index(customer_ids) if customer_ids is not None else known
    reached_ids = id_index(reached)
    is_reached = ids.isin(reached_ids)
    sizes = {"whatsapp": int(is_reached.sum()), "rest": int((~is_reached).sum())}
    in_base = known.isin(ids)[codes]
    month = calendar_month(frame["at"]).cat
    sums = pd.Series(frame["amount"].to_numpy(dtype=float)[in_base]).groupby(
        [month.codes.to_numpy()[in_base], known.isin(reached_ids)[codes[in_base]]]
    ).sum()
    table = sums.unstack().reindex(columns=[True, False]).fillna(0.0)
    table.columns = ["whatsapp", "rest"]
    table.index = month.categories[table.index]
    table = table.sort_index()
    rows = []
    for group in ("whatsapp", "rest"):
        n = sizes[group]
        per_customer = table[group] / n if n else table[group] * np.nan
        ltv = per_customer.cumsum()
        rows.append(pd.DataFrame({
            "month": table.index, "group": group, "customers": n, "revenue": table[group].to_numpy(),
            "revenue_per_customer": per_customer.to_numpy(), "ltv": ltv.to_numpy(),
            "ltv_change": ltv.pct_change().to_numpy(),
        }))
    out = pd.concat(rows, ignore_index=True)
    rest = out[out["group"] == "rest"].set_index("month")["revenue_per_customer"]
    out["uplift"] = np.where(
        out["group"] == "whatsapp", out["revenue_per_customer"] / out["month"].map(rest) - 1, np.nan
    )
    return out
