"""One SQLite database (WAL) for campaigns, the send ledger, statuses, inbound messages and consent."""

from .db import Store, StoreError, open_store

__all__ = ["Store", "StoreError", "open_store"]
