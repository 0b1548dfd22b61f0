"""A request that never left the machine is not an unknown outcome: a refused connection or an
unusable API address is a definite not-sent (retry, then pause), never "resent after unknown outcome"."""

from __future__ import annotations

import asyncio
import time

import pytest
from helpers.plans import make_plan
from helpers.processes import free_port

from wamkt_nb import ledger
from wamkt_nb.cli import main
from wamkt_nb.cloudapi import (
    AsyncCloudClient,
    InvalidURLError,
    OutcomeUnknownError,
    TransportError,
    check_base_url,
    text_message,
)
from wamkt_nb.graph_versions import CURRENT_VERSION
from wamkt_nb.store import open_store

BAD_URL = "htp://user:pw@[::1"


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("WAMKT_WORKSPACE", str(tmp_path))
    for name in ("WAMKT_ACCESS_TOKEN", "WAMKT_DB_PATH", "WAMKT_CONFIG", "WAMKT_PHONE_NUMBER_IDS", "WAMKT_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "w.db"
    with open_store(db) as store:
        plan = make_plan(3, template="order_shipped", planned_at=time.time())
        ledger.create_campaign(store, plan, name="x", now=time.time(), campaign_id="c1")
    return db


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "wamkt-test.invalid"])  # refused; DNS failure (RFC 2606)
def test_no_connection_is_a_transport_error_not_an_unknown_outcome(host):
    async def go():
        async with AsyncCloudClient(
            base_url=f"http://{host.format(port=free_port())}", access_token="t", api_version=CURRENT_VERSION
        ) as client:
            await client.send_message("1", text_message("+4915112345678", "Hallo"))

    with pytest.raises(TransportError) as caught:
        asyncio.run(go())
    assert not isinstance(caught.value, OutcomeUnknownError) and not caught.value.outcome_unknown


@pytest.mark.parametrize(
    "url",
    [
        BAD_URL,
        "http://user:pw@[::1",
        "ftp://user:pw@host",
        "user:pw@host:80",
        "http://user:pw@host:99999",
        "http://",
        "http://user:pw@exa mple.com",
    ],
)
def test_invalid_base_url_is_refused_up_front_without_its_credentials(url):
    with pytest.raises(InvalidURLError) as caught:
        check_base_url(url)
    assert "pw" not in str(caught.value) and "user" not in str(caught.value)
    with pytest.raises(InvalidURLError):
        AsyncCloudClient(base_url=url, access_token="t")
    assert check_base_url("http://127.0.0.1:8900/") == "http://127.0.0.1:8900"


def test_send_live_with_an_invalid_base_url_exits_2_with_one_line(env, capsys, monkeypatch):
    monkeypatch.setenv("WAMKT_ACCESS_TOKEN", "live-token")
    started = time.monotonic()
    code = main(["send", "c1", "--live", "--db", str(env), "--base-url", BAD_URL, "--phone-number-id", "1"])
    captured = capsys.readouterr()
    assert code == 2 and time.monotonic() - started < 10
    err = captured.err.strip()
    assert err.startswith("wamkt send: --base-url: ") and "\n" not in err and "Traceback" not in err
    assert "pw" not in captured.out + captured.err and "user" not in captured.out + captured.err
    with open_store(env) as store:  # nothing was attempted
        assert ledger.state_counts(store, "c1")["planned"] == 3
        assert store.query("SELECT count(*) FROM attempts")[0][0] == 0


def test_send_to_a_closed_port_retries_then_pauses_without_unknown_outcomes(env, capsys):
    port = free_port()  # bound and closed again: every connection is refused
    code = main(
        [
            "send",
            "c1",
            "--sandbox",
            "--db",
            str(env),
            "--base-url",
            f"http://127.0.0.1:{port}",
            "--max-attempts",
            "2",
            "--pace",
            "40",
            "--quiet",
        ]
    )
    out = capsys.readouterr().out
    assert code == 3, out
    assert "paused: cannot reach the API" in out
    assert "resent after unknown outcome: 0" in out and "unknown 0" in out
    with open_store(env) as store:
        counts = ledger.state_counts(store, "c1")
        assert counts["unknown"] == 0 and counts["in_flight"] == 0
        outcomes = {r[0] for r in store.query("SELECT outcome FROM attempts")}
        assert "unknown" not in outcomes and outcomes, outcomes


def test_send_to_a_closed_port_reports_not_sent_never_an_unknown_outcome_in_the_error_table(env, capsys):
    port = free_port()
    code = main(
        [
            "send",
            "c1",
            "--sandbox",
            "--db",
            str(env),
            "--base-url",
            f"http://127.0.0.1:{port}",
            "--max-attempts",
            "2",
            "--pace",
            "40",
            "--quiet",
        ]
    )
    out = capsys.readouterr().out
    assert code == 3, out
    assert "outcome unknown" not in out and "could not connect: not sent" in out.lower()
    with open_store(env) as store:
        meanings = set(ledger.error_breakdown(store, "c1")["meaning"])
    assert meanings == {"Could not connect: not sent"}


def test_uncoded_errors_of_both_kinds_are_counted_apart(env):
    with open_store(env) as store:
        rows = [r[0] for r in store.query("SELECT send_id FROM sends WHERE campaign_id = 'c1'")]
        with store.transaction() as conn:
            conn.executemany(
                "INSERT INTO attempts (send_id, attempt_no, started_at, outcome, http_status)"
                " VALUES (?, 1, 1, ?, NULL)",
                [(rows[0], "error"), (rows[1], "timeout"), (rows[2], "lost")],
            )
        frame = ledger.error_breakdown(store, "c1")
    assert frame["meaning"].tolist() == [
        "2 timeout or dropped response: outcome unknown; 1 could not connect: not sent"
    ]
