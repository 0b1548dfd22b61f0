"""Deterministic arm assignment: a hash of experiment key and customer id, optionally stratified.

The same key and customer always give the same arm, so a resumed or re-planned campaign keeps
every customer where they were; the ledger (``sends.arm``) records the arm as well, and arms
already recorded there win over a fresh assignment (``existing=``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any, cast

import numpy as np
import pandas as pd

from ..ledger.sends import recorded_arms
from ..ledger.states import HOLDOUT
from ..store import Store
from .errors import AbTestError
from .planning import arm_names, normalised


def hash_units(customer_ids: Iterable[str], salt: str) -> np.ndarray:
    """Four independent uniform numbers in [0, 1) per id, from SHA-256("salt:id"), shape (n, 4).

    SHA-256 rather than Python's ``hash``: stable across processes, versions and machines.
    Each 8-byte word keeps its top 53 bits, so the value is exact in a float and never 1.0.
    """
    prefix = f"{salt}:".encode()
    sha = hashlib.sha256
    raw = b"".join([sha(prefix + str(c).encode()).digest() for c in customer_ids])
    words = np.frombuffer(raw, dtype=">u8").reshape(-1, 4)
    return (words >> np.uint64(11)).astype(float) * 2.0**-53


def bucket(customer_ids: Iterable[str], salt: str) -> np.ndarray:
    """A uniform number in [0, 1) per id, the same for the same salt and id everywhere."""
    return hash_units(customer_ids, salt)[:, 0]


def _pick(u: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """Index of the arm whose cumulative-share interval holds each u."""
    edges = np.cumsum(shares)
    edges[-1] = 1.0
    return np.minimum(np.searchsorted(edges, u, side="right"), len(shares) - 1)


def _id_strings(customer_ids: Iterable[object]) -> list[str]:
    """The ids as a list of non-empty strings (numbers become their text); a missing one raises."""
    raw = list(customer_ids)
    if set(map(type, raw)) - {str}:
        if any(pd.isna(cast(Any, c)) for c in raw if not isinstance(c, str)):
            raise AbTestError("customer ids must not be empty")
        values = [str(c) for c in raw]
    else:
        values = cast(list[str], raw)
    if "" in values:
        raise AbTestError("customer ids must not be empty")
    return values


def _check_unique(ids: list[str], u: np.ndarray) -> None:
    """Raise on a repeated id. Equal ids have equal hashes, so only ids whose hash repeats (the
    repeats, and by chance at 53 bits almost never others) are compared as strings."""
    if len(pd.unique(u)) == len(u):  # a hash table over floats: no string is compared
        return
    suspects = [ids[i] for i in np.flatnonzero(pd.Series(u).duplicated(keep=False).to_numpy())]
    index = pd.Index(suspects)
    dup = index[index.duplicated()].unique()[:3].tolist()
    if dup:
        raise AbTestError(f"customer ids must be unique; repeated: {dup}")


def assign_arms(
    customer_ids: Sequence[str] | pd.Series,
    experiment_key: str,
    arms: int | Sequence[str] = 2,
    *,
    allocation: Sequence[float] | None = None,
    holdout: float = 0.0,
    strata: Sequence[Any] | pd.Series | None = None,
    existing: pd.Series | dict[str, str] | None = None,
) -> pd.Series:
    """Arm per customer (a Series indexed by customer id, named ``arm``).

    ``holdout``: that share gets ``"holdout"`` (decided by its own hash, so changing the arms
    never moves anyone in or out of it). ``strata``: a label per customer (a tag, a segment);
    within each stratum customers are ordered by their hash and dealt to the arms in proportion,
    so every stratum is split as designed. ``existing``: arms already in the ledger, kept as they are.
    """
    if not experiment_key or not str(experiment_key).strip():
        raise AbTestError("experiment_key must be a non-empty string")
    names = arm_names(arms)
    shares = normalised(allocation, len(names))
    if not 0 <= holdout < 1:
        raise AbTestError(f"holdout must be a share in [0, 1), got {holdout}")
    id_list = _id_strings(customer_ids)
    units = hash_units(id_list, experiment_key)
    u = units[:, 0]
    _check_unique(id_list, u)
    ids = pd.Index(id_list, dtype="str", name="customer_id")
    if strata is None:
        picked = _pick(u, shares)
    else:
        values = np.asarray(strata, dtype=object)
        if len(values) != len(ids):
            raise AbTestError(f"{len(values)} strata labels for {len(ids)} customers")
        codes, uniques = pd.factorize(pd.Series(values).astype(str), use_na_sentinel=False)
        offsets = bucket((str(s) for s in uniques), f"{experiment_key}:stratum")
        # order by stratum, then hash; each customer's rank within its stratum
        order = np.lexsort((u, codes))
        sizes = np.bincount(codes)
        starts = np.cumsum(sizes) - sizes
        code_sorted = codes[order]
        rank = np.arange(len(order)) - starts[code_sorted]
        # systematic allocation: position (rank + offset)/size through the cumulative shares
        picked = np.empty(len(ids), dtype=int)
        picked[order] = _pick((rank + offsets[code_sorted]) / sizes[code_sorted], shares)
    labels = np.asarray(names, dtype=object)[picked]
    if holdout > 0:
        labels[units[:, 1] < holdout] = HOLDOUT  # its own word: arms can change, the holdout stays
    result = pd.Series(labels, index=ids, name="arm")
    if existing is not None:
        kept = pd.Series(existing, dtype=object).dropna()
        kept.index = kept.index.astype(str)
        common = result.index.intersection(kept.index)
        result.loc[common] = kept.loc[common].to_numpy()
    return result


def strata_from(features: pd.DataFrame, by: str) -> pd.Series:
    """Stratum labels for ``assign_arms``: a column's values, or has/has-not for a tag in ``tags``."""
    if by in features.columns:
        values = features[by]
        if values.map(lambda v: isinstance(v, (tuple, list))).any():
            return values.map(lambda v: "+".join(sorted(v)) if isinstance(v, (tuple, list)) else str(v))
        return values.astype(str)
    if "tags" in features.columns:
        known = set().union(*features["tags"].map(lambda t: set(t) if isinstance(t, (tuple, list)) else set()))
        if by in known:
            return features["tags"].map(lambda t: by if isinstance(t, (tuple, list)) and by in t else f"not {by}")
    raise AbTestError(f"cannot stratify by {by!r}: neither a column nor a tag of these customers")


def ledger_arms(store: Store, campaign_id: str) -> pd.Series:
    """The arms already recorded for a campaign's recipients (``sends.arm``), by customer id."""
    frame = pd.DataFrame(recorded_arms(store, campaign_id), columns=["customer_id", "arm"])
    return pd.Series(frame["arm"].to_numpy(dtype=object), index=frame["customer_id"].astype(str), name="arm")
