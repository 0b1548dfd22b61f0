"""Only ``wamkt_nb/ledger/`` holds SQL on the ``sends`` and ``campaigns`` tables: every other module
calls its functions, so the state machine and its statements have one home. The schema's history
(``store/migrations/*.sql``, applied once per database and never edited) is not Python and stays
where the migration runner finds it."""

import re
from pathlib import Path

import wamkt_nb

PACKAGE = Path(wamkt_nb.__file__).parent
TABLE_SQL = re.compile(
    r"\b(?:FROM|INTO|UPDATE|JOIN)\s+(?:sends|campaigns)\b|\btable_info\s*\(\s*(?:sends|campaigns)\b", re.IGNORECASE
)
"""A statement on either table; ``\\s+`` spans line breaks, so multi-line SQL strings are caught too."""


def sql_outside_the_ledger(package: Path) -> list[str]:
    """``path:line: statement`` of every statement on the two tables outside ``package/ledger``."""
    found = []
    for path in sorted(package.rglob("*.py")):
        if package / "ledger" in path.parents:
            continue
        text = path.read_text(encoding="utf-8")
        for match in TABLE_SQL.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append(f"{path.relative_to(package.parent)}:{line}: {' '.join(match.group(0).split())}")
    return found


def test_no_module_outside_the_ledger_has_sql_on_sends_or_campaigns():
    assert sql_outside_the_ledger(PACKAGE) == []


def test_the_scan_finds_such_sql_and_spares_the_ledger(tmp_path):
    """The scan is not blind: multi-line and lower-case statements on either table are reported,
    the ledger's own are not."""
    package = tmp_path / "wamkt_nb"
    (package / "ledger").mkdir(parents=True)
    (package / "ledger" / "sends.py").write_text('Q = "SELECT * FROM sends"\n', encoding="utf-8")
    (package / "report.py").write_text(
        'QUERY = """SELECT state\n  FROM\n    sends WHERE send_id = ?"""\nOTHER = "update campaigns set status = ?"\n',
        encoding="utf-8",
    )
    assert sql_outside_the_ledger(package) == [
        "wamkt_nb/report.py:2: FROM sends",
        "wamkt_nb/report.py:4: update campaigns",
    ]
