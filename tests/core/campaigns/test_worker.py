"""``wamkt worker`` as a real service: a subprocess sending submitted campaigns to a standalone
sandbox (``wamkt sandbox``, its own process) whose status webhooks a receiver in this process writes
into the same SQLite ledger. This process only submits and controls campaigns through the ledger,
as a notebook or ``wamkt send --submit`` does."""

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
import pytest
from helpers import ROOT
from helpers.jupyter_server import jupyter_server_with_extension
from helpers.plans import make_plan
from helpers.processes import free_port, wait_for_port
from helpers.sandboxes import sandbox_process_with_receiver
from jupyter_client.manager import start_new_kernel

from wamkt_nb import ledger
from wamkt_nb.data.sample import generate
from wamkt_nb.ledger import control
from wamkt_nb.settings import Settings
from wamkt_nb.store import open_store

pytestmark = pytest.mark.slow

SEED = 11
CUSTOMERS = 200
DATA = generate(CUSTOMERS, seed=SEED)
VERIFY = "vt-worker"
FAST = {"pace": 60, "confirm_high_rate": True, "unknown_wait": 2.0, "concurrency": 4}


@dataclass
class Rig:
    url: str
    db: Path
    tmp: Path
    http: httpx.Client

    def accepted(self, campaign_id: str) -> dict[str, int]:
        """Messages the sandbox accepted per recipient key of ``campaign_id`` (its request log)."""
        counts: dict[str, int] = {}
        for m in self.http.get("/_sandbox/messages", params={"limit": 1_000_000}).json():
            key = m.get("callback_data") or ""
            if key.startswith(campaign_id + ":"):
                counts[key] = counts.get(key, 0) + 1
        return counts

    def worker(self, *extra: str, health_port: int | None = None, database_url: str | None = None) -> subprocess.Popen:
        ledger_args = ["--database-url", database_url] if database_url else ["--db", str(self.db)]
        cmd = [
            sys.executable,
            "-m",
            "wamkt_nb",
            "worker",
            "--sandbox",
            self.url,
            *ledger_args,
            "--poll",
            "0.2",
            "--timeout",
            "5",
            *extra,
        ]
        if health_port is not None:
            cmd += ["--health-port", str(health_port)]
        log = open(self.tmp / "worker.log", "ab")
        env = dict(os.environ, WAMKT_WORKSPACE=str(self.tmp / "ws"), PYTHONPATH=str(ROOT))
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=log)


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("worker")
    db = tmp / "w.db"
    open_store(db).close()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = Settings().replace(app_secret="sandbox-app-secret", verify_token=VERIFY)
    with sandbox_process_with_receiver(tmp, db, settings, port, CUSTOMERS, SEED) as http:
        yield Rig(url, db, tmp, http)


def submitted(store, name: str, n: int, offset: int = 0, **options) -> str:
    customers = DATA.customers.iloc[offset : offset + n]
    cid = ledger.create_campaign(
        store,
        make_plan(customers, template="order_shipped", planned_at=time.time()),
        name=name,
        now=time.time(),
        campaign_id=name,
    )
    control.submit(store, cid, {**FAST, **options}, time.time())
    return cid


