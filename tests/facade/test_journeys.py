"""Journeys end to end on the real sandbox, on SQLite and PostgreSQL: a campaign with two follow-up
steps is sent, the sandbox's customers read, reply and buy, and each step starts when it comes due,
goes exactly to the recipients whose condition holds and who did not stop, through the same sender
and the 24 h marketing cap, once."""

from __future__ import annotations

import pandas as pd
import pytest

from wamkt_nb import Workspace
from wamkt_nb.campaigns.journeys import next_step_due, start_due_steps
from wamkt_nb.compliance import Policy
from wamkt_nb.data.sample import default_now
from wamkt_nb.settings import Settings

pytestmark = [pytest.mark.both_stores, pytest.mark.slow]
DAYTIME = default_now().normalize() + pd.Timedelta(hours=14)
HOUR = 3600.0
REACHED = ("accepted", "sent", "delivered", "read")


def sends(store, campaign_id):
    return store.read_frame(
        "SELECT customer_id, phone, state, reason, read_at, COALESCE(accepted_at, sent_at) AS out_at"
        " FROM sends WHERE campaign_id = ?",
        (campaign_id,),
    ).set_index("customer_id")


def stopped(store, parent, since, until):
    """Recipients of ``parent`` who wrote, ordered or opted out from ``since`` to ``until``, straight
    from the tables."""
    rows = sends(store, parent)
    between = (since, until)
    wrote = set(
        store.read_frame("SELECT phone FROM inbound_messages WHERE timestamp BETWEEN ? AND ?", between)["phone"]
    )
    ordered = set(
        store.read_frame("SELECT customer_id FROM conversions WHERE at BETWEEN ? AND ?", between)["customer_id"]
    )
    out = set(store.read_frame("SELECT phone FROM consent WHERE marketing = 0 AND changed_at <= ?", (until,))["phone"])
    return {c for c, r in rows.iterrows() if r["phone"] in wrote | out or c in ordered}


def test_steps_reach_whom_their_condition_selects_once_under_the_cap(store, tmp_path):
    with Workspace(Settings(sandbox=True), directory=tmp_path, store=store, now=DAYTIME, sample_size=200) as ws:
        offer = ws.template("rabatt_aktion")
        campaign = ws.campaign(ws.segment(), offer, name="sale", params={"discount": "10 %"})
        campaign.dry_run(schedule="now", policy=Policy(daily_limit=None))
        campaign.follow_up("24h", offer, when="not_read", params={"discount": "15 %"})
        journey = campaign.follow_up(15 * 60, offer, params={"discount": "20 %"})
        assert list(journey["condition"]) == ["not_read", "any"] and journey["campaign_id"].isna().all()
        assert campaign.send(pace=80.0, display="text", wait_for_later=False).status == "complete"

        parent = sends(store, "sale")
        reached = parent[parent["state"].isin(REACHED)]
        since, last = parent["out_at"].min(), parent["out_at"].max()
        assert next_step_due(store) == pytest.approx(last + 24 * HOUR)
        writer = reached.index[0]
        ws.sandbox.inject_inbound(writer, "Wann kommt das?")  # a reply ends this customer's journey
        ws.settle()
        ws.advance_to(last + 24 * HOUR - 60)
        assert start_due_steps(store, ws.clock.now()) == []  # not due yet

        ws.play_journeys(last + 30 * HOUR, pace=80.0)
        table = campaign.journey()
        first_at, second_at = table["started_at"].map(pd.Timestamp.timestamp)
        assert first_at >= last + 24 * HOUR and second_at >= first_at + 15 * 60

        step1 = sends(store, "sale-step1")
        parent = sends(store, "sale")  # read receipts and late failures came in since
        reached = parent[parent["state"].isin(REACHED)]
        unread = {c for c, r in reached.iterrows() if pd.isna(r["read_at"]) or r["read_at"] > first_at}
        expected1 = unread - stopped(store, "sale", since, first_at)
        # the message came after the journey began: it stops the customer
        assert writer not in step1.index and expected1 and set(step1.index) == expected1
        assert step1["state"].isin(REACHED).sum() > 0.8 * len(step1)

        step2 = sends(store, "sale-step2")
        assert set(step2.index) == set(reached.index) - stopped(store, "sale", since, second_at)
        got1 = set(step1.index[step1["out_at"].notna()])  # Meta took them (some failed later): the cap counts them
        # 15 min after step 1 the 24 h marketing cap holds every step-1 recipient back
        assert (step2.loc[sorted(got1), "state"] == "excluded").all()
        assert step2.loc[sorted(got1), "reason"].str.contains("cap").all()
        others = sorted(set(step2.index) - got1)
        assert others and not step2.loc[others, "reason"].fillna("").str.contains("cap").any()
        assert step2.loc[others, "state"].isin(REACHED).sum() > 0.8 * len(others)

        # exactly once: nothing is due any more, and sending again sends nothing new
        counts = {c: len(sends(store, c)) for c in ("sale-step1", "sale-step2")}
        assert start_due_steps(store, ws.clock.now() + 48 * HOUR) == [] and next_step_due(store) is None
        ws.send_due(pace=80.0)
        assert {c: len(sends(store, c)) for c in counts} == counts

        funnel = campaign.step_results().set_index("step")
        assert list(funnel.index) == [0, 1, 2]
        for step, rows in ((0, sends(store, "sale")), (1, step1), (2, sends(store, "sale-step2"))):
            assert funnel.loc[step, "sent"] == rows["out_at"].notna().sum()  # Meta accepted it (it may fail later)
            assert funnel.loc[step, "excluded"] == (rows["state"] == "excluded").sum()
        assert funnel.loc[1, "condition"] == "not_read" and funnel.loc[2, "delay_hours"] == 0.25


def test_each_stop_condition_ends_only_what_it_names(store, tmp_path):
    with Workspace(Settings(sandbox=True), directory=tmp_path, store=store, now=DAYTIME, sample_size=100) as ws:
        offer = ws.template("rabatt_aktion")
        campaign = ws.campaign(ws.segment(), offer, name="promo", params={"discount": "10 %"})
        campaign.dry_run(schedule="now", policy=Policy(daily_limit=None))
        campaign.follow_up("24h", offer, stop_on=("opt_out",), params={"discount": "15 %"})
        assert campaign.send(pace=80.0, display="text", wait_for_later=False).status == "complete"
        reached = sends(store, "promo")
        reached = reached[reached["state"].isin(REACHED)]
        # customers who write from their phone number (a username user's messages carry only their BSUID):
        # the first opts out, the others reply (a reply is not a stop here)
        quitter, *writers = [c for c in reached.index if ws.sandbox.engine.find_customer(c).shares_phone][:6]
        for writer in writers:
            ws.sandbox.inject_inbound(writer, "Hallo, gilt das auch online?")
        ws.sandbox.inject_inbound(quitter, "STOP")  # Meta reports the opt-out (user_preferences)
        ws.advance_to(ws.clock.now() + 60)
        ws.settle()

        def opted_out(customer: str) -> bool:
            rows = store.query("SELECT marketing FROM consent WHERE phone = ?", (reached.loc[customer, "phone"],))
            return bool(rows) and rows[0][0] == 0

        assert opted_out(quitter)
        ws.play_journeys(ws.clock.now() + 25 * HOUR, pace=80.0)
        step = sends(store, "promo-step1")
        assert quitter not in step.index
        # a simulated customer may also opt out on its own after reading: then it leaves the journey too
        assert {w: w in step.index for w in writers} == {w: not opted_out(w) for w in writers}
        assert any(w in step.index for w in writers)
        assert set(step.index) <= set(reached.index)
