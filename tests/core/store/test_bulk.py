"""Bulk writes (COPY on PostgreSQL) and a table's indexes set aside during them, on both databases."""

import pytest

from wamkt_nb.store.bulk import copy_rows, indexes_set_aside

pytestmark = pytest.mark.both_stores

COLUMNS = ("order_id", "customer_id", "phone", "at", "amount", "source")


def index_names(store) -> set[str]:
    if store.url is None:
        rows = store.query("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'conversions'")
    else:
        rows = store.query("SELECT indexname FROM pg_indexes WHERE tablename = 'conversions'")
    return {r[0] for r in rows}


def test_copy_rows_writes_every_value(store):
    rows = [(f"o{i}", f"C{i}", None if i % 2 else f"+49{i}", 1.5 * i, 10.25, "shop") for i in range(1000)]
    copy_rows(store, "conversions", COLUMNS, rows)
    back = store.query_tuples(f"SELECT {', '.join(COLUMNS)} FROM conversions ORDER BY at")
    assert back == rows


def test_indexes_set_aside_and_rebuilt(store):
    before = index_names(store)
    assert "conversions_customer_time" in before
    with indexes_set_aside(store, "conversions"):
        during = index_names(store)
        copy_rows(store, "conversions", COLUMNS, [("o1", "C1", None, 1.0, 2.0, "shop")])
    assert "conversions_customer_time" not in during
    assert index_names(store) == before
    with pytest.raises(RuntimeError), indexes_set_aside(store, "conversions"):
        raise RuntimeError("the block failed")
    assert index_names(store) == before  # rebuilt even so
