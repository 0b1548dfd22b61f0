"""Customers, orders and interactions from files or records, with every source row accounted for.

Each loader returns a ``LoadResult``: the good rows in the schema of ``schema.py``, a rejects
table (source row, column, value, reason) and counts with rows in = loaded + rejected + merged.
Customers with the same phone number are merged into the first one (missing fields filled from
the later rows); repeated orders (same order id) and interactions are merged the same way.
A customer row needs a phone number, a business-scoped user ID (BSUID, column ``bsuid``) or both;
rows with the same BSUID are merged too, also when only one of them has the phone. ``bsuid`` and
``username`` columns are kept when the source has them.
A source without customer ids gets ``privacy.customer_ids`` (a keyed hash of the phone, or of the
BSUID without a phone, never the number itself), keyed by ``id_key`` or else the workspace's key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..bsuid import BSUID_RE
from . import values as v
from .columns import CUSTOMER_ADDRESSES, CUSTOMER_KEYS, REQUIRED, MappingError, missing_fields, resolve_mapping
from .phones import DEFAULT_REGION, normalize_phones, phone_regions
from .privacy import customer_ids, workspace_id_key
from .readers import REJECT_COLUMNS, LoadError, RawTable, read_source
from .schema import CUSTOMER_COLUMNS, INTERACTION_COLUMNS, INTERACTION_KINDS, ORDER_COLUMNS, CustomerData

Source = str | Path | bytes | RawTable | pd.DataFrame
_KIND_NAMES = {
    "inbound": "inbound",
    "eingehend": "inbound",
    "incoming": "inbound",
    "message": "inbound",
    "nachricht": "inbound",
    "received": "inbound",
    "read": "read",
    "gelesen": "read",
    "opened": "read",
    "open": "read",
    "geoeffnet": "read",
    "geöffnet": "read",
    "click": "click",
    "klick": "click",
    "clicked": "click",
    "geklickt": "click",
    "reply": "reply",
    "antwort": "reply",
    "replied": "reply",
    "beantwortet": "reply",
    "answer": "reply",
}


@dataclass
class LoadResult:
    """Good rows, rejected rows with reasons, and how every source row was accounted for."""

    kind: str  # customers | orders | interactions
    rows: pd.DataFrame
    rejects: pd.DataFrame  # row, column, value, reason (a row may have several reasons)
    rows_in: int
    merged: int
    mapping: dict[str, str]
    columns: list[str]  # the source's columns, for choosing a mapping
    source: str
    notes: list[str] = field(default_factory=list)
    merges: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["row", "kept_row", "key"]))

    @property
    def loaded(self) -> int:
        return len(self.rows)

    @property
    def rejected(self) -> int:
        return int(self.rejects["row"].nunique())

    @property
    def balanced(self) -> bool:
        return self.rows_in == self.loaded + self.rejected + self.merged

    def summary(self) -> dict[str, int]:
        return {"rows_in": self.rows_in, "loaded": self.loaded, "rejected": self.rejected, "merged": self.merged}

    def __repr__(self) -> str:
        return (
            f"LoadResult({self.kind} from {self.source}: {self.rows_in} in, {self.loaded} loaded, "
            f"{self.rejected} rejected, {self.merged} merged)"
        )


def load_customers(
    source: Source,
    mapping: Mapping[str, str | None] | None = None,
    default_region: str = DEFAULT_REGION,
    name: str | None = None,
    id_key: bytes | None = None,
) -> LoadResult:
    """Customers from a file path, uploaded bytes (``name`` gives the type), a RawTable or DataFrame."""
    raw, columns, mapping_, problems = _begin(source, name, "customers", mapping)
    frame = raw.frame
    notes = list(raw.notes)

    def get(field: str, parse: Callable[[pd.Series], pd.Series] = v.text) -> pd.Series:
        """The parsed source column of ``field``, or all missing when the source has none."""
        if field in mapping_:
            return parse(frame[mapping_[field]])
        return pd.Series(pd.NA, index=frame.index, dtype="string")

    bsuid = _bsuids(frame, mapping_, problems)
    phone = _phones(frame, mapping_, default_region, bsuid, problems)

    out = pd.DataFrame(index=frame.index)
    out["phone"] = phone
    out["customer_id"] = _fill_ids(get("customer_id"), phone.fillna(bsuid), id_key)
    first, last, full = get("first_name"), get("last_name"), get("name")
    joined = (first.fillna("") + " " + last.fillna("")).str.strip().replace("", pd.NA)
    out["name"] = full.fillna(joined)
    parts = out["name"].str.split(" ", n=1, expand=True).reindex(columns=[0, 1])  # columnar: no list per row
    out["first_name"] = first.fillna(parts[0].astype("string"))
    out["last_name"] = last.fillna(parts[1].astype("string"))
    out["email"] = get("email", v.emails)
    phone_country, phone_zone = phone_regions(phone)
    out["country"] = get("country", v.country_codes).fillna(phone_country).fillna(bsuid.str[:2])
    out["language"] = get("language", v.language_codes).fillna(v.default_language(out["country"]))
    out["timezone"] = get("timezone", v.time_zones).fillna(phone_zone).fillna("UTC")
    out["city"] = get("city")
    if "opted_in" in mapping_:
        out["opted_in"], reason = v.yes_no(frame[mapping_["opted_in"]], "opt-in")
        problems.add(reason, mapping_["opted_in"], frame[mapping_["opted_in"]])
    else:
        out["opted_in"] = False
        notes.append("no opt-in column: every customer counts as not opted in")
    for column in ("opt_in_at", "signup_at"):
        if column in mapping_:
            out[column], reason = v.timestamps(frame[mapping_[column]], column.replace("_", " "))
            problems.add(reason, mapping_[column], frame[mapping_[column]])
        else:
            out[column] = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns, UTC]")
    bad_emails = int((get("email").notna() & out["email"].isna()).sum())
    if bad_emails:
        notes.append(f"{bad_emails} e-mail addresses were not addresses and were left empty")

    identity = [c for c in ("bsuid", "username") if c in mapping_]  # kept only when the source has them
    out["bsuid"] = bsuid
    if "username" in identity:
        out["username"] = get("username")
    good = out[~out.index.isin(problems.rows)]
    good, merges = _merge_customers(good)
    good, conflicts = _id_conflicts(good)
    problems.extend(conflicts)
    columns_out = [*CUSTOMER_COLUMNS, *identity]
    rows = good[columns_out].reset_index(drop=True)
    rows = rows.astype({c: "string" for c in columns_out if c not in ("opted_in", "opt_in_at", "signup_at")})
    rows["opted_in"] = rows["opted_in"].astype(bool)
    return _result("customers", rows, problems, raw, mapping_, columns, merges, notes)


def load_orders(
    source: Source,
    customers: pd.DataFrame | None = None,
    mapping: Mapping[str, str | None] | None = None,
    default_region: str = DEFAULT_REGION,
    default_currency: str = "EUR",
    name: str | None = None,
    id_key: bytes | None = None,
) -> LoadResult:
    """Orders joined to ``customers`` by customer id, phone or BSUID (without customers: as given)."""
    raw, columns, mapping_, problems = _begin(source, name, "orders", mapping)
    frame = raw.frame
    out = pd.DataFrame(index=frame.index)
    out["customer_id"] = _customer_keys(frame, mapping_, customers, default_region, problems, id_key)
    out["amount"], reason = v.amounts(frame[mapping_["amount"]])
    problems.add(reason, mapping_["amount"], frame[mapping_["amount"]])
    out["ordered_at"], reason = v.timestamps(frame[mapping_["ordered_at"]], "order date")
    problems.add(
        reason.fillna(_empty(out["ordered_at"], "order date is empty")),
        mapping_["ordered_at"],
        frame[mapping_["ordered_at"]],
    )
    stem = Path(raw.source).stem or "order"
    ids = (
        v.text(frame[mapping_["order_id"]])
        if "order_id" in mapping_
        else pd.Series(pd.NA, index=frame.index, dtype="string")
    )
    out["order_id"] = ids.fillna(pd.Series([f"{stem}-{r}" for r in frame.index], index=frame.index, dtype="string"))
    currency = v.text(frame[mapping_["currency"]]).str.upper() if "currency" in mapping_ else None
    out["currency"] = currency.fillna(default_currency) if currency is not None else default_currency
    good = out[~out.index.isin(problems.rows)]
    good, merges = _merge_exact(good, ["order_id"])
    rows = good[list(ORDER_COLUMNS)].reset_index(drop=True)
    rows = rows.astype({"order_id": "string", "customer_id": "string", "currency": "string", "amount": "float64"})
    return _result("orders", rows, problems, raw, mapping_, columns, merges)


def load_interactions(
    source: Source,
    customers: pd.DataFrame | None = None,
    mapping: Mapping[str, str | None] | None = None,
    default_region: str = DEFAULT_REGION,
    name: str | None = None,
    id_key: bytes | None = None,
) -> LoadResult:
    """Interactions (inbound / read / click / reply, English or German) joined to ``customers``."""
    raw, columns, mapping_, problems = _begin(source, name, "interactions", mapping)
    frame = raw.frame
    out = pd.DataFrame(index=frame.index)
    out["customer_id"] = _customer_keys(frame, mapping_, customers, default_region, problems, id_key)
    out["at"], reason = v.timestamps(frame[mapping_["at"]], "time")
    problems.add(reason.fillna(_empty(out["at"], "time is empty")), mapping_["at"], frame[mapping_["at"]])
    kinds = (
        v.text(frame[mapping_["kind"]])
        .str.lower()
        .map(lambda k: _KIND_NAMES.get(k, pd.NA) if not pd.isna(k) else pd.NA)
    )
    out["kind"] = kinds.astype("string")
    kind_reason = pd.Series(
        np.where(kinds.isna(), "kind is not one of " + "/".join(INTERACTION_KINDS), None), index=frame.index
    ).astype("string")
    problems.add(kind_reason, mapping_["kind"], frame[mapping_["kind"]])
    good = out[~out.index.isin(problems.rows)]
    good, merges = _merge_exact(good, ["customer_id", "at", "kind"])
    rows = good[list(INTERACTION_COLUMNS)].reset_index(drop=True)
    rows["customer_id"] = rows["customer_id"].astype("string")
    rows["kind"] = pd.Categorical(rows["kind"].astype(object), categories=list(INTERACTION_KINDS))
    return _result("interactions", rows, problems, raw, mapping_, columns, merges)


def to_customer_data(
    customers: LoadResult, orders: LoadResult | None = None, interactions: LoadResult | None = None
) -> CustomerData:
    """The loaded tables as CustomerData (empty orders/interactions when not loaded)."""
    return CustomerData(
        customers=customers.rows,
        orders=orders.rows if orders is not None else empty_orders(),
        interactions=interactions.rows if interactions is not None else empty_interactions(),
    )


def empty_orders() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "order_id": pd.Series(dtype="string"),
            "customer_id": pd.Series(dtype="string"),
            "ordered_at": pd.Series(dtype="datetime64[ns, UTC]"),
            "amount": pd.Series(dtype="float64"),
            "currency": pd.Series(dtype="string"),
        }
    )


def empty_interactions() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": pd.Series(dtype="string"),
            "at": pd.Series(dtype="datetime64[ns, UTC]"),
            "kind": pd.Categorical([], categories=list(INTERACTION_KINDS)),
        }
    )


class _Problems:
    """Reject lines collected per source row."""

    def __init__(self, initial: list[dict]) -> None:
        self.lines = list(initial)
        self.rows: set[int] = {r["row"] for r in initial}

    def add(self, reasons: pd.Series, column: str, raw: pd.Series) -> None:
        bad = reasons.notna()
        for row in reasons.index[bad]:
            self.lines.append({"row": int(row), "column": column, "value": _show(raw[row]), "reason": reasons[row]})
            self.rows.add(int(row))

    def extend(self, lines: list[dict]) -> None:
        self.lines.extend(lines)
        self.rows.update(line["row"] for line in lines)

    def frame(self) -> pd.DataFrame:
        frame = pd.DataFrame(self.lines, columns=list(REJECT_COLUMNS))
        return (
            frame.sort_values("row", kind="stable")
            .reset_index(drop=True)
            .astype({"row": "int64", "column": "string", "value": "string", "reason": "string"})
        )


def _begin(
    source: Source, name: str | None, kind: str, mapping: Mapping[str, str | None] | None
) -> tuple[RawTable, list[str], dict[str, str], _Problems]:
    """Read the source, resolve its column mapping, and start the rejects with unreadable records."""
    raw = _raw(source, name)
    columns, mapping_ = _mapping(raw, kind, mapping)
    return raw, columns, mapping_, _Problems(raw.rejects)


def _raw(source: Source, name: str | None) -> RawTable:
    if isinstance(source, RawTable):
        return source
    if isinstance(source, pd.DataFrame):
        if source.empty:
            raise LoadError(f"{name or 'the table'} has no rows")
        frame = source.reset_index(drop=True).astype(object)
        frame.index = pd.Index(range(1, len(frame) + 1), name="row")
        return RawTable(frame, name or "DataFrame")
    return read_source(source, name)


def _mapping(raw: RawTable, kind: str, override: Mapping[str, str | None] | None) -> tuple[list[str], dict[str, str]]:
    columns = [str(c) for c in raw.frame.columns]
    raw.frame.columns = columns
    try:
        mapping = resolve_mapping(columns, kind, override)
    except MappingError as exc:
        raise LoadError(f"{raw.source}: {exc}") from None
    if raw.frame.empty:  # every record was unreadable: no rows to map, all of them rejects
        keys = CUSTOMER_ADDRESSES if kind == "customers" else CUSTOMER_KEYS
        needed = REQUIRED[kind] + (("phone",) if not any(k in mapping for k in keys) else ())
        for name in needed:
            if name not in mapping:
                mapping[name] = name
                raw.frame[name] = pd.Series(dtype=object)
        return columns, mapping
    message = missing_fields(mapping, kind, columns)
    if message:
        raise LoadError(f"{raw.source}: {message}")
    return columns, mapping


def _customer_keys(
    frame: pd.DataFrame,
    mapping: dict[str, str],
    customers: pd.DataFrame | None,
    region: str,
    problems: _Problems,
    id_key: bytes | None,
) -> pd.Series:
    """Each row's customer_id: the id column, else the loaded customer with that phone, else with
    that BSUID (without ``customers``: the id ``load_customers`` derives from the phone, or from the
    BSUID of a customer without one)."""
    ids = (
        v.text(frame[mapping["customer_id"]])
        if "customer_id" in mapping
        else pd.Series(pd.NA, index=frame.index, dtype="string")
    )
    if "bsuid" in mapping:
        ids = _ids_by_bsuid(frame, mapping, ids, customers, problems, id_key)
    if "phone" in mapping:
        phone, reason = normalize_phones(frame[mapping["phone"]], region)
        if customers is not None and len(customers):
            by_phone = pd.Series(customers["customer_id"].to_numpy(), index=customers["phone"].to_numpy())
            by_phone = by_phone[~by_phone.index.duplicated()]
            phone = phone.map(by_phone).astype("string").where(phone.notna())
            reason = reason.where(phone.notna() | reason.notna(), "no loaded customer has this phone")
            ids = ids.fillna(phone)
        else:
            ids = _fill_ids(ids, phone, id_key)
        problems.add(reason.where(ids.isna()), mapping["phone"], frame[mapping["phone"]])
    elif "customer_id" in mapping:
        problems.add(
            pd.Series(np.where(ids.isna(), "customer id is empty", None), index=frame.index).astype("string"),
            mapping["customer_id"],
            frame[mapping["customer_id"]],
        )
    if customers is not None and "customer_id" in mapping:
        unknown = ids.notna() & ~ids.isin(customers["customer_id"])
        problems.add(
            pd.Series(np.where(unknown, "no loaded customer has this id", None), index=frame.index).astype("string"),
            mapping["customer_id"],
            frame[mapping["customer_id"]],
        )
    return ids


def _bsuids(frame: pd.DataFrame, mapping: dict[str, str], problems: _Problems) -> pd.Series:
    """The rows' BSUIDs (all missing without a ``bsuid`` column); a malformed one is a reject."""
    if "bsuid" not in mapping:
        return pd.Series(pd.NA, index=frame.index, dtype="string")
    column = mapping["bsuid"]
    values = v.text(frame[column]).astype("string")
    good = values.str.fullmatch(BSUID_RE.pattern).fillna(False).astype(bool)
    bad = values.notna() & ~good
    reason = pd.Series("not a business-scoped user ID (like US.13491208655302741918)", index=frame.index)
    problems.add(reason.where(bad).astype("string"), column, frame[column])
    return values.where(good)


