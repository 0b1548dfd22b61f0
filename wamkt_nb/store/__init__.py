"""The database for campaigns, the send ledger, statuses, inbound messages and consent: one SQLite
file (WAL) by default, or a PostgreSQL server shared by a team (``open_store("postgresql://...")``)."""

from .claim import claim_rows
from .db import DATABASE_ERRORS, INTEGRITY_ERRORS, VALUE_ERRORS, Store, StoreError, is_database_url, open_store

__all__ = [
    "DATABASE_ERRORS",
    "INTEGRITY_ERRORS",
    "VALUE_ERRORS",
    "Store",
    "StoreError",
    "claim_rows",
    "is_database_url",
    "open_store",
]
