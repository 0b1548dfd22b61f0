"""Helpers the benchmarks share."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc): sizes a server independently of the load."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mib(pid: int | str = "self") -> float:
    """A process's peak resident set size (Linux ``VmHWM``; unlike ``ru_maxrss`` it starts afresh at exec)."""
    line = next(s for s in Path(f"/proc/{pid}/status").read_text().splitlines() if s.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


@dataclass(frozen=True)
class Baseline:
    """A baseline's time for all ``rows``: measured on all of them, or extrapolated from ``timed_rows``."""

    wall: float
    cpu: float
    timed_rows: int
    rows: int
    timed_wall: float

    @property
    def in_full(self) -> bool:
        return self.timed_rows >= self.rows

    def note(self, unit: str = "rows") -> str:
        """How the figure was obtained, to print next to it."""
        if self.in_full:
            return f"MEASURED IN FULL on all {self.rows:,} {unit}"
        return (
            f"EXTRAPOLATED linearly x{self.rows / self.timed_rows:.1f}: timed on {self.timed_rows:,} of "
            f"{self.rows:,} {unit} ({self.timed_wall:.1f} s)"
        )


def timed_baseline(run: Callable[[int], object], rows: int, pilot_rows: int, budget: float) -> Baseline:
    """Time ``run(k)`` (the baseline on the first ``k`` rows) on a pilot; then on all rows when the
    pilot's linear estimate fits ``budget`` seconds, else keep the pilot and extrapolate (``budget`` 0: no limit)."""
    k = min(pilot_rows, rows)
    while True:
        t0, c0 = time.perf_counter(), time.process_time()
        run(k)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        estimate = wall * rows / k
        if k == rows or (budget and estimate > budget):
            return Baseline(wall * rows / k, cpu * rows / k, k, rows, wall)
        print(
            f"  baseline pilot: {wall:.1f} s on {k:,} rows -> about {estimate:.0f} s for all {rows:,}: "
            f"running it in full",
            flush=True,
        )
        k = rows
