"""The ledger's error."""

from __future__ import annotations

from ..errors import WamktError


class LedgerError(WamktError, ValueError):
    """A plan or campaign that cannot be written or run as asked."""
