"""A team's scale-out on one PostgreSQL: two ``wamkt worker`` processes send campaigns from two phone
numbers of a standalone sandbox (``wamkt sandbox``), whose status webhooks a balancer hands in turn
to two ``wamkt serve`` receiver processes. In each trial two marketing campaigns to overlapping
customers are submitted at once and one worker is killed with -9 while it sends; the surviving
worker finishes the trial (a dead worker's numbers are free at once on the same host), then a fresh
worker takes the dead one's place for the next trial (a process started idle beforehand with its
imports loaded, so the replacement does not wait for Python's start-up; it claims nothing until it
runs). Every trial: every customer got exactly one message at the sandbox (nothing lost, no
duplicate, the 24 h marketing cap held across the processes), every ledger row final."""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from helpers import ROOT
from helpers.plans import make_plan
from helpers.processes import free_port, stop_process, wait_for_port
from helpers.round_robin import balancer
from helpers.sandboxes import standalone_sandbox
from helpers.warm_command import WarmCommand

from wamkt_nb import ledger
from wamkt_nb.data.sample import generate
from wamkt_nb.ledger import control
from wamkt_nb.store import open_store

pytestmark = pytest.mark.slow

SEED = 23
TRIALS = 10
PER_TRIAL = 40
"""Customers of a trial; the first campaign goes to all of them, the rival to every fourth."""
CUSTOMERS = TRIALS * PER_TRIAL
DATA = generate(CUSTOMERS, seed=SEED)
NUMBERS = ("106540352242922", "106540352242923")
VERIFY = "vt-scale-out"
SECRET = "sandbox-app-secret"
OPTIONS = {"pace": 30, "unknown_wait": 1.5, "concurrency": 4}
"""30 msg/s per number: a trial's first campaign takes about 0.7 s, long enough to kill a worker in it."""


@dataclass
class Team:
    url: str
    database_url: str
    tmp: Path
    http: httpx.Client
    workers: list[subprocess.Popen] = field(default_factory=list)
    health_ports: dict[int, int] = field(default_factory=dict)
    spares: list[WarmCommand] = field(default_factory=list)
    """Idle processes with the worker's imports loaded, oldest first: the next replacements."""

    def warm_spare(self) -> None:
        """Start a replacement idle, ahead of the kill it replaces after."""
        log = self.tmp / f"worker-{len(self.workers) + len(self.spares)}.log"
        self.spares.append(WarmCommand(ROOT, _env(self.tmp, WAMKT_PHONE_NUMBER_IDS=",".join(NUMBERS)), log))

    def start_worker(self) -> subprocess.Popen:
        """Run ``wamkt worker`` in the oldest spare process (a new one if none is left)."""
        if not self.spares:
            self.warm_spare()
        process = self.spares.pop(0)
        health_port = free_port()
        proc = process.run(
            [
                "worker",
                "--sandbox",
                self.url,
                "--database-url",
                self.database_url,
                "--poll",
                "0.1",
                "--timeout",
                "5",
                "--health-port",
                str(health_port),
            ]
        )
        self.workers.append(proc)
        self.health_ports[proc.pid] = health_port
        return proc

    def wait_ready(self) -> None:
        """Every live worker serves its health port (it is up and ticking)."""
        for proc in self.live_workers():
            wait_for_port(self.health_ports[proc.pid], proc=proc)

    def live_workers(self) -> list[subprocess.Popen]:
        return [p for p in self.workers if p.poll() is None]

    def accepted_by_customer(self, campaign_ids: set[str]) -> Counter:
        """Messages of ``campaign_ids`` the sandbox accepted, per customer (its own record)."""
        counts: Counter = Counter()
        for m in self.http.get("/_sandbox/messages", params={"limit": 1_000_000}).json():
            if (m.get("callback_data") or "").split(":")[0] in campaign_ids:
                counts[m["customer_id"]] += 1
        return counts


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    return dict(os.environ, WAMKT_WORKSPACE=str(tmp / "ws"), PYTHONPATH=str(ROOT), **extra)


