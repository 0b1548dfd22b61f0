"""With a team store named in the settings (``WAMKT_DATABASE_URL``), the analyst's side opens it
like the worker and the receiver do: the facade, the saved customer data, the dashboards and
``wamkt load``; nothing lands in the workspace's SQLite file and the URL's password is never shown."""

from __future__ import annotations

from helpers.cli import wamkt
from helpers.plans import make_plan

from wamkt_nb import ledger
from wamkt_nb.data.sample import generate
from wamkt_nb.facade import Workspace
from wamkt_nb.settings import Settings, load_settings
from wamkt_nb.widgets.analytics import Source
from wamkt_nb.workspace import load_customer_data, save_customer_data

PASSWORD = "hunter2-team-store"


def team_url(postgres_server, name: str) -> str:
    """A fresh database's URL with a password in it (the test server trusts local connections)."""
    return postgres_server.create_database(name).replace("postgres@", f"postgres:{PASSWORD}@", 1)


def test_the_facade_customers_and_dashboards_open_the_team_store(tmp_path, monkeypatch, postgres_server):
    url = team_url(postgres_server, "team_target")
    monkeypatch.setenv("WAMKT_DATABASE_URL", url)
    monkeypatch.setenv("WAMKT_WORKSPACE", str(tmp_path))
    assert save_customer_data(generate(30, seed=4)) == url
    assert len(load_customer_data().customers) == 30
    with Workspace(Settings(sandbox=True, database_url=load_settings().database_url), directory=tmp_path) as ws:
        assert ws.store.url == url and ws.store.path is None
        ledger.create_campaign(ws.store, make_plan(5), name="Team", now=1.0e9, campaign_id="team1")
    source = Source.load()
    assert source.data.campaigns["campaign_id"].tolist() == ["team1"]
    assert len(source.enriched) == 5
    assert not (tmp_path / "wamkt.db").exists()


def test_wamkt_load_saves_into_the_team_store_and_hides_its_password(tmp_path, postgres_server):
    url = team_url(postgres_server, "team_load")
    customers = tmp_path / "customers.csv"
    generate(12, seed=2).customers.to_csv(customers, index=False)
    done = wamkt("load", str(customers), cwd=tmp_path, WAMKT_DATABASE_URL=url, WAMKT_WORKSPACE=str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "saved to postgresql://" in done.stdout and PASSWORD not in done.stdout + done.stderr
    assert not (tmp_path / "wamkt.db").exists()
