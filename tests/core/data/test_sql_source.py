"""Customers from real SQL databases (SQLite, DuckDB, DuckDB over Parquet, PostgreSQL), through the
same validation as files, and ``wamkt load --sql`` failing in one line without the password."""

from __future__ import annotations

import json
import sqlite3

import duckdb
import pandas as pd
import psycopg
import pytest
from helpers.cli import SECRET, assert_one_clear_line, wamkt
from helpers.processes import free_port

from wamkt_nb.data.readers import LoadError
from wamkt_nb.data.sql_source import load_customers_sql, read_sql_table
from wamkt_nb.widgets.data_loader import DataLoaderWidget

ROWS = [
    ("c1", "+49 151 23456789", "Anna Schmidt", "yes"),
    ("c2", "not a phone", "Bad Number", "yes"),
    ("c3", "+49 151 98765432", "Ben Braun", "no"),
    ("c4", "+49 151 23456789", None, "yes"),  # the same phone as c1: merged
]
QUERY = "SELECT id AS customer_id, phone, name, opt_in AS opted_in FROM people ORDER BY id"


def check(result) -> None:
    assert result.summary() == {"rows_in": 4, "loaded": 2, "rejected": 1, "merged": 1}
    assert result.balanced
    assert list(result.rows["phone"]) == ["+4915123456789", "+4915198765432"]
    assert list(result.rows["opted_in"]) == [True, False]
    [reason] = result.rejects["reason"]
    assert result.rejects["row"].iloc[0] == 2 and "phone" in reason.lower()


def make_sqlite(path) -> None:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE people (id TEXT, phone TEXT, name TEXT, opt_in TEXT)")
    con.executemany("INSERT INTO people VALUES (?, ?, ?, ?)", ROWS)
    con.commit()
    con.close()


def test_sqlite_query_loads_good_rows_and_rejects_with_reasons(tmp_path):
    make_sqlite(tmp_path / "crm.db")
    check(load_customers_sql(f"sqlite:///{tmp_path}/crm.db", QUERY))


def test_sqlite_is_opened_read_only(tmp_path):
    make_sqlite(tmp_path / "crm.db")
    with pytest.raises(LoadError, match="readonly"):
        read_sql_table(f"sqlite:///{tmp_path}/crm.db", "DELETE FROM people RETURNING id")
    assert sqlite3.connect(tmp_path / "crm.db").execute("SELECT count(*) FROM people").fetchone() == (4,)


def test_duckdb_file_and_parquet_queried_directly(tmp_path):
    con = duckdb.connect(str(tmp_path / "crm.duckdb"))
    con.execute("CREATE TABLE people (id VARCHAR, phone VARCHAR, name VARCHAR, opt_in VARCHAR)")
    con.executemany("INSERT INTO people VALUES (?, ?, ?, ?)", ROWS)
    con.close()
    check(load_customers_sql(f"duckdb:///{tmp_path}/crm.duckdb", QUERY))

    pd.DataFrame(ROWS, columns=["id", "phone", "name", "opt_in"]).to_parquet(tmp_path / "people.parquet")
    parquet_query = QUERY.replace("FROM people", f"FROM '{tmp_path}/people.parquet'")
    check(load_customers_sql("duckdb://", parquet_query))


def test_postgresql_query(postgres_server):
    url = postgres_server.create_database("crm_source")
    with psycopg.connect(url, autocommit=True) as con:
        con.execute("CREATE TABLE people (id TEXT, phone TEXT, name TEXT, opt_in BOOLEAN)")
        with con.cursor() as cur:
            cur.executemany(
                "INSERT INTO people VALUES (%s, %s, %s, %s)", [(i, p, n, o == "yes") for i, p, n, o in ROWS]
            )
    check(load_customers_sql(url, QUERY))
    with pytest.raises(LoadError, match="read-only"):
        read_sql_table(url, "DELETE FROM people RETURNING id")


@pytest.mark.parametrize(
    "url, query, expected",
    [
        ("mysql://u:p@host/db", "SELECT 1", "not a supported database URL"),
        ("sqlite:///missing.db", "SELECT 1", "no database file"),
        ("sqlite:///crm.db", "SELECT * FROM nowhere", "no such table"),
        ("sqlite:///crm.db", "SELECT * FROM people WHERE 0", "returned no rows"),
        ("sqlite:///crm.db", "   ", "needs a query"),
    ],
)
def test_bad_sources_are_load_errors(tmp_path, monkeypatch, url, query, expected):
    monkeypatch.chdir(tmp_path)
    make_sqlite(tmp_path / "crm.db")
    with pytest.raises(LoadError, match=expected):
        read_sql_table(url, query)


def test_cli_loads_from_sqlite(tmp_path):
    make_sqlite(tmp_path / "crm.db")
    done = wamkt("load", "--sql", "sqlite:///crm.db", "--query", QUERY, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "customers from sqlite:///crm.db (SQL query): rows in 4, loaded 2, rejected 1, merged 1" in done.stdout
    assert (tmp_path / "ws" / "rejects_customers.csv").exists()


def test_cli_unreachable_postgresql_is_one_line_without_the_password(tmp_path):
    url = f"postgresql://wamkt:{SECRET}@127.0.0.1:{free_port()}/crm"
    done = wamkt("load", "--sql", url, "--query", "SELECT 1", cwd=tmp_path)
    assert_one_clear_line(done, "could not load", "postgresql://***@127.0.0.1")


def test_cli_sql_error_and_missing_query_are_one_line(tmp_path):
    make_sqlite(tmp_path / "crm.db")
    done = wamkt("load", "--sql", "sqlite:///crm.db", "--query", "SELEC nonsense", cwd=tmp_path)
    assert_one_clear_line(done, "could not load", "syntax error")
    done = wamkt("load", "--sql", "sqlite:///crm.db", cwd=tmp_path)
    assert_one_clear_line(done, "--query")


def test_cli_wrong_password_is_one_line_without_it(tmp_path, postgres_server):
    url = f"postgresql://nobody:{SECRET}@127.0.0.1:{postgres_server.port}/postgres"
    done = wamkt("load", "--sql", url, "--query", "SELECT 1", cwd=tmp_path)
    assert_one_clear_line(done, "could not load", "postgresql://***@127.0.0.1")


def test_loader_widget_sql_tab_loads_and_keeps_no_password(postgres_server):
    url = postgres_server.create_database("crm_widget")
    with psycopg.connect(url, autocommit=True) as con:
        con.execute("CREATE TABLE people (id TEXT, phone TEXT, name TEXT, opt_in TEXT)")
        with con.cursor() as cur:
            cur.executemany("INSERT INTO people VALUES (%s, %s, %s, %s)", ROWS)
    w = DataLoaderWidget()
    w.sql_url.value = url.replace("postgres@", f"postgres:{SECRET}@")  # the test server trusts any password
    w.sql_query.value = QUERY
    w.sql_button.click()
    check(w.result)
    assert "Loaded 2 customers" in w.status.value
    state = json.dumps([w.sql_url.get_state(), w.sql_password.get_state(), w.status.get_state()], default=str)
    assert SECRET not in state and w.sql_url.value == url

    w.sql_query.value = "SELECT * FROM nowhere"
    w.sql_button.click()
    assert "nowhere" in w.status.value and w.result is not None  # the error shown, the data kept