def _serve(tmp: Path, database_url: str, port: int, n: int) -> subprocess.Popen:
    log = open(tmp / f"receiver-{n}.log", "wb")
    return subprocess.Popen(
        [sys.executable, "-m", "wamkt_nb", "serve", "--database-url", database_url, "--port", str(port)],
        cwd=ROOT,
        env=_env(tmp, WAMKT_APP_SECRET=SECRET, WAMKT_VERIFY_TOKEN=VERIFY),
        stdout=log,
        stderr=subprocess.STDOUT,
    )


@pytest.fixture(scope="module")
def team(tmp_path_factory, postgres_server):
    tmp = tmp_path_factory.mktemp("scale-out")
    database_url = postgres_server.create_database("wamkt_scale_out")
    open_store(database_url).close()  # migrated once, before five processes open it
    ports = [free_port(), free_port()]
    sandbox_port = free_port()
    url = f"http://127.0.0.1:{sandbox_port}"
    http = httpx.Client(base_url=url, headers={"Authorization": "Bearer sandbox-token"}, timeout=30)
    t = Team(url, database_url, tmp, http)
    t.start_worker()  # the workers start while the rest starts: they send once campaigns come
    t.start_worker()
    receivers = [_serve(tmp, database_url, port, n) for n, port in enumerate(ports)]
    procs: list[subprocess.Popen] = list(receivers)
    lb = None
    try:
        for port, proc in zip(ports, receivers, strict=True):
            wait_for_port(port, proc=proc)
        lb, lb_app = balancer([f"http://127.0.0.1:{port}" for port in ports])
        log = open(tmp / "sandbox.log", "wb")
        sandbox = standalone_sandbox(
            sandbox_port,
            customers=CUSTOMERS,
            seed=SEED,
            throughput="5000",
            speed="10",
            numbers=NUMBERS[1:],
            webhook=lb.url + "/webhook",
            env=_env(tmp, WAMKT_VERIFY_TOKEN=VERIFY),
            log=log,
        )
        procs.append(sandbox)
        wait_for_port(sandbox_port, proc=sandbox)
        t.wait_ready()
        t.warm_spare()  # after the start-up rush: the first replacement
        yield t
        for proc in t.live_workers():
            proc.send_signal(signal.SIGTERM)
        for proc in t.workers:
            assert proc.wait(30) in (0, -signal.SIGKILL)
        assert all(lb_app.served.values()), f"a receiver got no webhook: {lb_app.served}"
    finally:
        for spare in t.spares:
            spare.discard()
        for proc in t.live_workers() + procs:
            stop_process(proc)
        http.close()
        if lb is not None:
            lb.stop()


def _campaign(store, name: str, customers, planned_at: float) -> str:
    return ledger.create_campaign(
        store,
        make_plan(customers, category="marketing", template="order_shipped", planned_at=planned_at),
        name=name,
        now=planned_at,
        campaign_id=name,
    )


def _wait(check, what: str, store, campaigns: tuple[str, ...], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}: {_state(store, campaigns)}")
        time.sleep(0.05)


def _state(store, campaigns: tuple[str, ...]) -> dict:
    """A stuck trial as the ledger shows it: per campaign its status, request, rows by number and
    state (with the earliest planned time, in seconds from now) and leases."""
    out = {}
    for cid in campaigns:
        rows = store.query(
            "SELECT phone_number_id, state, count(*), MIN(planned_at) FROM sends WHERE campaign_id = ? GROUP BY 1, 2",
            (cid,),
        )
        out[cid] = {
            "status": ledger.campaign_info(store, cid)["status"],
            "request": control.requested(store, cid),
            "rows": [(r[0], r[1], r[2], round((r[3] or 0) - time.time(), 1)) for r in rows],
            "leases": [
                tuple(r)
                for r in store.query("SELECT phone_number_id, pid FROM send_leases WHERE campaign_id = ?", (cid,))
            ],
        }
    return out


def _lease_holders(store, cid: str) -> dict[str, int]:
    return dict(store.query("SELECT phone_number_id, pid FROM send_leases WHERE campaign_id = ?", (cid,)))


