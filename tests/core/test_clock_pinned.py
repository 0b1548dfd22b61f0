"""WAMKT_NOW pins "now" for a whole process (a notebook's kernel), and time still runs from there."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from helpers import ROOT

from wamkt_nb.clock import parse_now

PROBE = (
    "import time; from wamkt_nb.clock import SystemClock, wall_time; from wamkt_nb.data.sample import default_now;"
    "a = wall_time(); time.sleep(0.2); b = SystemClock().now(); print(a, b, default_now().isoformat())"
)


def probe(**env: str) -> tuple[float, float, str]:
    clean = {k: v for k, v in os.environ.items() if k != "WAMKT_NOW"}
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        env={**clean, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return float(out[0]), float(out[1]), out[2]


def test_pinned_clock_starts_at_wamkt_now_and_runs_on():
    start, later, today = probe(WAMKT_NOW="2026-06-01T02:30:00")
    assert abs(start - 1780281000.0) < 2.0  # 2026-06-01 02:30 UTC
    assert 0.15 < later - start < 5.0  # time still moves, at the wall clock's speed
    assert today == "2026-06-01T00:00:00+00:00"


def test_zone_and_epoch_forms():
    assert parse_now("2026-06-01T04:30:00+02:00") == parse_now("2026-06-01T02:30:00Z") == 1780281000.0
    assert parse_now("1780281000") == 1780281000.0


def test_unset_means_the_wall_clock():
    start, _, _ = probe()
    assert abs(start - time.time()) < 30.0


def test_bad_value_names_the_variable():
    with pytest.raises(ValueError, match="WAMKT_NOW"):
        parse_now("tomorrow at noon")


SESSION = "from wamkt_nb.data.sample import session_now; print(session_now().isoformat())"


def session(**env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k != "WAMKT_NOW"}
    return subprocess.run(
        [sys.executable, "-c", SESSION],
        env={**clean, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def test_notebook_sessions_play_at_wamkt_now_or_at_14_utc():
    """Notebooks 03/04 play at the pinned time (a nighttime run stays at night), else today 14:00 UTC."""
    assert session(WAMKT_NOW="2026-06-01T01:00:00").startswith("2026-06-01T01:00:0")
    assert session().endswith("T14:00:00+00:00")
