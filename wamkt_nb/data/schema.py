"""The column contract of customer data, shared by loaders, sample data, features and segments.

customers:    customer_id (str), name, first_name, last_name, phone (E.164 '+49...'), email,
              language ('de', 'en', ...), timezone (IANA), country (ISO 3166 alpha-2), city,
              opted_in (bool), opt_in_at, signup_at (UTC timestamps)
orders:       order_id (str), customer_id (str), ordered_at (UTC), amount (float), currency
interactions: customer_id (str), at (UTC), kind (one of INTERACTION_KINDS)
conversions:  order_id, customer_id, phone, at, amount, currency, source: the store's orders attributed
              to messages (the sandbox writes them, analytics reads them)

A customer has a phone, a business-scoped user ID or both: ``phone`` may be missing when the
optional ``bsuid`` column (``US.13491208655302741918``) is set; ``bsuid`` and ``username`` (the
customer's WhatsApp username, personal data) are present only when the source has them.

Timestamps are tz-aware ``datetime64[ns, UTC]`` in DataFrames and epoch seconds in the store.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

CUSTOMER_COLUMNS = (
    "customer_id",
    "name",
    "first_name",
    "last_name",
    "phone",
    "email",
    "language",
    "timezone",
    "country",
    "city",
    "opted_in",
    "opt_in_at",
    "signup_at",
)
ORDER_COLUMNS = ("order_id", "customer_id", "ordered_at", "amount", "currency")
INTERACTION_COLUMNS = ("customer_id", "at", "kind")
INTERACTION_KINDS = ("inbound", "read", "click", "reply")
CONVERSION_COLUMNS = ("order_id", "customer_id", "phone", "at", "amount", "currency", "source")


@dataclass
class CustomerData:
    """Customers with their purchase and interaction history."""

    customers: pd.DataFrame
    orders: pd.DataFrame
    interactions: pd.DataFrame

    def __repr__(self) -> str:
        return (
            f"CustomerData({len(self.customers):,} customers, {len(self.orders):,} orders, "
            f"{len(self.interactions):,} interactions)"
        )