def test_two_workers_two_numbers_two_receivers_one_killed_every_trial(team):
    store = open_store(team.database_url)
    faults = {"timeout": 0.1, "timeout_seconds": 0.3, "drop_after_accept": 0.1}
    team.http.post("/_sandbox/faults", json=faults).raise_for_status()
    shared_trials = 0
    for trial in range(TRIALS):
        customers = DATA.customers.iloc[trial * PER_TRIAL : (trial + 1) * PER_TRIAL]
        now = time.time()
        main = _campaign(store, f"so{trial}", customers, now)
        rival = _campaign(store, f"so{trial}-rival", customers.iloc[::4], now)
        for cid in (main, rival):
            control.submit(store, cid, OPTIONS, now)

        def two_senders_then_progress(cid: str = main) -> bool:
            holders = set(_lease_holders(store, cid).values())
            return len(holders) == 2 and ledger.state_counts(store, cid)["planned"] < PER_TRIAL * 0.8

        def one_sender_in_flight(cid: str = main) -> bool:
            return bool(_lease_holders(store, cid)) and ledger.state_counts(store, cid)["in_flight"] > 0

        both = (main, rival)
        _wait(lambda c=main: bool(_lease_holders(store, c)), "a worker to start the campaign", store, both)
        try:
            _wait(two_senders_then_progress, "two workers sending the campaign", store, both, timeout=5.0)
            shared_trials += 1
        except AssertionError:  # one worker took both numbers: still kill a sender mid-run
            _wait(one_sender_in_flight, "a request in flight", store, both)
        holders = set(_lease_holders(store, main).values())
        victim = next(p for p in team.live_workers() if p.pid in holders)
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)  # reaped: its lease is free at once on this host
        at_kill = ledger.state_counts(store, main)
        if trial < TRIALS - 2:
            team.warm_spare()  # for the next trial's replacement: it loads while this trial ends

        def finished(campaigns: tuple[str, ...] = both) -> bool:
            return all(ledger.campaign_info(store, c)["status"] == "complete" for c in campaigns)

        _wait(finished, f"trial {trial} to complete", store, both, timeout=60.0)  # the survivor takes over
        if trial < TRIALS - 1:
            team.start_worker()  # the replacement, for the next trial
            team.wait_ready()
            if team.spares:
                team.spares[0].wait_warm()  # no import competes with the next trial's workers
        assert at_kill["planned"] + at_kill["in_flight"] > 0, f"trial {trial}: the kill came after the end"

        # the sandbox's record: one message per customer over both campaigns, none lost
        got = team.accepted_by_customer({main, rival})
        wanted = set(customers["customer_id"].astype(str))
        refused = {
            r[0]
            for r in store.query(
                "SELECT customer_id FROM sends WHERE campaign_id IN (?, ?) GROUP BY customer_id"
                " HAVING MAX(CASE WHEN wamid IS NULL THEN 0 ELSE 1 END) = 0 AND MAX(CASE WHEN state = 'failed'"
                " THEN 1 ELSE 0 END) = 1",
                (main, rival),
            )
        }  # the sandbox refused the request (number not on WhatsApp): nothing accepted
        duplicates = {c: n for c, n in got.items() if n > 1}
        assert not duplicates, f"trial {trial}: customers messaged twice: {duplicates}"
        assert set(got) == wanted - refused, f"trial {trial}: lost: {sorted(wanted - refused - set(got))[:5]}"
        # the ledger: every row final; the rival's overlap excluded by the cap exactly where main sent
        states = dict(
            store.query("SELECT state, count(*) FROM sends WHERE campaign_id IN (?, ?) GROUP BY 1", (main, rival))
        )
        assert set(states) <= ledger.FINAL_STATES, f"trial {trial}: rows not final: {states}"
        capped = store.query(
            "SELECT customer_id FROM sends WHERE campaign_id IN (?, ?) AND reason = 'marketing_cap_24h'", (main, rival)
        )
        overlap = set(customers.iloc[::4]["customer_id"].astype(str))
        assert sorted(r[0] for r in capped) == sorted(overlap - refused), f"trial {trial}: the cap's exclusions"
        numbers = {
            r[0] for r in store.query("SELECT DISTINCT phone_number_id FROM sends WHERE campaign_id = ?", (main,))
        }
        assert numbers == set(NUMBERS)
    assert shared_trials >= TRIALS // 2, f"two workers shared a campaign in only {shared_trials} of {TRIALS} trials"
    store.close()
