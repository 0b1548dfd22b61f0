"""Deterministic, stratified assignment with a holdout, kept across a resumed campaign's ledger."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from wamkt_nb.abtest import HOLDOUT, AbTestError, assign_arms, bucket, ledger_arms, strata_from
from wamkt_nb.ledger import create_campaign
from wamkt_nb.store import open_store

IDS = [f"c{i:05d}" for i in range(20_000)]


def test_same_key_same_arms_other_key_other_arms():
    first = assign_arms(IDS, "exp-1")
    assert first.equals(assign_arms(list(reversed(IDS)), "exp-1").loc[first.index])
    other = assign_arms(IDS, "exp-2")
    agree = (first == other).mean()
    assert 0.45 < agree < 0.55  # independent keys: about half agree by chance


def test_bucket_is_stable_across_processes():
    """Not Python's salted hash: another interpreter gives the same numbers."""
    code = "from wamkt_nb.abtest import bucket; print(list(bucket(['a', 'b', 'c'], 'k')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == str(list(bucket(["a", "b", "c"], "k")))
    u = bucket(IDS, "k")
    assert ((0 <= u) & (u < 1)).all()
    assert stats.kstest(u, "uniform").pvalue > 0.001


def test_allocation_and_holdout_shares():
    arms = assign_arms(IDS, "exp", ["ctrl", "short", "long"], allocation=[2, 1, 1], holdout=0.1)
    shares = arms.value_counts(normalize=True)
    assert shares[HOLDOUT] == pytest.approx(0.10, abs=0.01)
    assert shares["ctrl"] == pytest.approx(0.45, abs=0.015)
    assert shares["short"] == pytest.approx(0.225, abs=0.015)
    observed = arms.value_counts()[["ctrl", "short", "long"]]
    assert stats.chisquare(observed, observed.sum() * np.array([0.5, 0.25, 0.25])).pvalue > 0.001


def test_holdout_membership_does_not_depend_on_the_arms():
    two = assign_arms(IDS, "exp", 2, holdout=0.2)
    four = assign_arms(IDS, "exp", 4, holdout=0.2, allocation=[1, 2, 3, 4])
    assert ((two == HOLDOUT) == (four == HOLDOUT)).all()


def test_stratified_assignment_balances_every_stratum():
    rng = np.random.default_rng(1)
    strata = pd.Series(rng.choice(["frequent_buyer", "rare_buyer", "dormant"], len(IDS), p=[0.1, 0.6, 0.3]))
    arms = assign_arms(IDS, "exp", 2, strata=strata)
    table = pd.crosstab(strata.to_numpy(), arms.to_numpy())
    assert (abs(table["A"] - table["B"]) <= 1).all()  # exact split within each stratum
    single = assign_arms(["x1", "x2", "x3"], "exp", 2, strata=["s1", "s2", "s3"])  # one per stratum
    assert set(single) <= {"A", "B"}
    many = assign_arms(IDS[:4_000], "exp", 2, strata=[f"s{i}" for i in range(4_000)])
    assert many.value_counts(normalize=True)["A"] == pytest.approx(0.5, abs=0.03)  # random, not all "A"


def test_existing_arms_win():
    arms = assign_arms(IDS[:10], "exp", existing={IDS[0]: "B", IDS[1]: "A", "other": "B"})
    assert arms[IDS[0]] == "B" and arms[IDS[1]] == "A" and "other" not in arms.index


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(customer_ids=["a", "a"], experiment_key="k"), "repeated"),
        (dict(customer_ids=["a", ""], experiment_key="k"), "empty"),
        (dict(customer_ids=["a"], experiment_key=" "), "experiment_key"),
        (dict(customer_ids=["a"], experiment_key="k", arms=["A", "holdout"]), "reserved"),
        (dict(customer_ids=["a", "b"], experiment_key="k", strata=["x"]), "strata"),
    ],
)
def test_bad_input(kwargs, match):
    with pytest.raises(AbTestError, match=match):
        assign_arms(**kwargs)


def _plan(ids: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ids,
            "phone": [f"+49151{int(i[1:]):08d}" for i in ids],
            "outcome": "send",
            "reason": "",
            "category": "marketing",
            "message_type": "text",
            "body": "Hi",
            "payload": [{"type": "text"} for _ in ids],
            "planned_at": 1_700_000_000.0,
        }
    )


