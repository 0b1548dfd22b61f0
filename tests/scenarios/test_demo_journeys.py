"""The demo's retargeting campaign and abandoned-cart journey, played through the real sandbox: the
retargeting campaign goes to the earlier campaign's recipients who had not read it, the cart journey's
steps go out at +15 min, +1 h and +24 h under the compliance rules, a shopper who wrote or bought
since the journey began gets no later step, and the overview's per-step funnel counts them."""

from __future__ import annotations

import pandas as pd
import pytest

from wamkt_nb.analytics import load_journey_steps, load_ledger, priced_sends, step_funnel
from wamkt_nb.analytics.metrics import MetricOptions
from wamkt_nb.data.sample import generate
from wamkt_nb.scenarios.demo import DEFAULT_CAMPAIGNS, DemoCampaign, play_history
from wamkt_nb.store import open_store

pytestmark = pytest.mark.slow
CAMPAIGNS = (
    DemoCampaign(0.58, "Newsletter", None),
    DemoCampaign(1.6, "Warenkorb", None, cart_journey=True),
    DemoCampaign(1.62, "Nicht gelesen", None, discount="20 %", retarget=("Newsletter", "delivered_not_read")),
)
MINUTE = 60.0


def test_the_default_history_has_a_retargeting_campaign_and_a_cart_journey():
    kinds = [(c.retarget is not None, c.cart_journey) for c in DEFAULT_CAMPAIGNS]
    assert kinds.count((True, False)) == 1 and kinds.count((False, True)) == 1


def test_retargeting_and_cart_journey_play_through_the_sandbox(tmp_path):
    start = pd.Timestamp.now(tz="UTC").normalize() - pd.Timedelta(days=3)
    store = open_store(tmp_path / "wamkt.db")
    result = play_history(
        store,
        generate(300, seed=3, now=start),
        start=start.timestamp(),
        days=3,
        campaigns=CAMPAIGNS,
        inbound_per_day=4,
        log=lambda _line: None,
    )
    assert result.played == [c.name for c in CAMPAIGNS] and result.skipped == []
    newsletter, cart, retarget = result.campaign_ids
    rows = lambda cid: store.read_frame(  # noqa: E731
        "SELECT customer_id, phone, state, reason, delivered_at, read_at, accepted_at, planned_at"
        " FROM sends WHERE campaign_id = ?",
        (cid,),
    ).set_index("customer_id")

    # retargeting: exactly the newsletter's recipients it was delivered to and who had not read it
    planned_at = rows(retarget)["planned_at"].min()
    first = rows(newsletter)
    delivered = first["delivered_at"].notna() | first["state"].isin(["delivered", "read"])
    unread = first[delivered & ~(first["read_at"] <= planned_at)]
    assert set(rows(retarget).index) == set(unread.index) and len(unread) > 0

    # the cart journey: three steps after the cart message, at +15 min, +1 h and +24 h
    steps = store.read_frame(
        "SELECT step, campaign_id, started_at, recipients FROM journey_steps WHERE journey_id = ? ORDER BY step",
        (cart,),
    )
    assert steps["campaign_id"].tolist() == [f"{cart}-step{n}" for n in (1, 2, 3)] == result.journey_steps
    sent_at = rows(cart)["accepted_at"].max()
    offsets = (steps["started_at"] - sent_at).to_numpy() / MINUTE
    assert 15 <= offsets[0] < 16 and 60 <= offsets[1] < 62 and 24 * 60 <= offsets[2] < 24 * 60 + 3
    since = rows(cart)["accepted_at"].min()
    for n, step in enumerate(steps.itertuples(), 1):
        wrote = set(
            store.read_frame(
                "SELECT phone FROM inbound_messages WHERE timestamp BETWEEN ? AND ?", (since, step.started_at)
            )["phone"]
        )
        got = rows(step.campaign_id)
        assert not set(got["phone"]) & wrote, f"step {n} reached a shopper who had written since"
        assert (got["state"] != "excluded").sum() > 0
    assert (rows(f"{cart}-step1")["reason"].isna()).all()  # session texts inside the open service window

    funnel = step_funnel(priced_sends(load_ledger(store), MetricOptions()), load_journey_steps(store))
    assert funnel["step"].tolist() == [0, 1, 2, 3] and (funnel["sent"] > 0).all()
    store.close()
