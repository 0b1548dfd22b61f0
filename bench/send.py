"""Benchmark the paced sender against the standalone sandbox (its own process, throughput raised).

The sandbox's simulated clock runs at 1/1000 speed, so its customer simulation (statuses, replies)
stays out of the run: Meta's servers do not share our two cores. Its throughput limit is raised
out of the way (the bucket refills in simulated time).

Legs: 20,000 recipients at 1,000 msg/s; 2,000 at 80 msg/s (fewer, so the leg takes 25 s, not 4
minutes); 5,000 marketing messages at 1,000 msg/s (each takes the 24 h reservation first); and the
naive baseline: a sequential loop of httpx posts, the way simple broadcast scripts send.
Prints achieved rate, pacing error, p50/p99 request latency and CPU time per message.

    .venv/bin/python bench/send.py [--recipients 20000] [--slow-recipients 2000] [--baseline 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import orjson
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.helpers.plans import zone_where_it_is  # noqa: E402
from tests.helpers.processes import free_port, stop_process, wait_for_port  # noqa: E402
from wamkt_nb import ledger  # noqa: E402
from wamkt_nb.campaigns.sender import CampaignRunner, SendOptions  # noqa: E402
from wamkt_nb.cloudapi import AsyncCloudClient  # noqa: E402
from wamkt_nb.graph_versions import CURRENT_VERSION  # noqa: E402  # noqa: E402
from wamkt_nb.sandbox import SandboxConfig  # noqa: E402
from wamkt_nb.store import open_store  # noqa: E402

TOKEN = "sandbox-token"
CONCURRENCY = 8
"""Requests in flight: at ~1-10 ms per request a few suffice."""
PNID = SandboxConfig().phone_number_id


def plan(n: int, offset: int, category: str) -> pd.DataFrame:
    """``n`` recipients with made-up German mobile numbers and the approved ``order_shipped`` template."""
    phones = [f"+49160{offset + i:07d}" for i in range(n)]
    template = "rabatt_aktion" if category == "marketing" else "order_shipped"
    payloads = [
        {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": p,
            "type": "template",
            "template": {
                "name": template,
                "language": {"code": "de"},
                "components": [
                    {
                        "type": "body",
                        "parameters": (
                            [
                                {"type": "text", "parameter_name": "first_name", "text": "Anna"},
                                {"type": "text", "parameter_name": "discount", "text": "10 %"},
                            ]
                            if category == "marketing"
                            else [{"type": "text", "text": "Anna"}, {"type": "text", "text": f"#{i}"}]
                        ),
                    }
                ],
            },
        }
        for i, p in enumerate(phones)
    ]
    return pd.DataFrame(
        {
            "customer_id": [f"b{offset + i}" for i in range(n)],
            "phone": phones,
            "name": "Anna",
            "outcome": "send",
            "reason": "",
            "category": category,
            "message_type": "template",
            "body": "Hallo Anna",
            "payload": payloads,
            "planned_at": pd.Timestamp.now(tz="UTC"),
            "arm": "",
            "cost": 0.0,
            "timezone": zone_where_it_is(12),  # the send-time checks run in full, never deferring to morning
        }
    )


async def leg(store, base_url: str, name: str, n: int, rate: float, offset: int, category: str) -> dict:
    cid = ledger.create_campaign(store, plan(n, offset, category), name=name, now=time.time())
    options = SendOptions(
        phone_number_ids=(PNID,), pace=rate, confirm_high_rate=rate > 50, concurrency=CONCURRENCY, progress_interval=1.0
    )
    async with AsyncCloudClient(
        base_url=base_url, access_token=TOKEN, timeout=10.0, max_connections=CONCURRENCY
    ) as client:
        runner = CampaignRunner(store, client, cid, options)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        progress = await runner.run()
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    span = runner.meter.last_dispatch - runner.meter.first_dispatch
    achieved = (runner.meter.dispatched - 1) / span if span > 0 else float("nan")
    lat = np.array(runner.meter.latencies) * 1000
    return {
        "leg": name,
        "recipients": n,
        "target/s": rate,
        "achieved/s": achieved,
        "pacing error %": abs(achieved - rate) / rate * 100,
        "accepted": progress.counts["accepted"],
        "throttled": progress.throttled,
        "p50 ms": np.percentile(lat, 50),
        "p99 ms": np.percentile(lat, 99),
        "CPU µs/msg": cpu / n * 1e6,
        "wall s": wall,
    }


async def client_floor(base_url: str, n: int) -> dict:
    """The Cloud API client alone, unpaced, CONCURRENCY workers, no ledger: the ceiling the sender runs under."""
    queue = list(plan(n, 800_000, "utility")["payload"])
    lat: list[float] = []
    async with AsyncCloudClient(base_url=base_url, access_token=TOKEN, max_connections=CONCURRENCY) as client:

        async def worker() -> None:
            while queue:
                payload = queue.pop()
                t = time.perf_counter()
                await client.send_message(PNID, payload)
                lat.append(time.perf_counter() - t)

        cpu0, wall0 = time.process_time(), time.perf_counter()
        await asyncio.gather(*[worker() for _ in range(CONCURRENCY)])
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    lat_ms = np.array(lat) * 1000
    return {
        "leg": "client alone, unpaced (reference)",
        "recipients": n,
        "target/s": float("nan"),
        "achieved/s": n / wall,
        "pacing error %": float("nan"),
        "accepted": len(lat),
        "throttled": 0,
        "p50 ms": np.percentile(lat_ms, 50),
        "p99 ms": np.percentile(lat_ms, 99),
        "CPU µs/msg": cpu / n * 1e6,
        "wall s": wall,
    }


def baseline(base_url: str, n: int) -> dict:
    """A sequential loop of httpx posts (one client, keep-alive): what simple scripts do."""
    payloads = plan(n, 900_000, "utility")["payload"]
    url = f"{base_url}/{CURRENT_VERSION}/{PNID}/messages"
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    lat = []
    with httpx.Client(timeout=10.0) as client:
        cpu0, wall0 = time.process_time(), time.perf_counter()
        ok = 0
        for p in payloads:
            t = time.perf_counter()
            r = client.post(url, content=orjson.dumps(p), headers=headers)
            lat.append(time.perf_counter() - t)
            ok += r.status_code == 200
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    lat_ms = np.array(lat) * 1000
    return {
        "leg": "naive sequential httpx",
        "recipients": n,
        "target/s": float("nan"),
        "achieved/s": n / wall,
        "pacing error %": float("nan"),
        "accepted": ok,
        "throttled": 0,
        "p50 ms": np.percentile(lat_ms, 50),
        "p99 ms": np.percentile(lat_ms, 99),
        "CPU µs/msg": cpu / n * 1e6,
        "wall s": wall,
    }


def main() -> None:
    global CONCURRENCY
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipients", type=int, default=20_000)
    ap.add_argument("--slow-recipients", type=int, default=2_000)
    ap.add_argument("--marketing-recipients", type=int, default=5_000)
    ap.add_argument("--baseline", type=int, default=2_000)
    ap.add_argument("--concurrency", type=int, default=CONCURRENCY, help="sender workers (requests in flight)")
    args = ap.parse_args()
    CONCURRENCY = args.concurrency
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    sandbox = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wamkt_nb",
            "sandbox",
            "--port",
            str(port),
            "--customers",
            "200",
            "--throughput",
            "1e9",
            "--pair-interval",
            "0",
            "--tier",
            "TIER_UNLIMITED",
            "--speed",
            "0.001",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        env=dict(os.environ),
    )
    try:
        wait_for_port(port, proc=sandbox)
        with tempfile.TemporaryDirectory() as tmp:
            store = open_store(Path(tmp) / "bench.db")
            rows = [
                asyncio.run(leg(store, base_url, "sender 1000/s", args.recipients, 1000.0, 0, "utility")),
                asyncio.run(leg(store, base_url, "sender 80/s", args.slow_recipients, 80.0, 100_000, "utility")),
                asyncio.run(
                    leg(
                        store,
                        base_url,
                        "sender 1000/s marketing (24 h reservation)",
                        args.marketing_recipients,
                        1000.0,
                        200_000,
                        "marketing",
                    )
                ),
                asyncio.run(client_floor(base_url, args.baseline)),
                baseline(base_url, args.baseline),
            ]
            store.close()
    finally:
        stop_process(sandbox)
    table = pd.DataFrame(rows).set_index("leg")
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.float_format", "{:,.2f}".format):
        print(table)
    fast, naive = table.loc["sender 1000/s"], table.loc["naive sequential httpx"]
    met = fast["achieved/s"] >= 980 and fast["pacing error %"] < 2
    print(
        f"\nsender at a 1,000/s target: {fast['achieved/s']:,.0f}/s, pacing error {fast['pacing error %']:.2f} % "
        f"(target < 2 %): {'met' if met else 'NOT met'}; "
        f"{fast['achieved/s'] / naive['achieved/s']:.2f}x the naive loop's rate "
        f"({naive['achieved/s']:,.0f}/s, unpaced, no ledger, no retries), "
        f"{fast['CPU µs/msg'] / naive['CPU µs/msg']:.1f}x its CPU per message"
    )
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} (shared: figures are noisy)")


if __name__ == "__main__":
    main()
