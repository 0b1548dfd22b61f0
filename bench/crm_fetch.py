"""Benchmark the data loader's CRM fetch: does the kernel stay responsive while 200k customers load?

The fake CRM of the tests (tests/helpers/crm_server.py) serves the customers from its own process. An
asyncio loop stands in for the kernel: a heartbeat task ticks every 10 ms and records how late
each tick is. Legs, each on the same data:

* baseline: the old ``load_crm`` (fetch every page, then load, on the loop's thread);
* background: the widget's Fetch button (worker thread, progress line, result applied on the loop);
* cancel: the Fetch button, then Cancel after a second; time until the widget is idle again.

Prints the wall time, the longest loop stall, the p99 tick lateness, the number of progress-line
updates, and the ratios against the baseline.

    .venv/bin/python bench/crm_fetch.py [--customers 200000] [--page-size 250]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from helpers.crm_server import TOKEN  # noqa: E402  # noqa: E402
from helpers.processes import free_port, stop_process, wait_for_port  # noqa: E402

from wamkt_nb.data.crm import CrmConfig, fetch_table  # noqa: E402
from wamkt_nb.widgets.data_loader import DataLoaderWidget  # noqa: E402

SERVER = """
import sys, uvicorn
sys.path.insert(0, {tests!r})
from helpers.crm_server import FakeCrm, make_customers
uvicorn.run(FakeCrm(make_customers({n})).app, host="127.0.0.1", port={port}, log_level="warning")
"""
TICK = 0.01


def widget(url: str, page_size: int) -> DataLoaderWidget:
    w = DataLoaderWidget(crm_options={"page_size": page_size})
    w.crm_url.value, w.crm_token.value, w.crm_pagination.value = url, TOKEN, "page"
    return w


async def measured(action: Callable[[], Awaitable[None]]) -> tuple[float, np.ndarray]:
    """Run ``action`` beside a heartbeat; return its wall time and how late each tick was (s)."""
    loop = asyncio.get_running_loop()
    lateness: list[float] = []
    done = asyncio.Event()

    async def heartbeat() -> None:
        last = loop.time()
        while not done.is_set():
            await asyncio.sleep(TICK)
            now = loop.time()
            lateness.append(now - last - TICK)
            last = now

    beat = loop.create_task(heartbeat())
    await asyncio.sleep(5 * TICK)
    started = time.perf_counter()
    await action()
    wall = time.perf_counter() - started
    done.set()
    await beat
    return wall, np.array(lateness)


async def run(url: str, customers: int, page_size: int) -> None:
    print(
        f"{customers:,} customers, {page_size} per page ({-(-customers // page_size)} pages),"
        " fake CRM in its own process"
    )
    rows = []

    old = widget(url, page_size)

    async def baseline() -> None:  # what load_crm did before: everything on the kernel's thread
        config = CrmConfig(url, token=TOKEN, pagination="page", page_size=page_size)
        old.kind.value = "customers"
        old._load_raw(fetch_table(config))

    rows.append(("baseline (blocking)", *await measured(baseline), 0, len(old.data.customers)))

    new = widget(url, page_size)
    updates = [0]
    new.crm_progress.observe(lambda _: updates.__setitem__(0, updates[0] + 1), "value")

    async def background() -> None:
        new.crm_button.click()
        while new.fetching:
            await asyncio.sleep(TICK)

    rows.append(("background (thread)", *await measured(background), updates[0], len(new.data.customers)))
    assert new.result.summary() == old.result.summary(), "the background fetch loaded something else"

    cancelled = widget(url, page_size)
    stop_latency = [0.0]

    async def cancel() -> None:
        cancelled.crm_button.click()
        await asyncio.sleep(1.0)
        asked = time.perf_counter()
        cancelled.crm_cancel.click()
        while cancelled.fetching:
            await asyncio.sleep(TICK / 10)
        stop_latency[0] = time.perf_counter() - asked

    rows.append(("cancel after 1 s", *await measured(cancel), None, cancelled.progress.records))

    print(f"{'leg':<22}{'wall s':>8}{'max stall s':>13}{'p99 late ms':>13}{'progress updates':>18}{'records':>10}")
    for name, wall, late, count, records in rows:
        shown = "-" if count is None else f"{count:,}"
        print(
            f"{name:<22}{wall:>8.2f}{late.max():>13.3f}{np.percentile(late, 99) * 1000:>13.1f}{shown:>18}{records:>10,}"
        )
    base, bg = rows[0], rows[1]
    print(f"cancel: idle {stop_latency[0] * 1000:.0f} ms after the click, {cancelled.progress.records:,} records kept")
    print(
        f"ratio background/baseline: longest loop stall {bg[2].max() / base[2].max():.3f}, "
        f"wall time {bg[1] / base[1]:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--page-size", type=int, default=250)
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER.format(tests=str(ROOT / "tests"), n=args.customers, port=port)], cwd=ROOT
    )
    try:
        wait_for_port(port, proc=server)
        asyncio.run(run(f"http://127.0.0.1:{port}/page/customers", args.customers, args.page_size))
    finally:
        stop_process(server)


if __name__ == "__main__":
    main()
