"""What a campaign waits for and why rows were excluded, read from a real ledger."""

from __future__ import annotations

import pandas as pd
from helpers.plans import NOW, make_plan

from wamkt_nb import ledger
from wamkt_nb.campaigns.outlook import exclusions, exclusions_figure, waiting
from wamkt_nb.store import open_store


def test_waiting_rows_and_exclusions_by_reason(tmp_path):
    plan = make_plan(10, excluded=3)
    plan.loc[1, "reason"] = "no_opt_in"
    later = plan.index[-4:]
    plan.loc[later, "outcome"] = "later"
    plan.loc[later, "planned_at"] = [pd.Timestamp(NOW + h * 3600, unit="s", tz="UTC") for h in (8, 6, 7, 9)]
    plan.loc[later[1], "timezone"] = "America/New_York"
    with open_store(tmp_path / "w.db") as store:
        cid = ledger.create_campaign(store, plan, name="w", now=NOW)
        wait = waiting(store, cid, NOW)
        assert wait.count == 4 and wait.first_at == NOW + 6 * 3600 and wait.last_at == NOW + 9 * 3600
        assert wait.first_zone == "America/New_York"  # the earliest row's own zone
        assert waiting(store, cid, NOW + 7.5 * 3600).count == 2
        assert waiting(store, cid, NOW + 10 * 3600).count == 0
        frame = exclusions(store, cid)
        assert frame[["reason", "recipients"]].values.tolist() == [["opted_out", 2], ["no_opt_in", 1]]
        assert frame["meaning"].iloc[1] == "never opted in to WhatsApp messages from us"
        fig = exclusions_figure(frame)
        assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["no opt in", "opted out"]
