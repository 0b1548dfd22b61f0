"""The campaign overview's per-step journey funnel on a journey played through the real sandbox:
each step's row counts what the step's ledger rows, clicks, replies and orders say, and choosing the
journey's campaign (or a step of it) in the selector keeps the whole journey in view."""

from __future__ import annotations

import re

import pytest
from helpers.journeys import JOURNEY, JOURNEY_TITLE

from wamkt_nb.analytics import STEP_FUNNEL_COLUMNS
from wamkt_nb.widgets.analytics import CampaignOverview

pytestmark = pytest.mark.slow


def rows_of(table_html: str) -> list[list[str]]:
    rows = [re.findall(r"<td>(.*?)</td>", row) for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table_html, re.S)]
    return [r for r in rows if r]  # the header row has <th> cells


def test_overview_shows_each_step_of_the_journey(played_journey):
    directory, results = played_journey
    overview = CampaignOverview(directory / "wamkt.db")
    shown = rows_of(overview.journeys.table.value)
    assert [(r[0], r[1], r[2]) for r in shown] == [
        (JOURNEY_TITLE, "0", "campaign"),
        (JOURNEY_TITLE, "1", "not_clicked"),
        (JOURNEY_TITLE, "2", "any"),
    ]
    assert overview.journeys.data is not None
    table = overview.journeys.data.set_index("step")
    expected = results.set_index("step")
    for column in ("excluded", *STEP_FUNNEL_COLUMNS):
        assert list(table[column]) == list(expected[column]), column
    assert table.loc[0, "clicked"] > 0 and table.loc[1, "sent"] > 0  # people clicked; the non-clickers got step 1
    assert table.loc[2, "excluded"] > 0  # one hour after step 1 the 24 h cap holds its recipients back
    assert overview.journeys.image.value[:4] == b"\x89PNG"

    overview.selector.campaign.value = f"{JOURNEY}-step1"
    assert [r[1] for r in rows_of(overview.journeys.table.value)] == ["0", "1", "2"]
    assert overview.selector.campaign.value == f"{JOURNEY}-step1"
