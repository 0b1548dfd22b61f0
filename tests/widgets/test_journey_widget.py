"""The journey editor driven like an analyst would, on the real sandbox: a preset fills the rows,
messages and conditions are chosen, saving defines the campaign's steps, bad input shows a message
and keeps the saved journey, and the saved steps go out in the sandbox when they come due."""

from __future__ import annotations

import pandas as pd
import pytest

from wamkt_nb import Workspace
from wamkt_nb.compliance import Policy
from wamkt_nb.data.sample import default_now
from wamkt_nb.settings import Settings
from wamkt_nb.widgets.journey import TEXT, JourneyEditor

pytestmark = pytest.mark.slow
DAYTIME = default_now().normalize() + pd.Timedelta(hours=13)


def test_the_editor_defines_steps_that_run_in_the_sandbox(tmp_path):
    with Workspace(Settings(sandbox=True), directory=tmp_path, now=DAYTIME, sample_size=100) as ws:
        campaign = ws.campaign(ws.segment(), ws.template("rabatt_aktion"), name="cart", params={"discount": "10 %"})
        campaign.dry_run(schedule="now", policy=Policy(daily_limit=None))
        editor = JourneyEditor(campaign)
        assert "No follow-up steps" in editor.table.value

        editor.cart_button.click()
        assert [(r.delay.value, r.condition.value) for r in editor.steps] == [
            ("15min", "any"),
            ("45min", "any"),
            ("23h", "any"),
        ]
        shipped = next(t for t in editor.templates if t.name == "order_shipped" and t.language == "de")
        offer = next(t for t in editor.templates if t.name == "rabatt_aktion")
        for row in editor.steps:
            row.message.value = offer
        editor.steps[1].remove.click()
        editor.steps[0].condition.value = "not_read"
        editor.stop["reply"].value = False

        editor.values.value = "discount 10"  # not name=value: refused, nothing saved
        editor.save_button.click()
        assert editor.status.level == "error" and "name=value" in editor.status.text
        assert campaign.journey().empty

        editor.values.value = "discount=15 %"
        editor.steps[1].message.value = TEXT
        editor.save_button.click()
        assert editor.status.level == "error" and "empty" in editor.status.text
        editor.steps[1].message.value = shipped
        editor.values.value = "discount=15 %; 2=#10001"  # {{1}} of the notice has no value
        editor.save_button.click()
        assert editor.status.level == "error" and "step 2" in editor.status.text and "{{1}}" in editor.status.text
        assert campaign.journey().empty
        editor.values.value = "discount=15 %; 1=du; 2=#10001"
        editor.save_button.click()
        assert editor.status.level == "ok", editor.status.text
        journey = campaign.journey()
        assert list(journey["condition"]) == ["not_read", "any"]
        assert list(journey["delay_hours"]) == [0.25, 23.0]
        assert list(journey["message"]) == ["template rabatt_aktion", "template order_shipped"]
        assert "not_read" in editor.table.value and "order_shipped" in editor.table.value

        assert campaign.send(pace=80.0, display="text", wait_for_later=False).status == "complete"
        ws.play_journeys(ws.clock.now() + 26 * 3600, pace=80.0)
        started = campaign.journey()
        assert started["campaign_id"].tolist() == ["cart-step1", "cart-step2"]
        assert (started["recipients"] > 0).all()


def test_a_pace_set_in_the_editor_is_its_steps_and_an_empty_one_is_its_campaigns(tmp_path):
    """Two notice steps, the second at 7 msg/s typed into its pace field, the first left empty; an
    unknown pace is refused on saving and nothing is saved. The campaign is sent in the notebook at
    40 msg/s: the first step goes at that pace, the second at its own."""
    with Workspace(Settings(sandbox=True), directory=tmp_path, now=DAYTIME, sample_size=20) as ws:
        campaign = ws.campaign(ws.segment(), ws.template("rabatt_aktion"), name="paced", params={"discount": "10 %"})
        campaign.dry_run(schedule="now", policy=Policy(daily_limit=None))
        editor = JourneyEditor(campaign)
        shipped = next(t for t in editor.templates if t.name == "order_shipped" and t.language == "de")
        for _ in range(2):
            editor.add_step("1h").message.value = shipped
        for box in editor.stop.values():
            box.value = False
        editor.values.value = "1=du; 2=#10001"
        editor.steps[1].pace.value = "fastest"
        editor.save_button.click()
        assert editor.status.level == "error" and "pace" in editor.status.text
        assert campaign.journey().empty
        editor.steps[1].pace.value = " 7 "
        editor.save_button.click()
        assert editor.status.level == "ok", editor.status.text
        assert campaign.journey()["pace"].tolist() == [None, "7"]

        assert campaign.send(pace=40.0, display="text", wait_for_later=False).status == "complete"
        sent = ws.play_journeys(ws.clock.now() + 3 * 3600)
        assert sorted(sent) == ["paced-step1", "paced-step2"]
        assert all(p.status == "complete" and p.done > 0 for p in sent.values())
        numbers = len(ws.phone_number_ids)
        assert (sent["paced-step1"].pace, sent["paced-step2"].pace) == (40.0 * numbers, 7.0 * numbers)
