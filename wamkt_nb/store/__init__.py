"""One SQLite database (WAL) for campaigns, the send ledger, statuses, inbound messages and consent."""

from .db import Store, StoreError, open_store

CONVERSION_COLUMNS = ("order_id", "customer_id", "phone", "at", "amount", "currency", "source")
"""The columns of the ``conversions`` table (orders attributed to messages), in the order its
writers (the sandbox, order imports) and its readers (analytics) use."""

__all__ = ["CONVERSION_COLUMNS", "Store", "StoreError", "open_store"]
