"""Reliability of sending, with real processes and real HTTP on 127.0.0.1.

The standalone sandbox runs in its own process (``wamkt sandbox``), the webhook receiver in this
one (writing status events into the same SQLite file), the sender in a ``wamkt send`` subprocess
that is killed with SIGKILL at random points, or in this process under fault injection.
"""

import multiprocessing
import random
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from helpers import ROOT
from helpers.plans import make_plan
from helpers.processes import free_port, stop_process
from helpers.sandboxes import sandbox_process_with_receiver

from wamkt_nb import ledger
from wamkt_nb.campaigns.sender import CampaignRunner, SendOptions
from wamkt_nb.cli.send import main as send_main
from wamkt_nb.cloudapi import AsyncCloudClient
from wamkt_nb.data.sample import generate
from wamkt_nb.sandbox import SandboxConfig
from wamkt_nb.settings import Settings
from wamkt_nb.store import open_store

pytestmark = pytest.mark.slow

SEED = 9
CUSTOMERS = 300
DATA = generate(CUSTOMERS, seed=SEED)
CONFIG = SandboxConfig()
VERIFY = "vt-reliability"


@dataclass
class Rig:
    url: str
    db: Path
    settings: Settings
    http: httpx.Client

    def accepted(self, campaign_id: str) -> dict[str, int]:
        """Messages the sandbox accepted per recipient key of ``campaign_id``."""
        rows = self.http.get("/_sandbox/messages", params={"limit": 1_000_000}).json()
        counts: dict[str, int] = {}
        for m in rows:
            key = m.get("callback_data") or ""
            if key.startswith(campaign_id + ":"):
                counts[key] = counts.get(key, 0) + 1
        return counts

    def faults(self, **rates) -> None:
        self.http.post("/_sandbox/faults", json=rates).raise_for_status()


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("reliability")
    db = tmp / "w.db"
    open_store(db).close()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = Settings().replace(
        access_token="sandbox-token",
        app_secret="sandbox-app-secret",
        verify_token=VERIFY,
        base_url=url,
        phone_number_ids=(CONFIG.phone_number_id,),
    )
    with sandbox_process_with_receiver(tmp, db, settings, port, CUSTOMERS, SEED) as http:
        yield Rig(url, db, settings, http)


def new_campaign(store, customers, name, category="utility", template="order_shipped"):
    plan = make_plan(customers, template=template, category=category, planned_at=time.time())
    if template == "rabatt_aktion":
        plan["payload"] = [
            {
                **p,
                "template": {
                    "name": "rabatt_aktion",
                    "language": {"code": "de"},
                    "components": [
                        {
                            "type": "body",
                            "parameters": [
                                {"type": "text", "parameter_name": "first_name", "text": n},
                                {"type": "text", "parameter_name": "discount", "text": "10 %"},
                            ],
                        }
                    ],
                },
            }
            for p, n in zip(plan["payload"], plan["name"], strict=True)
        ]
    return ledger.create_campaign(store, plan, name=name, now=time.time())


def send_command(rig, campaign_id, *extra):
    return [
        sys.executable,
        "-m",
        "wamkt_nb",
        "send",
        campaign_id,
        "--sandbox",
        "--base-url",
        rig.url,
        "--db",
        str(rig.db),
        "--pace",
        "150",
        "--confirm-high-rate",
        "--unknown-wait",
        "2",
        "--timeout",
        "5",
        "--quiet",
        *extra,
    ]


def progressed(db: Path, campaign_id: str) -> int:
    with open_store(db) as s:
        return s.query("SELECT count(*) FROM sends WHERE campaign_id = ? AND state != 'planned'", (campaign_id,))[0][0]


async def resume(rig, store, campaign_id, **options):
    options = {"pace": 150, "confirm_high_rate": True, "unknown_wait": 1.5, **options}
    async with AsyncCloudClient(rig.settings, timeout=options.pop("timeout", 5.0)) as client:
        runner = CampaignRunner(
            store, client, campaign_id, SendOptions(phone_number_ids=rig.settings.phone_number_ids, **options)
        )
        return await runner.run()


async def test_kill_minus_nine_then_resume_sends_each_message_exactly_once(rig):
    """Each trial's sender is a separate process running ``wamkt send`` (``cli.send.main``), forked
    from a fork server that has the modules loaded already (a cold start takes seconds here)."""
    forkserver = multiprocessing.get_context("forkserver")
    forkserver.set_forkserver_preload(["wamkt_nb.cli.send", "wamkt_nb.cloudapi", "wamkt_nb.campaigns.sender"])
    rng = random.Random(2026)
    store = open_store(rig.db)
    n = 40
    report = []
    for trial in range(10):
        customers = DATA.customers.sample(n, random_state=trial)
        cid = new_campaign(store, customers, f"kill-{trial}")
        kill_after = rng.randint(0, n - 1)
        proc = forkserver.Process(target=send_main, args=(send_command(rig, cid)[3:],))
        proc.start()
        deadline = time.monotonic() + 60
        while proc.exitcode is None and progressed(rig.db, cid) < kill_after and time.monotonic() < deadline:
            time.sleep(0.002)
        # SIGKILL unless it already finished: polling exitcode reaps a finished sender, and a kill of
        # the reaped pid raised ProcessLookupError on a busy machine (it could even hit a reused pid)
        proc.kill()
        proc.join(10)
        at_kill = ledger.state_counts(store, cid)
        progress = await resume(rig, store, cid)
        assert progress.status == "complete", (trial, progress)
        counts = rig.accepted(cid)
        keys = {r[0] for r in store.query("SELECT recipient_key FROM sends WHERE campaign_id = ?", (cid,))}
        assert set(counts) == keys, f"trial {trial}: lost {sorted(keys - set(counts))[:3]}"
        assert max(counts.values()) == 1, f"trial {trial}: duplicates {[k for k, v in counts.items() if v > 1]}"
        report.append((kill_after, at_kill["in_flight"], at_kill["accepted"] + at_kill["sent"]))
    print("kill trials (kill after n progressed, in flight at kill, accepted at kill):", report)
    assert sum(1 for _, in_flight, _ in report if in_flight) >= 3, "too few kills hit requests in flight"
    store.close()