def wait_until(check, timeout: float = 60.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the worker exited with {proc.returncode}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {check.__name__}")
        time.sleep(0.05)


def status(store, cid: str) -> str:
    return ledger.campaign_info(store, cid)["status"]


def assert_exactly_once(rig: Rig, store, cid: str) -> None:
    counts = rig.accepted(cid)
    keys = {r[0] for r in store.query("SELECT recipient_key FROM sends WHERE campaign_id = ?", (cid,))}
    assert set(counts) == keys, f"lost: {sorted(keys - set(counts))[:3]}"
    assert max(counts.values()) == 1, f"duplicates: {[k for k, v in counts.items() if v > 1]}"


def test_a_submitted_campaign_finishes_without_the_submitter_and_health_reports_it(rig):
    store = open_store(rig.db)
    cid = submitted(store, "w-submit", 30)
    health_port = free_port()
    proc = rig.worker(health_port=health_port)
    try:
        wait_for_port(health_port, proc=proc)
        wait_until(lambda: status(store, cid) == "complete", proc=proc)
        assert_exactly_once(rig, store, cid)
        with httpx.Client(base_url=f"http://127.0.0.1:{health_port}", timeout=5) as http:
            health = http.get("/health")
            assert health.status_code == 200
            body = health.json()
            assert body["status"] == "ok" and body["last_tick"] > time.time() - 5 and body["runs_finished"] >= 1
            assert http.get("/nope").status_code == 404
            other = submitted(store, "w-counts", 5, offset=30, pace=1)  # one a second: still open when asked
            wait_until(lambda: other in http.get("/counts").json(), proc=proc)
            counts = http.get("/counts").json()[other]
            assert counts["request"] == "run" and sum(counts["counts"].values()) == 5
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    lines = [orjson.loads(line) for line in (rig.tmp / "worker.log").read_bytes().splitlines() if line.startswith(b"{")]
    events = {line["event"] for line in lines}
    assert {"worker_started", "campaign_started", "campaign_run_ended", "worker_stopped"} <= events
    assert all({"ts", "level", "event"} <= set(line) for line in lines)
    log_text = (rig.tmp / "worker.log").read_text()
    assert not any(phone in log_text for phone in DATA.customers["phone"].head(40))
    store.close()


def test_pause_resume_and_cancel_from_another_process(rig):
    store = open_store(rig.db)
    cid = submitted(store, "w-control", 40, offset=40, pace=8)
    proc = rig.worker()
    try:
        wait_until(lambda: ledger.state_counts(store, cid)["planned"] < 37, proc=proc)
        control.request(store, cid, "pause", time.time())
        wait_until(lambda: status(store, cid) == "paused", proc=proc)
        time.sleep(0.3)  # requests in flight when the pause came finish
        frozen = ledger.state_counts(store, cid)["planned"]
        time.sleep(1.0)
        assert ledger.state_counts(store, cid)["planned"] == frozen, "a paused campaign kept sending"
        control.request(store, cid, "run", time.time())
        wait_until(lambda: ledger.state_counts(store, cid)["planned"] < frozen - 2, proc=proc)
        control.request(store, cid, "cancel", time.time())
        wait_until(lambda: status(store, cid) == "cancelled", proc=proc)
        counts = ledger.state_counts(store, cid)
        assert counts["cancelled"] > 0 and counts["planned"] == 0 and counts["in_flight"] == 0
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    sent = rig.accepted(cid)
    assert len(sent) == 40 - counts["cancelled"] and max(sent.values()) == 1
    store.close()


def test_sigterm_stops_cleanly_and_a_restart_finishes(rig):
    store = open_store(rig.db)
    cid = submitted(store, "w-term", 40, offset=80, pace=10)
    proc = rig.worker()
    try:
        wait_until(lambda: ledger.state_counts(store, cid)["planned"] < 35, proc=proc)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    counts = ledger.state_counts(store, cid)
    assert counts["in_flight"] == 0 and counts["planned"] > 0, counts  # requests in flight finished
    assert store.query("SELECT count(*) FROM send_leases WHERE campaign_id = ?", (cid,))[0][0] == 0
    again = rig.worker("--once")
    assert again.wait(60) == 0
    assert status(store, cid) == "complete"
    assert_exactly_once(rig, store, cid)
    store.close()


def test_kill_minus_nine_then_restart_sends_each_message_exactly_once(rig):
    """Held requests (no answer for 2 s) and answers dropped after acceptance make the kill find
    rows in flight: the restarted worker settles them from the status webhooks, resends the rest."""
    store = open_store(rig.db)
    cid = submitted(store, "w-kill", 40, offset=120, pace=15)
    rig.http.post(
        "/_sandbox/faults", json={"timeout": 0.25, "timeout_seconds": 2.0, "drop_after_accept": 0.15}
    ).raise_for_status()
    proc = rig.worker()
    try:
        wait_until(lambda: ledger.state_counts(store, cid)["planned"] < 25, proc=proc)
        wait_until(lambda: ledger.state_counts(store, cid)["in_flight"] > 0, proc=proc)
    finally:
        proc.kill()
        proc.wait(10)
        rig.http.post("/_sandbox/faults", json={"timeout": 0.0, "drop_after_accept": 0.0}).raise_for_status()
    at_kill = ledger.state_counts(store, cid)
    assert at_kill["planned"] > 0 and at_kill["in_flight"] > 0, at_kill
    again = rig.worker()
    try:
        wait_until(lambda: status(store, cid) == "complete", proc=again)
    finally:
        again.send_signal(signal.SIGTERM)
        assert again.wait(30) == 0
    assert ledger.state_counts(store, cid)["in_flight"] == 0
    assert_exactly_once(rig, store, cid)
    store.close()


def test_a_scheduled_start_is_sent_when_it_comes(rig):
    store = open_store(rig.db)
    start_at = time.time() + 3.0
    cid = submitted(store, "w-later", 10, offset=160, start_at=start_at)
    proc = rig.worker()
    try:
        wait_until(lambda: status(store, cid) == "complete", proc=proc)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    first = store.query("SELECT MIN(accepted_at) FROM sends WHERE campaign_id = ?", (cid,))[0][0]
    assert first >= start_at
    assert_exactly_once(rig, store, cid)
    store.close()


def cli(rig: Rig, *args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    env = dict(os.environ, WAMKT_WORKSPACE=str(rig.tmp / "ws"), PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "wamkt_nb", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def test_wamkt_send_submit_watches_and_pause_cancel_from_the_command_line(rig):
    store = open_store(rig.db)
    cid = ledger.create_campaign(
        store,
        make_plan(DATA.customers.iloc[170:190], template="order_shipped", planned_at=time.time()),
        name="w-cli",
        now=time.time(),
        campaign_id="w-cli",
    )
    assert "was not submitted" in cli(rig, "send", cid, "--pause", "--db", str(rig.db)).stderr
    proc = rig.worker()
    try:
        done = cli(
            rig,
            "send",
            cid,
            "--submit",
            "--db",
            str(rig.db),
            "--pace",
            "60",
            "--confirm-high-rate",
            "--unknown-wait",
            "2",
        )
        assert done.returncode == 0, done.stderr
        assert "[complete] 20/20" in done.stdout
        assert status(store, cid) == "complete"
        assert_exactly_once(rig, store, cid)
        slow = submitted(store, "w-cli-cancel", 10, offset=190, pace=1)
        paused = cli(rig, "send", slow, "--pause", "--db", str(rig.db))
        assert paused.returncode == 0 and control.requested(store, slow) == "pause"
        wait_until(lambda: status(store, slow) == "paused", proc=proc)
        assert cli(rig, "send", slow, "--cancel", "--db", str(rig.db)).returncode == 0
        wait_until(lambda: status(store, slow) == "cancelled", proc=proc)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    store.close()


def test_serve_runs_the_receiver_and_the_worker_in_one_process(rig):
    store = open_store(rig.db)
    cid = submitted(store, "w-serve", 10, offset=0)
    port, health_port = free_port(), free_port()
    env = dict(
        os.environ,
        WAMKT_WORKSPACE=str(rig.tmp / "ws"),
        PYTHONPATH=str(ROOT),
        WAMKT_APP_SECRET="serve-secret",
        WAMKT_VERIFY_TOKEN="serve-verify",
    )
    log = open(rig.tmp / "serve.log", "wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wamkt_nb",
            "serve",
            "--worker",
            "--sandbox",
            rig.url,
            "--db",
            str(rig.db),
            "--port",
            str(port),
            "--health-port",
            str(health_port),
            "--poll",
            "0.2",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
    )
    try:
        wait_for_port(port, proc=proc)
        wait_for_port(health_port, proc=proc)
        challenge = httpx.get(
            f"http://127.0.0.1:{port}/webhook",
            params={"hub.mode": "subscribe", "hub.verify_token": "serve-verify", "hub.challenge": "42"},
        )
        assert challenge.status_code == 200 and challenge.text == "42"
        wait_until(lambda: status(store, cid) == "complete", proc=proc)
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(30)
        log.close()
    assert code == 0, (rig.tmp / "serve.log").read_text()[-2000:]
    store.close()


def test_a_campaign_submitted_from_a_notebook_finishes_after_the_kernel_is_shut_down(rig):
    """The send widget in a real kernel submits (its watch task runs on the kernel's loop); the
    kernel is shut down mid-campaign and the worker sends the rest."""
    store = open_store(rig.db)
    cid = ledger.create_campaign(
        store,
        make_plan(DATA.customers.iloc[100:112], template="order_shipped", planned_at=time.time()),
        name="w-nb",
        now=time.time(),
        campaign_id="w-nb",
    )
    proc = rig.worker()
    env = dict(os.environ, WAMKT_WORKSPACE=str(rig.tmp / "ws"), PYTHONPATH=str(ROOT))
    manager, client = start_new_kernel(kernel_name="python3", env=env, cwd=str(rig.tmp))
    try:
        reply = client.execute_interactive(
            "import wamkt_nb.widgets.send\n"
            "from pathlib import Path\n"
            "from wamkt_nb.facade import Workspace\n"
            "from wamkt_nb.facade.campaign import Campaign\n"
            f"ws = Workspace(database=Path({str(rig.db)!r}))\n"
            f"view = Campaign.saved(ws, {cid!r}).send(3, submit=True, unknown_wait=2.0)\n"
            "print(type(view).__name__)\n",
            timeout=60,
        )
        assert reply["content"]["status"] == "ok", reply["content"]
        wait_until(lambda: control.requested(store, cid) == "run", timeout=30)
        wait_until(lambda: ledger.state_counts(store, cid)["planned"] < 12, proc=proc)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    assert status(store, cid) != "complete"
    try:
        wait_until(lambda: status(store, cid) == "complete", proc=proc)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    assert_exactly_once(rig, store, cid)
    store.close()


def test_the_jupyter_server_extension_hosts_the_worker(rig):
    store = open_store(rig.db)
    cid = submitted(store, "w-jupyter", 8, offset=60)
    tmp = rig.tmp / "jupyter"
    tmp.mkdir()
    env = {
        "WAMKT_WORKER": "1",
        "WAMKT_BASE_URL": rig.url,
        "WAMKT_ACCESS_TOKEN": "sandbox-token",
        "WAMKT_PHONE_NUMBER_IDS": "106540352242922",
        "WAMKT_APP_SECRET": "jupyter-secret",
        "WAMKT_VERIFY_TOKEN": "jupyter-verify",
        "WAMKT_DB_PATH": str(rig.db),
    }
    with jupyter_server_with_extension(tmp, "worker-test", env) as (_, proc):
        wait_until(lambda: status(store, cid) == "complete", proc=proc)
    assert_exactly_once(rig, store, cid)
    assert "campaign_run_ended" in (tmp / "server.log").read_text()
    store.close()


def test_the_worker_on_postgresql(rig, postgres_server):
    """The same service on the team store: submitted, paused and resumed through PostgreSQL."""
    url = postgres_server.create_database("wamkt_worker")
    store = open_store(url)
    cid = submitted(store, "w-pg", 20, offset=0, pace=10)
    proc = rig.worker(database_url=url)
    try:
        wait_until(
            lambda: ledger.state_counts(store, cid)["planned"] < 18 or control.requested(store, cid) == "pause",
            proc=proc,
        )
        assert control.requested(store, cid) == "run", "the worker held the campaign after an error: see its log"
        control.request(store, cid, "pause", time.time())
        wait_until(lambda: status(store, cid) == "paused", proc=proc)
        control.request(store, cid, "run", time.time())
        wait_until(lambda: status(store, cid) == "complete", proc=proc)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    assert_exactly_once(rig, store, cid)
    store.close()
