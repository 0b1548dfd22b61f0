"""``wamkt send``: create from a plan file, send through the embedded sandbox, refuse unclear cases."""

import time

import pytest
from helpers.plans import make_plan

from wamkt_nb import ledger
from wamkt_nb.cli import main
from wamkt_nb.data.sample import generate
from wamkt_nb.store import open_store


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("WAMKT_WORKSPACE", str(tmp_path))
    for name in ("WAMKT_ACCESS_TOKEN", "WAMKT_DB_PATH", "WAMKT_CONFIG", "WAMKT_PHONE_NUMBER_IDS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_send_a_plan_file_through_the_embedded_sandbox(env, capsys):
    data = generate(2_000, seed=42)  # the workspace's fallback sample: the sandbox knows these customers
    plan = make_plan(data.customers.head(12), template="order_shipped", planned_at=time.time())
    path = env / "plan.json"
    path.write_text(plan.to_json(orient="records", date_format="iso"))
    db = env / "w.db"
    code = main(["send", "spring", "--sandbox", "--plan", str(path), "--db", str(db), "--pace", "40", "--retry-held"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "embedded sandbox: http://127.0.0.1:" in out and "[complete] 12/12 final" in out
    assert "resent after unknown outcome: 0, confirmed duplicates: 0" in out
    with open_store(db) as store:  # the embedded sandbox's status webhooks reached the ledger
        counts = ledger.state_counts(store, "spring")
        assert counts["accepted"] == 0 and counts["sent"] + counts["delivered"] + counts["read"] == 12
        assert store.query("SELECT count(DISTINCT wamid) FROM status_events")[0][0] == 12
        assert (
            ledger.spec_of(store.query("SELECT spec_json FROM campaigns WHERE campaign_id = 'spring'")[0][0])[
                "retry_held_by_meta"
            ]
            is True
        )  # --retry-held opted the campaign in
    # a finished campaign needs --resume to be touched again, and then has nothing left to do
    assert main(["send", "spring", "--sandbox", "--db", str(db)]) == 2
    assert "add --resume" in capsys.readouterr().err


def test_clear_errors(env, capsys, monkeypatch):
    db = env / "w.db"
    assert main(["send", "nope", "--sandbox", "--db", str(db)]) == 2
    assert "no campaign 'nope'" in capsys.readouterr().err
    with open_store(db) as store:
        ledger.create_campaign(store, make_plan(2), name="x", now=time.time(), campaign_id="c1")
    assert main(["send", "c1", "--live", "--db", str(db)]) == 2
    assert "--live needs an access token" in capsys.readouterr().err
    monkeypatch.setenv("WAMKT_ACCESS_TOKEN", "live-token")  # never reached: the pace is refused first
    assert (
        main(
            [
                "send",
                "c1",
                "--live",
                "--db",
                str(db),
                "--pace",
                "max",
                "--confirm-high-rate",
                "--phone-number-id",
                "1",
                "--base-url",
                "http://127.0.0.1:9",
            ]
        )
        == 2
    )
    assert "above the configured cap of 80/s" in capsys.readouterr().err
    monkeypatch.delenv("WAMKT_ACCESS_TOKEN")
    assert main(["send", "c1", "--sandbox", "--db", str(db), "--pace", "max", "--base-url", "http://127.0.0.1:9"]) == 2
    assert "above 50/s" in capsys.readouterr().err
    assert main(["send", "c2", "--sandbox", "--db", str(db), "--plan", str(env / "missing.json")]) == 2
    assert "missing.json" in capsys.readouterr().err
    (env / "bad.json").write_text('[{"customer_id": "a"}]')
    assert main(["send", "c2", "--sandbox", "--db", str(db), "--plan", str(env / "bad.json")]) == 2
    assert "lacks column" in capsys.readouterr().err
    assert main(["send", "c1", "--db", str(db)]) == 2  # --sandbox, --live or --submit (a worker) is required
    assert "--submit to a running wamkt worker" in capsys.readouterr().err