async def test_faults_every_recipient_final_attempts_capped_duplicates_explained(rig):
    store = open_store(rig.db)
    cid = new_campaign(store, DATA.customers, "faults")
    rig.faults(
        error_500=0.05,
        timeout=0.02,
        timeout_seconds=1.0,
        drop_after_accept=0.03,
        burst_429=0.015,
        burst_length=8,
        duplicate_webhook=0.1,
    )
    try:
        progress = await resume(
            rig, store, cid, timeout=0.5, max_attempts=6, backoff_scale=0.1, pair_interval=0.2, unknown_wait=1.5
        )
    finally:
        rig.faults(error_500=0, timeout=0, drop_after_accept=0, burst_429=0, duplicate_webhook=0)
    counts = ledger.state_counts(store, cid)
    assert counts["planned"] == counts["in_flight"] == 0
    counted = (
        "SELECT s.attempts - (SELECT count(*) FROM attempts a WHERE a.send_id = s.send_id"
        " AND a.error_code = 130429) FROM sends s WHERE s.campaign_id = ?"
    )  # throttles do not count
    unknown = store.query(counted + " AND s.state = 'unknown'", (cid,))
    assert all(r[0] == 6 for r in unknown)  # unknown is final only at the attempt cap
    assert max(r[0] for r in store.query(counted, (cid,))) <= 6
    faults = rig.http.get("/_sandbox/counters").json()
    assert all(faults.get(f"fault_{f}", 0) for f in ("error_500", "429", "drop", "timeout")), faults
    accepted = rig.accepted(cid)
    duplicated = {k for k, v in accepted.items() if v > 1}
    resent = {
        r[0]
        for r in store.query(
            "SELECT DISTINCT s.recipient_key FROM attempts a JOIN sends s ON s.send_id = a.send_id"
            " WHERE s.campaign_id = ? AND a.outcome IN ('timeout', 'lost') AND a.attempt_no < s.attempts",
            (cid,),
        )
    }
    assert duplicated <= resent
    report = ledger.resend_report(store, cid)
    print(
        f"faults: {progress.requests} requests, sandbox {faults}, states {counts}, throttled {progress.throttled}, "
        f"resent after unknown {report['resent_after_unknown']}, duplicates at the sandbox {len(duplicated)}"
    )
    assert progress.throttled > 0
    assert report["resent_after_unknown"] >= 1  # timeouts were never accepted: no webhook, so resent
    by_state = {}
    for key, state in store.query("SELECT recipient_key, state FROM sends WHERE campaign_id = ?", (cid,)):
        by_state.setdefault(state, set()).add(key)
    delivered = set().union(*(by_state.get(s, set()) for s in ("accepted", "sent", "delivered", "read")))
    assert delivered <= set(accepted)  # what the ledger calls accepted, the API really accepted
    assert set(accepted) <= delivered | by_state.get("failed", set()) | by_state.get("unknown", set())
    store.close()


def test_two_marketing_campaigns_at_once_never_reach_a_customer_twice(rig, tmp_path):
    store = open_store(rig.db)
    a = new_campaign(store, DATA.customers.iloc[:60], "overlap-a", category="marketing", template="rabatt_aktion")
    b = new_campaign(store, DATA.customers.iloc[30:90], "overlap-b", category="marketing", template="rabatt_aktion")
    # stderr to files, not pipes read one after the other (a full pipe would stall the second sender);
    # senders still running when the test gives up are stopped, not left behind
    logs = [tmp_path / f"send-{cid}.log" for cid in (a, b)]
    with logs[0].open("wb") as err_a, logs[1].open("wb") as err_b:
        procs = [
            subprocess.Popen(send_command(rig, cid), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err)
            for cid, err in ((a, err_a), (b, err_b))
        ]
        try:
            for p in procs:
                p.wait(timeout=300)
        finally:
            for p in procs:
                if p.poll() is None:
                    stop_process(p)
    for p, log in zip(procs, logs, strict=True):
        assert p.returncode == 0, log.read_text(errors="replace")[-2000:]
    phones: dict[str, int] = {}
    for cid in (a, b):
        for key in rig.accepted(cid):
            phone = store.query("SELECT phone FROM sends WHERE recipient_key = ?", (key,))[0][0]
            phones[phone] = phones.get(phone, 0) + 1
    assert phones and max(phones.values()) == 1
    overlap = set(DATA.customers.iloc[30:60]["phone"])
    excluded: dict[str, set[str]] = {}
    for phone, reason in store.query(
        "SELECT phone, reason FROM sends WHERE campaign_id IN (?, ?) AND state = 'excluded'", (a, b)
    ):
        excluded.setdefault(reason, set()).add(phone)
    # customers who answered STOP to the earlier tests' messages (the sandbox's simulated people)
    # are excluded at send time; everybody else gets exactly one of the two campaigns
    stopped = excluded.pop("opted_out", set())
    assert stopped <= {r[0] for r in store.query("SELECT phone FROM consent WHERE marketing = 0")}
    assert set(excluded) <= {"marketing_cap_24h"}
    capped = excluded.get("marketing_cap_24h", set())
    assert capped <= overlap <= capped | stopped
    assert set(phones) | stopped == set(DATA.customers.iloc[:90]["phone"])
    store.close()
