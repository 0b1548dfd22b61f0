"""Customer data in the store: what was imported plus what customers did since, as one CustomerData.

``write_customer_data`` keeps an import (customers, order and interaction history) in the store's
``customers``, ``orders`` and ``interactions`` tables (migration ``customers/001``), replacing the
previous import. ``read_customer_data`` reads it back through the views that add what the webhook
receiver and the shop recorded afterwards: reads of our messages, replies, button taps and other
messages (``customer_interactions``), conversions (``customer_orders``) and STOP / START
(``consent`` overrides the imported ``opted_in``). So features, segments and dashboards built on
it see every campaign's effect without anyone re-exporting a file.

Times are kept as UTC epoch seconds (REAL, like every table of the store): they come back to the
microsecond. Customer columns beyond the contract are kept as JSON per row and come back as
columns (numbers and text as they were, timestamps as ISO text).
"""

from __future__ import annotations

import json
from typing import Iterable

import numpy as np
import pandas as pd

from ..store import Store
from .schema import CUSTOMER_COLUMNS, INTERACTION_COLUMNS, INTERACTION_KINDS, ORDER_COLUMNS, CustomerData

_TIME_COLUMNS = {"opt_in_at", "signup_at", "ordered_at", "at"}
_EPOCH = pd.Timestamp(0, tz="UTC")


def has_customer_data(store: Store) -> bool:
    """Whether an import was saved into this store."""
    return bool(store.query("SELECT EXISTS (SELECT 1 FROM customers)")[0][0])


def write_customer_data(store: Store, data: CustomerData) -> None:
    """Replace the stored import with ``data`` in one transaction (events recorded since stay)."""
    customers = data.customers.reset_index(drop=True)
    extra = [c for c in customers.columns if c not in CUSTOMER_COLUMNS]
    present = [c for c in CUSTOMER_COLUMNS if c in customers.columns]
    customer_rows = _rows(customers, present)
    if extra:
        customer_rows = (row + (_extra_json(customers, extra, i),) for i, row in enumerate(customer_rows))
        present = present + ["extra_json"]
    with store.transaction() as conn:
        for table in ("customers", "orders", "interactions"):
            conn.execute(f"DELETE FROM {table}")
        _insert(conn, "customers", present, customer_rows, replace=True)
        order_columns = [c for c in ORDER_COLUMNS if c in data.orders.columns]
        _insert(conn, "orders", order_columns, _rows(data.orders, order_columns), replace=True)
        _insert(conn, "interactions", list(INTERACTION_COLUMNS), _rows(data.interactions, list(INTERACTION_COLUMNS)))


def read_customer_data(store: Store) -> CustomerData:
    """The stored customers with every order and interaction known to the store (see module doc)."""
    customers = store.read_frame(
        "SELECT c.*, COALESCE(k.marketing, c.opted_in) AS opted_in_now FROM customers c "
        "LEFT JOIN consent k ON k.phone = c.phone ORDER BY c.rowid"
    )
    customers["opted_in"] = customers.pop("opted_in_now").fillna(0).astype(bool)
    customers = _with_extra(customers)
    orders = store.read_frame(
        "SELECT order_id, customer_id, ordered_at, amount, currency FROM customer_orders"
    )
    interactions = store.read_frame("SELECT customer_id, at, kind FROM customer_interactions")
    return CustomerData(
        customers=_typed(customers),
        orders=_typed(orders).astype({"amount": "float64"}),
        interactions=_typed(interactions).assign(
            kind=lambda f: pd.Categorical(f["kind"], categories=list(INTERACTION_KINDS))),
    )


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
    return zip(*(out[c] for c in columns)) if columns else iter(())


def _insert(conn, table: str, columns: list[str], rows: Iterable[tuple], replace: bool = False) -> None:
    verb = "INSERT OR REPLACE" if replace else "INSERT"
    conn.executemany(f"{verb} INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", rows)


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
    if not has_customer_data(store):
        return None
    if table == "orders":
        frame = store.read_frame("SELECT customer_id, ordered_at AS at, amount, currency FROM orders")
    elif table == "interactions":
        frame = store.read_frame("SELECT customer_id, at FROM interactions")
    else:
        raise ValueError(f"no imported table {table!r}; known: orders, interactions")
    return _typed(frame)


def customer_column(store: Store, column: str) -> pd.Series | None:
    """customer_id -> one column of the stored customers (None when nothing was imported)."""
    if column not in CUSTOMER_COLUMNS or not has_customer_data(store):
        return None
    frame = store.read_frame(f"SELECT customer_id, {column} FROM customers ORDER BY rowid")
    return frame.set_index(frame["customer_id"].astype(str))[column]
