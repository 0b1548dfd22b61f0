"""The campaign overview's "Retarget…" panel on a synthetic ledger in a real SQLite store: each
button names the rule and counts the recipients the ledger rows hold; saving makes a segment."""

from __future__ import annotations

import re
import time

from wamkt_nb.analytics.synthetic import write_ledger
from wamkt_nb.data.sample import generate
from wamkt_nb.segments import load_segment
from wamkt_nb.segments.engagement import engagement_condition
from wamkt_nb.store import open_store
from wamkt_nb.widgets.analytics import CampaignOverview
from wamkt_nb.widgets.retarget import BUTTONS


def filled(tmp_path):
    path = tmp_path / "wamkt.db"
    with open_store(path) as store:
        write_ledger(store, generate(300, seed=3).customers, 3_000, time.time(), seed=3)
    return path


def from_rows(path, campaign: str, state: str) -> int:
    """Recipients in ``state`` straight from the sends table (the failure states need no replies)."""
    with open_store(path) as store:
        sends = store.read_frame(
            "SELECT customer_id, state, error_code, delivered_at, read_at FROM sends WHERE campaign_id = ?", (campaign,)
        )
    held = (sends["state"] == "failed") & (sends["error_code"] == 131049)
    delivered = sends["delivered_at"].notna() | sends["state"].isin(["delivered", "read"])
    read = sends["read_at"].notna() | (sends["state"] == "read")
    pick = {
        "held_by_meta": held,
        "failed": (sends["state"] == "failed") & ~held,
        "delivered_not_read": delivered & ~read,
    }[state]
    return sends.loc[pick, "customer_id"].nunique()


def test_the_overview_offers_retargeting_and_saves_the_segment(tmp_path):
    path = filled(tmp_path)
    view = CampaignOverview(path)
    panel = view.retarget
    assert panel in view.body.children and set(panel.buttons) == set(BUTTONS)
    campaigns = [v for _, v in view.selector.campaign.options if v != "__all__"]
    view.selector.campaign.value = campaigns[1]  # the panel follows the dashboard's campaign
    assert panel.campaign.value == campaigns[1]
    for state in ("held_by_meta", "failed", "delivered_not_read"):
        panel.buttons[state].click()
        count = int(re.search(r"</b>: ([\d,]+) recipients", panel.rule_text.value).group(1).replace(",", ""))
        assert count == from_rows(path, campaigns[1], state) > 0, state
        assert f"retarget(&quot;{state}&quot;)" in panel.rule_text.value
    panel.window.value = 1
    panel.buttons["read_no_reply"].click()
    assert "in the last 1 days" in panel.rule_text.value and "within_days=1" in panel.rule_text.value
    panel.name.value = "no reply yet"
    panel.save_button.click()
    assert "Saved &#x27;no reply yet&#x27;" in panel.status.value
    with open_store(path) as store:
        assert load_segment(store, "no reply yet").rule == engagement_condition(campaigns[1], "read_no_reply", 1)
