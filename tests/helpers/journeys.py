"""A workspace whose ledger holds a journey with tracked links, played on the real sandbox: a
campaign with a link, a step for whoever did not click within 24 h and a step one hour later (the
24 h marketing cap holds most of its recipients back). For the overview's per-step funnel tests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from wamkt_nb import Workspace
from wamkt_nb.compliance import Policy
from wamkt_nb.data.sample import default_now
from wamkt_nb.messages import MessageSpec, Param, template_from_text
from wamkt_nb.sandbox import BehaviourParams
from wamkt_nb.settings import Settings

SHOP = "https://shop.example.com/herbst"
SALE = template_from_text(
    "herbst_sale",
    "de",
    "MARKETING",
    "Hallo {{first_name}}, der Herbst-Sale ist da: {{link}}",
    examples={"first_name": "Anna", "link": "https://shop.example.com/sale"},
)
JOURNEY = "herbst"
JOURNEY_TITLE = "Herbst-Sale"


def play_journey(directory: Path, customers: int = 150) -> pd.DataFrame:
    """Play the journey into the workspace at ``directory``; its per-step funnel (``step_results``)."""
    start = default_now().normalize() + pd.Timedelta(hours=14)
    with Workspace(
        Settings(sandbox=True),
        directory=directory,
        now=start,
        sample_size=customers,
        behaviour=BehaviourParams(click_given_read=0.6),
        templates=[SALE],
    ) as ws:
        sale = ws.template("herbst_sale")
        spec = MessageSpec(template={"*": sale}, params={"first_name": Param("first_name")}, links={"link": SHOP})
        campaign = ws.campaign(ws.segment(), spec, name=JOURNEY, title=JOURNEY_TITLE)
        campaign.dry_run(schedule="now", policy=Policy(daily_limit=None), link_base_url=ws.receiver.link_base_url)
        campaign.follow_up("24h", spec, when="not_clicked")
        campaign.follow_up("1h", spec)
        campaign.send(pace=80.0, display="text", wait_for_later=False)
        ws.play_journeys(ws.clock.now() + 30 * 3600, pace=80.0)
        return campaign.step_results()
