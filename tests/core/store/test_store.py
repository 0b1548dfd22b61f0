import sqlite3

import pytest

from wamkt_nb.store import StoreError, migrations, open_store
from wamkt_nb.store.migrations import known_migrations


def test_open_creates_schema_in_wal_mode(tmp_path):
    store = open_store(tmp_path / "w.db")
    assert store.query("PRAGMA journal_mode")[0][0] == "wal"
    assert store.query("PRAGMA foreign_keys")[0][0] == 1
    tables = {r[0] for r in store.query("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"campaigns", "sends", "attempts", "status_events", "inbound_messages", "consent"} <= tables
    store.close()


def test_reopening_applies_nothing_twice(tmp_path):
    open_store(tmp_path / "w.db").close()
    store = open_store(tmp_path / "w.db")
    rows = store.query("SELECT component, version, count(*) c FROM schema_migrations GROUP BY 1, 2")
    assert all(r["c"] == 1 for r in rows)
    assert len(rows) == len(known_migrations())


def test_database_of_version_n_opens_in_n_plus_1(tmp_path, monkeypatch):
    """Simulate an older release by applying only the first migration, then open with all."""
    everything = known_migrations()
    monkeypatch.setattr(migrations, "known_migrations", lambda: everything[:1])
    old = open_store(tmp_path / "w.db")
    old.execute("INSERT INTO campaigns (campaign_id, name, category, created_at) VALUES ('c1', 'old', 'marketing', 1)")
    old.close()
    monkeypatch.setattr(migrations, "known_migrations", lambda: everything)
    new = open_store(tmp_path / "w.db")
    assert new.query("SELECT name FROM campaigns")[0][0] == "old"
    assert len(new.query("SELECT * FROM schema_migrations")) == len(everything)


def test_newer_database_is_refused_not_damaged(tmp_path):
    store = open_store(tmp_path / "w.db")
    store.execute("INSERT INTO schema_migrations VALUES ('core', 999, 'future', 0)")
    store.close()
    with pytest.raises(StoreError, match="newer wamkt_nb"):
        open_store(tmp_path / "w.db")


def test_not_a_database(tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StoreError, match="junk.db"):
        open_store(junk)


def test_transaction_rolls_back_on_error(tmp_path):
    store = open_store(tmp_path / "w.db")
    with pytest.raises(sqlite3.IntegrityError):
        with store.transaction() as conn:
            conn.execute(
                "INSERT INTO campaigns (campaign_id, name, category, created_at) VALUES ('c1', 'a', 'marketing', 1)"
            )
            conn.execute(
                "INSERT INTO campaigns (campaign_id, name, category, created_at) VALUES ('c1', 'b', 'marketing', 1)"
            )
    assert store.query("SELECT count(*) FROM campaigns")[0][0] == 0


def test_two_connections_write_in_turn(tmp_path):
    a, b = open_store(tmp_path / "w.db"), open_store(tmp_path / "w.db")
    with a.transaction() as conn:
        conn.execute("INSERT INTO service_windows VALUES ('+491511', 1)")
    with b.transaction() as conn:
        conn.execute("INSERT INTO service_windows VALUES ('+491512', 2)")
    assert a.query("SELECT count(*) FROM service_windows")[0][0] == 2
