"""A ``wamkt`` command started ahead of time, its imports already loaded, to run when a test says so.

Python start-up with pandas takes seconds on a loaded machine; a test that replaces a killed
process would wait that long per replacement. Run as a script, this module imports what the
command loads, says so (it creates the file named by its argument), then blocks on stdin; the line
it reads is the command line, which it runs as ``python -m wamkt_nb`` would, in this same process.
Until then it does nothing: it opens no database and claims no work, so starting it early changes
nothing a test observes."""

from __future__ import annotations

import importlib
import json
import runpy
import subprocess
import sys
import time
from pathlib import Path

WARM_MODULES = (
    "wamkt_nb.cli",
    "wamkt_nb.campaigns.worker",
    "wamkt_nb.campaigns.worker_http",
    "wamkt_nb.cloudapi",
    "wamkt_nb.cli.send",
    "wamkt_nb.cli.worker",
    "wamkt_nb.sandbox",
)
"""What ``wamkt worker`` imports when it starts: the slow part of its start-up."""


class WarmCommand:
    """A started, idle process; :meth:`run` hands it its ``wamkt`` arguments."""

    def __init__(self, cwd: Path, env: dict[str, str], log: Path) -> None:
        self.ready = log.with_suffix(".warm")
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, __file__, str(self.ready)],
                cwd=cwd,
                env=env,
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=out,
            )

    def wait_warm(self, timeout: float = 60.0) -> None:
        """Return once the imports are loaded (so the process no longer competes for the CPU)."""
        deadline = time.monotonic() + timeout
        while not self.ready.exists():
            if self.proc.poll() is not None:
                raise RuntimeError(f"the warm process exited with code {self.proc.returncode}")
            assert time.monotonic() < deadline, f"imports not loaded after {timeout} s"
            time.sleep(0.05)

    def run(self, args: list[str]) -> subprocess.Popen:
        """Start the command (returns at once); the process is then that command's process."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(args).encode() + b"\n")
        self.proc.stdin.close()
        return self.proc

    def discard(self) -> None:
        """Let the unused process end (it exits when its stdin closes)."""
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            self.proc.stdin.close()
        self.proc.wait(30)


def _main(ready: Path) -> None:
    for name in WARM_MODULES:
        importlib.import_module(name)
    ready.touch()
    line = sys.stdin.readline()
    if not line:
        return  # the test ended without using this process
    sys.argv = ["wamkt", *json.loads(line)]
    runpy.run_module("wamkt_nb", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    here = str(Path(__file__).resolve().parent)
    sys.path[:] = [p for p in sys.path if str(Path(p or ".").resolve()) != here]  # no test helper shadows a module
    _main(Path(sys.argv[1]))
