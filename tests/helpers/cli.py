"""The real ``wamkt`` command as a subprocess, and the check that a failure is one clear line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from . import ROOT

SECRET = "S3cretPassw0rd"


def wamkt(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("WAMKT_")}
    environment.update({"PYTHONPATH": str(ROOT), "WAMKT_WORKSPACE": str(cwd / "ws"), **env})
    return subprocess.run(
        [sys.executable, "-m", "wamkt_nb", *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=120
    )


def assert_one_clear_line(done: subprocess.CompletedProcess, *expected: str) -> str:
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert "Traceback" not in output and SECRET not in output
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]
