"""Files that hold phone numbers are owner-only, and spreadsheet exports cannot run formulas.

Guards issue #17's "databases, WAL files, customers.parquet and rejects CSVs are created
world-readable (0644)" and "rejects_customers.csv carries =HYPERLINK(...), +cmd|..., @SUM cells".
Modes are checked under a permissive umask (022), as a default shell has.
"""

from __future__ import annotations

import csv
import io
import os
import stat
import subprocess
import sys

import openpyxl
import pandas as pd
import pytest
from helpers import ROOT

from wamkt_nb.analytics.snapshot import read_sends, snapshot_path
from wamkt_nb.cli import main
from wamkt_nb.data.privacy import workspace_id_key
from wamkt_nb.data.sample import generate
from wamkt_nb.exports import defuse_formula, save_table, spreadsheet_safe, table_bytes
from wamkt_nb.store import open_store
from wamkt_nb.workspace import load_customer_data, save_customer_data

HOSTILE = [
    '=HYPERLINK("http://evil.example","x")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture(autouse=True)
def permissive_umask():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_database_wal_and_shm_files_are_created_owner_only(tmp_path):
    path = tmp_path / "new" / "folder" / "wamkt.db"
    with open_store(path) as store:
        with store.transaction() as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS probe (x)")
            conn.execute("INSERT INTO probe VALUES (1)")
        journals = [path.with_name(path.name + s) for s in ("-wal", "-shm")]
        assert all(p.exists() for p in journals)
        assert {mode(p) for p in [path, *journals]} == {0o600}
    assert mode(tmp_path / "new") == mode(tmp_path / "new" / "folder") == 0o700


def test_an_existing_world_readable_database_is_made_owner_only(tmp_path):
    path = tmp_path / "old.db"
    open_store(path).close()
    os.chmod(path, 0o644)
    open_store(path).close()
    assert mode(path) == 0o600


def test_workspace_database_snapshots_and_id_key_are_owner_only(tmp_path):
    ws = tmp_path / "ws"
    save_customer_data(generate(30), ws)
    load_customer_data(ws)  # reading writes the columnar snapshots next to the database
    workspace_id_key(ws)
    assert any(p.suffix == ".parquet" for p in ws.iterdir()), sorted(p.name for p in ws.iterdir())
    assert mode(ws) == 0o700
    assert {mode(p) for p in ws.iterdir()} == {0o600}, {p.name: oct(mode(p)) for p in ws.iterdir()}


def test_rejects_csv_is_owner_only_and_its_formula_cells_are_defused(tmp_path, capsys):
    hostile = [v for v in HOSTILE if "\r" not in v and '"' not in v]
    rows = "\n".join(f"{value},x{i}" for i, value in enumerate(hostile))
    (tmp_path / "k.csv").write_text(f"phone,name\n+4915112345678,Anna\n{rows}\n")
    ws = tmp_path / "ws"
    assert main(["load", str(tmp_path / "k.csv"), "--workspace", str(ws)]) == 0
    rejects = ws / "rejects_customers.csv"
    assert mode(rejects) == 0o600 and mode(ws / "wamkt.db") == 0o600
    values = pd.read_csv(rejects, dtype=str)["value"].dropna()
    assert len(values) == len(hostile)
    assert all(v.startswith("'") for v in values), values.tolist()


def test_formula_leading_text_is_escaped_and_numbers_stay_numbers():
    table = pd.DataFrame(
        {"text": HOSTILE + ["-12.5", "+4915112345678", "Anna", None], "amount": [-1.5] * (len(HOSTILE) + 4)}
    )
    safe = spreadsheet_safe(table)
    assert all(v.startswith("'") for v in safe["text"][: len(HOSTILE)])
    assert safe["text"].tolist()[len(HOSTILE) : -1] == ["-12.5", "+4915112345678", "Anna"]
    assert pd.isna(safe["text"].iloc[-1]) and safe["amount"].tolist() == table["amount"].tolist()
    back = list(csv.reader(io.StringIO(table_bytes(table, "csv").decode(), newline="")))
    assert back[0] == ["text", "amount"] and {row[1] for row in back[1:]} == {"-1.5"}
    assert [row[0][0] for row in back[1 : len(HOSTILE) + 1]] == ["'"] * len(HOSTILE)
    assert defuse_formula("=1") == "'=1" and defuse_formula(-3) == -3


def test_excel_export_holds_no_formula_cells(tmp_path):
    table = pd.DataFrame({"=cmd": HOSTILE, "n": range(len(HOSTILE))})
    path = save_table(table, tmp_path / "out.xlsx")
    assert mode(path) == 0o600
    sheet = openpyxl.load_workbook(path).active
    cells = [c for row in sheet.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    assert sheet["A1"].value == "'=cmd"


def test_every_file_wamkt_demo_creates_is_owner_only(tmp_path):
    """The whole workspace of a demo run (databases, Parquet, the ledger's snapshot next to the
    database) is owner-only: the snapshot was written 0644 by pyarrow under a 022 umask."""
    workspace = tmp_path / "demo"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "wamkt_nb",
            "demo",
            "--no-serve",
            "--customers",
            "200",
            "--days",
            "2",
            "--workspace",
            str(workspace),
        ],
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    created = [workspace, *workspace.rglob("*")]
    assert any(p.name.endswith(".sends.parquet") for p in created)
    loose = {str(p.relative_to(tmp_path)): oct(mode(p)) for p in created if mode(p) != (0o700 if p.is_dir() else 0o600)}
    assert loose == {}


def test_the_ledger_snapshot_is_owner_only(tmp_path):
    with open_store(tmp_path / "wamkt.db") as store:
        read_sends(store, lambda: pd.DataFrame({"send_id": [1], "state": ["sent"]}))
        assert mode(snapshot_path(store)) == 0o600


def test_categorical_text_cells_are_defused_in_csv_and_excel_exports():
    """Analytics frames hold segment, arm and campaign names as categoricals: those cells were
    written as they were, and the Excel export stored =HYPERLINK(...) as a live formula."""
    table = pd.DataFrame({"arm": pd.Categorical([HOSTILE[0], "control", None]), "n": [1, 2, 3]})
    text = table_bytes(table, "csv").decode()
    assert "\r\n\"'=HYPERLINK" in text and "control" in text
    sheet = openpyxl.load_workbook(io.BytesIO(table_bytes(table, "xlsx"))).active
    cells = [c for row in sheet.iter_rows() for c in row]
    assert all(c.data_type != "f" for c in cells)
    assert sheet["A2"].value == "'" + HOSTILE[0] and sheet["B4"].value == 3
