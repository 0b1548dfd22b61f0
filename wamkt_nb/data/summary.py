"""Headline figures of customer data and of a load, for widgets, dashboards and the CLI."""

from __future__ import annotations

import pandas as pd

from .schema import CustomerData


def data_summary(data: CustomerData, top_countries: int = 6) -> dict[str, object]:
    """Customers, opt-in share, countries, orders, revenue and interactions in one dict."""
    customers, orders = data.customers, data.orders
    opted = int(customers["opted_in"].fillna(False).astype(bool).sum()) if len(customers) else 0
    countries = customers["country"].fillna("?").value_counts().head(top_countries)
    return {
        "customers": len(customers),
        "opted_in": opted,
        "opted_in_share": opted / len(customers) if len(customers) else 0.0,
        "countries": {str(k): int(v) for k, v in countries.items()},
        "orders": len(orders),
        "revenue": float(orders["amount"].sum()) if len(orders) else 0.0,
        "currency": str(orders["currency"].mode().iat[0]) if len(orders) else "",
        "interactions": len(data.interactions),
        "first_order": orders["ordered_at"].min() if len(orders) else pd.NaT,
        "last_order": orders["ordered_at"].max() if len(orders) else pd.NaT,
    }
