"""Customer data in the store: what was imported plus what customers did since, as one CustomerData.

``write_customer_data`` keeps an import (customers, order and interaction history) in the store's
``customers``, ``orders`` and ``interactions`` tables (migration ``customers/001``), replacing the
previous import. ``read_customer_data`` adds what the webhook receiver and the shop recorded
afterwards: reads of our messages, replies, button taps and other messages
(``flowback_interactions``), conversions (``flowback_orders``) and STOP / START (``consent``
overrides the imported ``opted_in``). So features, segments and dashboards built on it see every
campaign's effect without anyone re-exporting a file. The views ``customer_orders`` and
``customer_interactions`` give the same union to anyone querying the database directly.

Speed: a million customers bring ten million orders; pulling them row by row out of SQLite takes
minutes, so the import's tables are read through columnar snapshots next to the database
(``store.snapshot``), valid while the import is unchanged; what flowed back is read live.
Times are kept as UTC epoch seconds (REAL, like every table of the store) to the microsecond.
Customer columns beyond the contract are kept as JSON per row and come back as columns (numbers
and text as they were, timestamps as ISO text).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable

import numpy as np
import pandas as pd

from ..identities import customer_keys, resolve_identity
from ..store import Store
from ..store.snapshot import read_snapshotted
from .schema import CUSTOMER_COLUMNS, INTERACTION_COLUMNS, INTERACTION_KINDS, ORDER_COLUMNS, CustomerData

_TIME_COLUMNS = {"opt_in_at", "signup_at", "ordered_at", "at"}
_EPOCH = pd.Timestamp(0, tz="UTC")
_SELECT = {  # the import's tables, each read whole in the order it was written (row_no)
    "customers": "SELECT * FROM customers ORDER BY row_no NULLS FIRST",
    "orders": f"SELECT {', '.join(ORDER_COLUMNS)} FROM orders ORDER BY row_no NULLS FIRST",
    "interactions": f"SELECT {', '.join(INTERACTION_COLUMNS)} FROM interactions ORDER BY row_no NULLS FIRST",
}
_KEY = {"customers": "customer_id", "orders": "order_id"}
"""The key of a table whose later row of the same key replaces an earlier one."""


def has_customer_data(store: Store) -> bool:
    """Whether an import was saved into this store."""
    return bool(store.query("SELECT EXISTS (SELECT 1 FROM customers)")[0][0])


def write_customer_data(store: Store, data: CustomerData) -> None:
    """Replace the stored import with ``data`` in one transaction (events recorded since stay), then
    build the import's snapshots."""
    customers = data.customers.reset_index(drop=True)
    extra = [c for c in customers.columns if c not in CUSTOMER_COLUMNS and c != "bsuid"]
    present = [c for c in (*CUSTOMER_COLUMNS, "bsuid") if c in customers.columns]
    customer_rows = _rows(customers, present)
    if extra:
        customer_rows = (row + (_extra_json(customers, extra, i),) for i, row in enumerate(customer_rows))
        present = present + ["extra_json"]
    order_columns = [c for c in ORDER_COLUMNS if c in data.orders.columns]
    with store.transaction() as conn:
        for table in _SELECT:
            conn.execute(f"DELETE FROM {table}")
        _insert(conn, "customers", present, customer_rows)
        _insert(conn, "orders", order_columns, _rows(data.orders, order_columns))
        _insert(conn, "interactions", list(INTERACTION_COLUMNS), _rows(data.interactions, list(INTERACTION_COLUMNS)))
        _record_identities(conn, customers)
        conn.execute(
            "INSERT INTO customer_imports (imported_at, customers, orders, interactions) VALUES (?, ?, ?, ?)",
            (time.time(), len(customers), len(data.orders), len(data.interactions)),
        )
    for table in _SELECT:  # the snapshots now, so no dashboard's first visit waits for them
        _imported(store, table)


def read_customer_data(store: Store) -> CustomerData:
    """The stored customers with every order and interaction known to the store (see module doc)."""
    customers = _imported(store, "customers")
    consent = store.read_frame("SELECT phone, marketing FROM consent")
    if len(consent):
        keys = customer_keys(store, customers["phone"], customers.get("bsuid"))
        now_opted = keys.map(consent.set_index("phone")["marketing"].astype(bool))
        customers["opted_in"] = now_opted.fillna(customers["opted_in"]).astype(bool)
    orders = pd.concat(
        [
            _imported(store, "orders"),
            _typed(store.read_frame("SELECT order_id, customer_id, ordered_at, amount, currency FROM flowback_orders")),
        ],
        ignore_index=True,
    )
    interactions = pd.concat(
        [
            _imported(store, "interactions"),
            _typed(store.read_frame("SELECT customer_id, at, kind FROM flowback_interactions")),
        ],
        ignore_index=True,
    )
    return CustomerData(
        customers=customers,
        orders=orders.astype({"amount": "float64"}),
        interactions=interactions.assign(kind=pd.Categorical(interactions["kind"], categories=list(INTERACTION_KINDS))),
    )


