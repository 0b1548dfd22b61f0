"""The runner's queue of rows waiting for their time, earliest first, and which of the due rows the
pair rate and the numbers' tokens let out now."""

from __future__ import annotations

import heapq
import itertools

from .. import ledger
from .pacing import NumberPacer, NumberPool, PairLimiter
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

    def take(
        self, now: float, mono: float, room: int, pool: NumberPool, pair: PairLimiter
    ) -> tuple[list[tuple[ledger.SendRow, NumberPacer | None]], float]:
        """Up to ``room`` rows due at ``now``, each with the token of the number it is pinned to
        (None for a holdout member: nothing is sent, so no pair slot and no token); a row whose
        recipient is within the pair interval goes back for later, a row whose number has no token
        waits its turn while the other numbers' rows go on. Also how long until a number that ran
        out has a token (``mono`` is the pacing clock)."""
        taken: list[tuple[ledger.SendRow, NumberPacer | None]] = []
        waiting: list[tuple[float, int, ledger.SendRow]] = []
        out_of_tokens: dict[str | None, float] = {}
        while self._heap and self._heap[0][0] <= now and len(taken) < room and not _all_out(out_of_tokens, pool):
            row = self._heap[0][2]
            if row.holdout:
                heapq.heappop(self._heap)
                taken.append((row, None))
                continue
            if row.phone_number_id in out_of_tokens:
                waiting.append(heapq.heappop(self._heap))
                continue
            pair_wait = pair.wait_time(row.phone, mono)
            if pair_wait > 0:
                heapq.heappop(self._heap)
                self.push(row, now + pair_wait)
                continue
            pacer, wait = pool.take(row.phone_number_id, mono)
            if pacer is None:
                out_of_tokens[row.phone_number_id] = wait
                continue
            heapq.heappop(self._heap)
            taken.append((row, pacer))
        for entry in waiting:
            heapq.heappush(self._heap, entry)
        return taken, min(out_of_tokens.values(), default=0.0)


def _all_out(out_of_tokens: dict[str | None, float], pool: NumberPool) -> bool:
    """Every number is out of tokens (None: rows not pinned found none in any number)."""
    return None in out_of_tokens or len(out_of_tokens) >= pool.size
