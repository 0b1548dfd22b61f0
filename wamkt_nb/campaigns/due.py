"""The runner's queue of rows waiting for their time, earliest first."""

from __future__ import annotations

import heapq
import itertools

from . import ledger
from .template_status import template_of


class DueQueue:
    """Rows by the time they are due (ties in the order they came); remembers the templates the
    queued rows send, so the run can watch their status."""

    def __init__(self) -> None:
        # (due, sequence, row): plain tuples, so the heap compares in C, not through Python methods
        self._heap: list[tuple[float, int, ledger.SendRow]] = []
        self._seq = itertools.count()
        self.templates: set[tuple[str, str]] = set()

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, row: ledger.SendRow, due: float) -> None:
        template = template_of(row.payload) if row.payload else None
        if template is not None:
            self.templates.add(template)
        heapq.heappush(self._heap, (due, next(self._seq), row))

    @property
    def next_due(self) -> float:
        """When the earliest row is due (the queue must not be empty)."""
        return self._heap[0][0]

    def peek(self) -> ledger.SendRow:
        return self._heap[0][2]

    def pop(self) -> ledger.SendRow:
        return heapq.heappop(self._heap)[2]