def _record_identities(conn, customers: pd.DataFrame) -> None:
    """Tell the store's identities which imported phone and BSUID are one customer, so a webhook
    naming either finds the customer (:mod:`wamkt_nb.identities`)."""
    if "bsuid" not in customers:
        return
    named = customers[customers["bsuid"].notna()]
    usernames = named["username"] if "username" in named else pd.Series(pd.NA, index=named.index)
    for phone, bsuid, username in zip(named["phone"], named["bsuid"], usernames, strict=True):
        resolve_identity(
            conn,
            phone=None if pd.isna(phone) else str(phone),
            bsuid=str(bsuid),
            username=None if pd.isna(username) else str(username),
            at=time.time(),
        )


def _imported(store: Store, table: str) -> pd.DataFrame:
    """One of the import's tables as typed frame, through its snapshot. Only ``write_customer_data``
    writes these tables, and each call records a new import: the latest import's id and time with
    the row count and the highest row number tell a current snapshot from a stale one (also one left
    beside a database that was deleted and written again) without scanning the rows' values."""
    latest = "FROM customer_imports ORDER BY import_id DESC LIMIT 1"
    fingerprint = (
        f"SELECT (SELECT import_id {latest}), (SELECT imported_at {latest}), COUNT(*), MAX(row_no) FROM {table}"
    )

    def load() -> pd.DataFrame:
        frame = store.read_frame(_SELECT[table])
        if table == "customers":
            frame = frame.drop(columns="row_no")
            frame["opted_in"] = frame["opted_in"].fillna(0).astype(bool)
            if frame["bsuid"].isna().all():  # like any optional column: there when the import had it
                frame = frame.drop(columns="bsuid")
            frame = _with_extra(frame)
        return _typed(frame)

    return read_snapshotted(store, f"import-{table}", fingerprint, load, ("kind",) if table == "interactions" else ())


def _rows(frame: pd.DataFrame, columns: list[str]) -> Iterable[tuple]:
    """Rows for SQLite: timestamps as epoch seconds, missing values as NULL, numpy scalars as Python."""
    out = {}
    for c in columns:
        values = frame[c]
        if c in _TIME_COLUMNS:
            values = ((pd.to_datetime(values, utc=True) - _EPOCH) // pd.Timedelta(microseconds=1)) / 1e6
        elif c == "opted_in":
            values = values.astype("boolean").astype("Int64")
        out[c] = values.astype(object).where(values.notna(), None).tolist()
    return zip(*(out[c] for c in columns), strict=True) if columns else iter(())


def _insert(conn, table: str, columns: list[str], rows: Iterable[tuple]) -> None:
    """Insert ``rows`` numbered in their order; a later row of the same key replaces the earlier one
    and takes its place in the order."""
    columns = [*columns, "row_no"]
    upsert = ""
    if table in _KEY:
        upsert = f" ON CONFLICT ({_KEY[table]}) DO UPDATE SET " + ", ".join(
            f"{c} = excluded.{c}" for c in columns if c != _KEY[table]
        )
    conn.executemany(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}){upsert}",
        ((*row, i) for i, row in enumerate(rows)),
    )


def _extra_json(customers: pd.DataFrame, extra: list[str], i: int) -> str:
    values = {c: customers[c].iat[i] for c in extra}
    return json.dumps({c: _plain(v) for c, v in values.items() if not _missing(v)}, ensure_ascii=False)


def _missing(value: object) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (pd.Timestamp,)):
        return value.isoformat()
    return value if isinstance(value, (str, int, float, bool)) else str(value)


def _with_extra(customers: pd.DataFrame) -> pd.DataFrame:
    extra = customers.pop("extra_json")
    if extra.isna().all():
        return customers
    expanded = pd.DataFrame([json.loads(x) if isinstance(x, str) else {} for x in extra], index=customers.index)
    return pd.concat([customers, expanded], axis=1)


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Times back to tz-aware UTC (to the microsecond), text columns to pandas strings."""
    out = {}
    for c in frame.columns:
        values = frame[c]
        if c in _TIME_COLUMNS:
            micros = (pd.to_numeric(values, errors="coerce") * 1e6).round().astype("Int64")
            out[c] = pd.to_datetime(micros, unit="us", utc=True).astype("datetime64[ns, UTC]")
        elif values.dtype == object and c != "kind":
            out[c] = values.astype("string")
        else:
            out[c] = values
    return pd.DataFrame(out, index=frame.index)


def imported_history(store: Store, table: str) -> pd.DataFrame | None:
    """The import's own ``orders`` (customer_id, at, amount, currency) or ``interactions``
    (customer_id, at) without the events recorded since, for reports that add those from the
    ledger themselves; None when nothing was imported."""
    if table not in ("orders", "interactions"):
        raise ValueError(f"no imported table {table!r}; known: orders, interactions")
    if not has_customer_data(store):
        return None
    frame = _imported(store, table)
    if table == "orders":
        return frame[["customer_id", "ordered_at", "amount", "currency"]].rename(columns={"ordered_at": "at"})
    return frame[["customer_id", "at"]]


def customer_column(store: Store, column: str) -> pd.Series | None:
    """customer_id -> one column of the stored customers (None when nothing was imported)."""
    if column not in CUSTOMER_COLUMNS or not has_customer_data(store):
        return None
    frame = _imported(store, "customers")
    return frame.set_index(frame["customer_id"].astype(str))[column]