def _ids_by_bsuid(
    frame: pd.DataFrame,
    mapping: dict[str, str],
    ids: pd.Series,
    customers: pd.DataFrame | None,
    problems: _Problems,
    id_key: bytes | None,
) -> pd.Series:
    """``ids`` with the gaps filled from the rows' BSUIDs (see :func:`_customer_keys`)."""
    column = mapping["bsuid"]
    bsuid = v.text(frame[column])
    bsuid = bsuid.where(bsuid.str.fullmatch(BSUID_RE.pattern).fillna(False).astype(bool))
    if customers is None or not len(customers):
        ids, why = _fill_ids(ids, bsuid, id_key), "not a business-scoped user ID"
    else:
        known = customers[["bsuid", "customer_id"]].dropna() if "bsuid" in customers else customers.iloc[:0]
        by_bsuid = pd.Series(known["customer_id"].to_numpy(), index=known["bsuid"].to_numpy())
        ids, why = (
            ids.fillna(bsuid.map(by_bsuid[~by_bsuid.index.duplicated()]).astype("string")),
            "no loaded customer has this BSUID",
        )
    if "phone" not in mapping:  # else the phone may still find the customer
        problems.add(
            pd.Series(np.where(ids.isna(), why, None), index=frame.index).astype("string"), column, frame[column]
        )
    return ids


