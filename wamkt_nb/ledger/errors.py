"""The ledger's error."""

from __future__ import annotations


class LedgerError(ValueError):
    """A plan or campaign that cannot be written or run as asked."""
