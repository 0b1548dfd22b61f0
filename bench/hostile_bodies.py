"""Benchmark: the standalone sandbox's memory under bodies nobody should send (issue #17).

Streams chunked bodies at a running ``wamkt sandbox`` and prints its peak RSS (VmHWM) after each:
an unauthenticated 300 MB ``/messages`` body (the issue's baseline: peak 897 MB), an authorised
300 MB one, and three authorised 50 MB junk bodies to ``/_sandbox/config`` (they stayed resident in
the request log). Run: .venv/bin/python bench/hostile_bodies.py [--mb 300]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from measure import peak_rss_mib as peak_mb  # noqa: E402

from tests.helpers.processes import free_port, stop_process, wait_for_port  # noqa: E402
from wamkt_nb.graph_versions import CURRENT_VERSION  # noqa: E402

BASELINE_PEAK_MB = 897.0
TOKEN = "bench-token"
PNID = "106540352242922"


def chunks(megabytes: int):
    block = b"x" * (1 << 20)
    for _ in range(megabytes):
        yield block


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=300, help="size of the big bodies in MiB")
    args = parser.parse_args()
    port = free_port()
    env = dict(os.environ, WAMKT_SANDBOX_TOKEN=TOKEN, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "wamkt_nb", "sandbox", "--port", str(port), "--customers", "30"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, proc=proc)
        base = f"http://127.0.0.1:{port}"
        auth = {"Authorization": f"Bearer {TOKEN}"}
        start = peak_mb(proc.pid)
        print(f"sandbox started: peak RSS {start:,.0f} MB")
        cases = [
            (f"unauthenticated {args.mb} MB /messages", f"/{CURRENT_VERSION}/{PNID}/messages", {}, args.mb),
            (f"authorised {args.mb} MB /messages", f"/{CURRENT_VERSION}/{PNID}/messages", auth, args.mb),
        ]
        cases += [(f"authorised 50 MB junk #{i + 1} /_sandbox/config", "/_sandbox/config", auth, 50) for i in range(3)]
        for name, path, headers, size in cases:
            resp = httpx.post(base + path, content=chunks(size), headers=headers, timeout=120)
            print(f"{name:45s} HTTP {resp.status_code}  peak RSS {peak_mb(proc.pid):,.0f} MB")
        log_bytes = sum(len(str(r)) for r in httpx.get(base + "/_sandbox/received", headers=auth).json())
        peak = peak_mb(proc.pid)
        print(f"request log as JSON: {log_bytes:,} bytes")
        print(
            f"peak RSS {peak:,.0f} MB (growth {peak - start:,.0f} MB) vs baseline {BASELINE_PEAK_MB:,.0f} MB: "
            f"ratio {peak / BASELINE_PEAK_MB:.2f}"
        )
    finally:
        stop_process(proc)


if __name__ == "__main__":
    main()