def _phones(
    frame: pd.DataFrame, mapping: dict[str, str], region: str, bsuid: pd.Series, problems: _Problems
) -> pd.Series:
    """The rows' E.164 phones; an empty phone is fine for a row with a BSUID, a row with neither is a reject."""
    if "phone" not in mapping:
        problems.add(
            _empty(bsuid, "no phone number and no business-scoped user ID"), mapping["bsuid"], frame[mapping["bsuid"]]
        )
        return pd.Series(pd.NA, index=frame.index, dtype="string")
    column = mapping["phone"]
    phone, reason = normalize_phones(frame[column], region)
    empty = v.text(frame[column]).isna()
    reason = reason.where(~(empty & bsuid.notna()))
    if "bsuid" in mapping:
        reason = reason.where(~(empty & bsuid.isna()), "no phone number and no business-scoped user ID")
    problems.add(reason, column, frame[column])
    return phone


def _fill_ids(ids: pd.Series, phone: pd.Series, id_key: bytes | None) -> pd.Series:
    """Missing ids derived from the phone, else the BSUID (``phone`` holds the BSUID where there is
    no phone; the workspace's key is read only when one is missing)."""
    missing = ids.isna() & phone.notna()
    if not missing.any():
        return ids
    key = id_key if id_key is not None else workspace_id_key()
    return ids.fillna(customer_ids(phone, key))


