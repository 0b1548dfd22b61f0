"""The bulk assignment gives every customer the arm a per-customer reference gives, and keeps the checks."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from wamkt_nb.abtest import HOLDOUT, AbTestError, assign_arms


def reference_arm(customer_id: str, key: str, arms: list[str], shares: list[float], holdout: float) -> str:
    """One customer at a time, as the assignment is specified: SHA-256("key:id"), word 0 (top 53
    bits) through the cumulative shares, word 1 against the holdout share."""
    digest = hashlib.sha256(f"{key}:{customer_id}".encode()).digest()
    word = [int.from_bytes(digest[i : i + 8], "big") >> 11 for i in (0, 8)]
    if holdout and word[1] * 2.0**-53 < holdout:
        return HOLDOUT
    u, edge = word[0] * 2.0**-53, 0.0
    total = sum(shares)
    for arm, share in zip(arms, shares, strict=True):
        edge += share / total
        if u < edge:
            return arm
    return arms[-1]


SAMPLE = [f"cust-{i:07d}" for i in range(0, 3_000_000, 97)] + ["ünïcode-😀", "a b", "x" * 300, "1"]


@pytest.mark.parametrize(
    ("arms", "shares", "holdout"),
    [
        (["A", "B"], [1, 1], 0.0),
        (["A", "B", "C"], [1, 1, 1], 0.1),
        (["ctrl", "x", "y"], [2, 1, 1], 0.25),
    ],
)
def test_bulk_assignment_equals_the_per_customer_reference(arms, shares, holdout):
    got = assign_arms(SAMPLE, "exp-bulk", arms, allocation=shares, holdout=holdout)
    expected = [reference_arm(c, "exp-bulk", arms, shares, holdout) for c in SAMPLE]
    assert got.index.tolist() == SAMPLE
    assert got.tolist() == expected
    assert set(expected) >= set(arms)


def test_ids_of_any_type_are_their_text_and_a_series_gives_the_same():
    numbers = assign_arms([1, 2, 3, 40], "exp-n")
    assert numbers.index.tolist() == ["1", "2", "3", "40"]
    assert numbers.tolist() == [reference_arm(c, "exp-n", ["A", "B"], [1, 1], 0) for c in ["1", "2", "3", "40"]]
    series = pd.Series(SAMPLE[:500], index=np.arange(500) * 7)
    assert assign_arms(series, "exp-s").equals(assign_arms(SAMPLE[:500], "exp-s"))


@pytest.mark.parametrize("ids", [["a", "b", "a"], SAMPLE + [SAMPLE[1234]], [1, "1"]])
def test_a_repeated_id_is_named(ids):
    with pytest.raises(AbTestError, match="unique") as err:
        assign_arms(ids, "exp-d")
    assert repr(str(ids[-1])) in str(err.value)


@pytest.mark.parametrize("ids", [["a", ""], ["a", None], ["a", float("nan")], pd.Series(["a", pd.NA], dtype="string")])
def test_an_empty_or_missing_id_is_refused(ids):
    with pytest.raises(AbTestError, match="empty"):
        assign_arms(ids, "exp-e")
