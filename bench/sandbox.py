"""Benchmark: concurrent clients against the standalone sandbox on loopback (throughput limit raised).

Prints accepted requests/s and p50/p99 latency, and the ratio to the 2,000 req/s target.
Run: .venv/bin/python bench/sandbox.py [--seconds 10] [--connections 64]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.request import Request, urlopen

import uvloop

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from measure import cpu_seconds  # noqa: E402

from tests.helpers.processes import free_port, stop_process, wait_for_port  # noqa: E402
from wamkt_nb.graph_versions import CURRENT_VERSION  # noqa: E402

TARGET = 2_000.0
TOKEN = "bench-token"
PNID = "106540352242922"


def request_bytes(port: int, phone: str, n: int) -> bytes:
    body = json.dumps(
        {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": phone,
            "type": "template",
            "biz_opaque_callback_data": f"bench:{n}",
            "template": {
                "name": "order_shipped",
                "language": {"code": "de"},
                "components": [
                    {
                        "type": "body",
                        "parameters": [{"type": "text", "text": "Anna"}, {"type": "text", "text": f"#{n}"}],
                    }
                ],
            },
        }
    ).encode()
    head = (
        f"POST /{CURRENT_VERSION}/{PNID}/messages HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    return head + body


async def client(port: int, requests: list[bytes], stop_at: float, latencies: list[float], statuses: dict) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = 0
    try:
        while time.perf_counter() < stop_at:
            t0 = time.perf_counter()
            writer.write(requests[i % len(requests)])
            i += 1
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - t0)
            code = int(status_line.split()[1])
            statuses[code] = statuses.get(code, 0) + 1
    finally:
        writer.close()


async def load(port: int, phones: list[str], seconds: float, connections: int) -> tuple[list[float], dict, float]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    per_client = [
        [request_bytes(port, phones[(c * 97 + k) % len(phones)], k) for k in range(200)] for c in range(connections)
    ]
    start = time.perf_counter()
    stop_at = start + seconds
    await asyncio.gather(*(client(port, per_client[c], stop_at, latencies, statuses) for c in range(connections)))
    return latencies, statuses, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--customers", type=int, default=5_000)
    args = parser.parse_args()
    port = free_port()
    env = dict(os.environ, WAMKT_SANDBOX_TOKEN=TOKEN)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wamkt_nb",
            "sandbox",
            "--port",
            str(port),
            "--customers",
            str(args.customers),
            "--throughput",
            "1000000",
            "--pair-interval",
            "0",
            "--tier",
            "TIER_UNLIMITED",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_port(port, proc=proc)
        req = Request(
            f"http://127.0.0.1:{port}/_sandbox/customers?limit={args.customers}",
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        phones = [c["phone"] for c in json.load(urlopen(req))]
        uvloop.run(load(port, phones, 1.0, args.connections))  # warm-up
        cpu0 = cpu_seconds(proc.pid)
        latencies, statuses, elapsed = uvloop.run(load(port, phones, args.seconds, args.connections))
        server_cpu = cpu_seconds(proc.pid) - cpu0
    finally:
        stop_process(proc)
    latencies.sort()
    accepted = statuses.get(200, 0)
    rate = accepted / elapsed
    p50 = latencies[len(latencies) // 2] * 1000
    p99 = latencies[int(len(latencies) * 0.99)] * 1000
    print(f"sandbox bench: {args.connections} connections, {elapsed:.1f} s, statuses {statuses}")
    print(f"accepted: {rate:,.0f} req/s   p50 {p50:.2f} ms   p99 {p99:.2f} ms")
    per_request = server_cpu / max(1, sum(statuses.values())) * 1e6
    print(
        f"server CPU: {per_request:.0f} us per request ({server_cpu / elapsed:.0%} of a core) -> "
        f"{1e6 / per_request:,.0f} req/s per free core"
    )
    print(f"ratio to target {TARGET:,.0f} req/s: {rate / TARGET:.2f}x (load average now {os.getloadavg()[0]:.1f})")
    return 0 if rate >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