def _identity_keys(good: pd.DataFrame) -> pd.Series:
    """Which rows are one customer: the phone; a row without one joins the row with its BSUID and a
    phone (a customer seen both ways), else its BSUID is the key."""
    phone, bsuid = good["phone"], good["bsuid"]
    both = good[phone.notna() & bsuid.notna()]
    phone_of = pd.Series(both["phone"].to_numpy(), index=both["bsuid"].to_numpy())
    phone_of = phone_of[~phone_of.index.duplicated()]
    return phone.fillna(bsuid.map(phone_of).astype("string")).fillna(bsuid).rename("key")


def _merge_customers(good: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One customer per phone or BSUID (:func:`_identity_keys`): the first row, its gaps filled
    from the later ones."""
    key = _identity_keys(good)
    dup = key.duplicated(keep=False)
    if not dup.any():
        return good, _no_merges()
    groups = good[dup].groupby(key[dup], sort=False)
    filled = groups.first()  # first non-missing value per column
    filled["opted_in"] = groups["opted_in"].all()  # opted in only if no duplicate says otherwise
    filled.loc[~filled["opted_in"], "opt_in_at"] = pd.NaT
    kept_row = good[dup].reset_index().groupby(key[dup].to_numpy(), sort=False)["row"].first()
    filled = filled.set_index(pd.Index(kept_row.reindex(filled.index).to_numpy(), name="row"))
    later = dup & key.duplicated(keep="first")
    merges = pd.DataFrame(
        {
            "row": good.index[later].to_numpy(),
            "kept_row": key[later].map(kept_row).to_numpy(),
            "key": key[later].to_numpy(),
        }
    )
    return pd.concat([good[~dup], filled[good.columns]]).sort_index(), merges


def _id_conflicts(good: pd.DataFrame) -> tuple[pd.DataFrame, list[dict]]:
    """Rows whose customer id another row (with another phone) already uses become rejects."""
    taken = good["customer_id"].duplicated(keep="first")
    if not taken.any():
        return good, []
    first_row = good.reset_index().groupby("customer_id")["row"].first()
    lines = [
        {
            "row": int(row),
            "column": "customer_id",
            "value": str(cid),
            "reason": f"customer id already used by row {first_row[cid]} with another phone",
        }
        for row, cid in good.loc[taken, "customer_id"].items()
    ]
    return good[~taken], lines


def _merge_exact(good: pd.DataFrame, keys: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Later rows with the same ``keys`` are merged into the first."""
    dup = good.duplicated(subset=keys, keep="first")
    if not dup.any():
        return good, _no_merges()
    first = good[~dup].reset_index().set_index(keys)["row"]
    key_tuples = pd.MultiIndex.from_frame(good.loc[dup, keys])
    merges = pd.DataFrame(
        {
            "row": good.index[dup].to_numpy(),
            "kept_row": first.reindex(key_tuples).to_numpy(),
            "key": [" / ".join(map(str, k)) for k in key_tuples],
        }
    )
    return good[~dup], merges


def _no_merges() -> pd.DataFrame:
    return pd.DataFrame(
        {"row": pd.Series(dtype="int64"), "kept_row": pd.Series(dtype="int64"), "key": pd.Series(dtype="string")}
    )


def _result(kind, rows, problems, raw, mapping, columns, merges, notes=None) -> LoadResult:
    result = LoadResult(
        kind=kind,
        rows=rows,
        rejects=problems.frame(),
        rows_in=raw.rows_in,
        merged=len(merges),
        mapping=mapping,
        columns=columns,
        source=raw.source,
        notes=list(raw.notes if notes is None else notes),
        merges=merges,
    )
    if not result.balanced:  # a bug, not bad input: never hand out rows that do not add up
        raise AssertionError(f"{result!r} does not add up")
    return result


def _empty(values: pd.Series, reason: str) -> pd.Series:
    return pd.Series(np.where(values.isna(), reason, None), index=values.index).astype("string")


def _show(value: object) -> str:
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)[:80]
