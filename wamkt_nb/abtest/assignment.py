"""Deterministic arm assignment: a hash of experiment key and customer id, optionally stratified.

The same key and customer always give the same arm, so a resumed or re-planned campaign keeps
every customer where they were; the ledger (``sends.arm``) records the arm as well, and arms
already recorded there win over a fresh assignment (``existing=``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

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
    ids = pd.Index(pd.Series(customer_ids, dtype="string").astype(str), name="customer_id")
    if ids.has_duplicates:
        dup = ids[ids.duplicated()][:3].tolist()
        raise AbTestError(f"customer ids must be unique; repeated: {dup}")
    if ids.hasnans or (ids == "").any():
        raise AbTestError("customer ids must not be empty")

    units = hash_units(ids.tolist(), experiment_key)  # a list: iterating an Arrow index is slow
    u = units[:, 0]
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
    result = pd.Series(np.asarray(names, dtype=object)[picked], index=ids, name="arm")
    if holdout > 0:
        result[units[:, 1] < holdout] = HOLDOUT  # its own word: arms can change, the holdout stays
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