def test_resumed_campaign_keeps_every_customers_arm(tmp_path):
    """Arms go into the ledger (sends.arm, holdout rows excluded as 'holdout'); re-planning with more
    customers keeps the recorded ones."""
    ids = IDS[:2_000]
    strata = ["vip" if i % 5 == 0 else "rest" for i in range(len(ids))]
    arms = assign_arms(ids, "spring-sale", 2, holdout=0.1, strata=strata)
    plan = _plan(ids).assign(arm=arms.loc[ids].to_numpy())  # the dry-run plan's arm column
    path = tmp_path / "w.db"
    with open_store(path) as store:
        create_campaign(
            store, plan, name="spring", now=1_700_000_000.0, campaign_id="cmp-1", experiment_key="spring-sale"
        )
    with open_store(path) as store:  # a new process resumes
        recorded = ledger_arms(store, "cmp-1")
        held = store.query(
            "SELECT COUNT(*) FROM sends WHERE arm = 'holdout' AND state = 'excluded' AND reason = 'holdout'"
        )[0][0]
        key = store.query("SELECT experiment_key FROM campaigns WHERE campaign_id = 'cmp-1'")[0][0]
    assert recorded.sort_index().equals(arms.sort_index())
    assert held == (arms == HOLDOUT).sum() and key == "spring-sale"
    # more customers now: stratified ranks shift, yet every recorded customer keeps the arm
    more = IDS[:2_600]
    more_strata = ["vip" if i % 5 == 0 else "rest" for i in range(len(more))]
    fresh = assign_arms(more, "spring-sale", 2, holdout=0.1, strata=more_strata)
    resumed = assign_arms(more, "spring-sale", 2, holdout=0.1, strata=more_strata, existing=recorded)
    assert (fresh.loc[ids] != arms).any()  # without the ledger some would move
    assert resumed.loc[ids].equals(arms.loc[ids])
    # unstratified: the hash alone reproduces the ledger
    plain = assign_arms(ids, "spring-sale", 2, holdout=0.1)
    assert plain.equals(assign_arms(list(reversed(ids)), "spring-sale", 2, holdout=0.1).loc[plain.index])


def test_strata_from_a_tag_or_a_column():
    features = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "purchase_frequency": ["monthly", "rare", "monthly"],
            "tags": [("frequent_buyer", "active_7d"), ("rare_buyer",), ()],
        }
    )
    assert strata_from(features, "frequent_buyer").tolist() == [
        "frequent_buyer",
        "not frequent_buyer",
        "not frequent_buyer",
    ]
    assert strata_from(features, "purchase_frequency").tolist() == ["monthly", "rare", "monthly"]
    assert strata_from(features, "tags").tolist() == ["active_7d+frequent_buyer", "rare_buyer", ""]
    with pytest.raises(AbTestError, match="neither a column nor a tag"):
        strata_from(features, "vip")
    arms = assign_arms(features["customer_id"], "k", strata=strata_from(features, "frequent_buyer"))
    assert len(arms) == 3


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 300),
    weights=st.lists(st.floats(0.05, 5), min_size=2, max_size=5),
    holdout=st.sampled_from([0.0, 0.1, 0.5]),
    key=st.text(min_size=1, max_size=12).filter(str.strip),
)
def test_assignment_properties(n, weights, holdout, key):
    """Same input, same arms in any order; only known arm names; stratified split within one of quota."""
    ids = [f"id{i}" for i in range(n)]
    arms = assign_arms(ids, key, len(weights), allocation=weights, holdout=holdout)
    again = assign_arms(ids[::-1], key, len(weights), allocation=weights, holdout=holdout)
    assert arms.equals(again.loc[arms.index])
    names = {chr(ord("A") + i) for i in range(len(weights))} | {HOLDOUT}
    assert set(arms) <= names
    stratified = assign_arms(ids, key, len(weights), allocation=weights, strata=["s"] * n)
    quota = np.array(weights) / sum(weights) * n
    counts = stratified.value_counts().reindex([chr(ord("A") + i) for i in range(len(weights))], fill_value=0)
    assert (np.abs(counts.to_numpy() - quota) <= 1 + 1e-9).all()


def test_arms_are_pinned_for_known_ids():
    """Arms recorded for these ids and keys: a change of hashing or picking that moves anyone fails here."""
    ids = [f"cust-{i:07d}" for i in range(0, 1_000_000, 83_333)]
    short = {"holdout": "H"}
    got = assign_arms(ids, "bench-exp", ["A", "B", "C"], holdout=0.1)
    assert "".join(short.get(a, a) for a in got) == "CBCCHCHACBCCA"
    assert "".join(assign_arms(pd.Series(ids), "spring", 2)) == "AAABBBBBAABAB"
    assert "".join(assign_arms([5, 17, 23, 99, 1000], "num", ["A", "B"])) == "ABBAA"
