"""What messages cost, the revenue they bring (ROI per message), and LTV.

Every cost comes from :func:`wamkt_nb.pricing.message_costs` with the rate card of the
``MetricOptions`` (Meta's per-message card by default, see docs/pricing.md), in the reporting currency.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..currency import ExchangeRates
from ..pricing import RateCard, message_costs


def calendar_month(times: pd.Series) -> pd.Series:
    """UTC calendar month of each timestamp as "YYYY-MM" (NaN for NaT); labels built once per month."""
    months = times.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[M]")
    codes, uniques = pd.factorize(months)
    labels = np.datetime_as_string(np.asarray(uniques, dtype="datetime64[M]"))
    return pd.Series(pd.Categorical.from_codes(codes, labels), index=times.index)


def send_costs(enriched: pd.DataFrame, card: RateCard, rates: ExchangeRates) -> pd.Series:
    """Cost of each send in ``rates.currency`` under ``card``: delivered templates only, free where the
    status webhook said Meta does not charge (``billable`` 0, e.g. a utility template inside a customer
    service window) or the message went out in a free entry point window (``pricing_category``
    referral_conversion)."""
    pricing = enriched["pricing_category"].astype(object)
    at = enriched["delivered_at"].fillna(enriched["read_at"]).fillna(enriched["out_at"])
    return message_costs(
        pd.DataFrame(
            {
                "phone": enriched["phone"],
                "category": enriched["category"],
                "message_type": enriched["message_type"],
                "at": at,
                "delivered": enriched["delivered"],
                "billable": enriched["billable"],
                "free_entry_point": pricing == "referral_conversion",
            },
            index=enriched.index,
        ),
        card,
        rates,
    )


def monthly_costs(enriched: pd.DataFrame) -> pd.DataFrame:
    """Per calendar month of priced sends (a ``cost`` column): delivered template messages, how many
    were charged and how many free (service window, free entry point, free allowance), and the cost."""
    template = enriched["message_type"].fillna("template") == "template"
    frame = pd.DataFrame(
        {
            "month": calendar_month(enriched["out_at"]),
            "templates": enriched["delivered"] & template,
            "charged": enriched["cost"] > 0,
            "cost": enriched["cost"],
        }
    ).dropna(subset=["month"])
    table = frame.groupby("month", observed=True).agg(
        delivered_templates=("templates", "sum"), charged=("charged", "sum"), cost=("cost", "sum")
    )
    table["free"] = table["delivered_templates"] - table["charged"]
    return table.reset_index()[["month", "delivered_templates", "charged", "free", "cost"]]


def roi_per_message(enriched: pd.DataFrame, by: Sequence[str] = ("campaign_id",)) -> pd.DataFrame:
    """Per group of priced sends: messages delivered, cost, attributed revenue (see ``enrich``'s
    window), revenue and cost per message, and ``roi`` = revenue / cost (NaN when nothing was charged)."""
    table = enriched.groupby(list(by), dropna=False).agg(
        delivered=("delivered", "sum"),
        orders=("orders", "sum"),
        revenue=("revenue", "sum"),
        cost=("cost", "sum"),
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
    sums = (
        pd.Series(frame["amount"].to_numpy(dtype=float)[in_base])
        .groupby([month.codes.to_numpy()[in_base], known.isin(reached_ids)[codes[in_base]]])
        .sum()
    )
    table = sums.unstack().reindex(columns=[True, False]).fillna(0.0)
    table.columns = ["whatsapp", "rest"]
    table.index = month.categories[table.index]
    table = table.sort_index()
    rows = []
    for group in ("whatsapp", "rest"):
        n = sizes[group]
        per_customer = table[group] / n if n else table[group] * np.nan
        ltv = per_customer.cumsum()
        rows.append(
            pd.DataFrame(
                {
                    "month": table.index,
                    "group": group,
                    "customers": n,
                    "revenue": table[group].to_numpy(),
                    "revenue_per_customer": per_customer.to_numpy(),
                    "ltv": ltv.to_numpy(),
                    "ltv_change": ltv.pct_change().to_numpy(),
                }
            )
        )
    out = pd.concat(rows, ignore_index=True)
    rest = out[out["group"] == "rest"].set_index("month")["revenue_per_customer"]
    out["uplift"] = np.where(
        out["group"] == "whatsapp", out["revenue_per_customer"] / out["month"].map(rest) - 1, np.nan
    )
    return out
