"""The notebooks are one journey in one workspace: 01 -> 06 run in order on the same store, each
picking up what the one before left (the saved segment, the campaign dry-run in 03 and sent in 04).
The first step is notebook 01 on an empty workspace, whose data summary is checked on the way."""

from __future__ import annotations

import pytest
from helpers import ROOT
from helpers.notebooks import assert_data_summary, execute_notebook, printed_text

from wamkt_nb.store import open_store



NOTEBOOKS = ("01_load_customers", "02_segments", "03_compose_and_dry_run", "04_send", "05_auto_replies",
             "06_ab_test")


@pytest.mark.slow
def test_notebooks_01_to_06_in_one_workspace(workspace):
    printed = {}
    for name in NOTEBOOKS:
        nb, outputs = execute_notebook(ROOT / "notebooks" / f"{name}.ipynb", timeout=300)
        printed[name] = printed_text(outputs)
        if name == "01_load_customers":  # on the empty workspace: the sample's 2,000 customers, masked
            assert_data_summary(nb, outputs, 2_000)
    with open_store(workspace / "wamkt.db") as store:
        assert [r[0] for r in store.query("SELECT name FROM saved_segments")] == ["active-this-week"]
        campaigns = dict(store.query("SELECT campaign_id, segment_name FROM campaigns"))
        sent = dict(store.query("SELECT state, COUNT(*) FROM sends WHERE campaign_id = 'spring-sale' GROUP BY state"))
        customers = store.query("SELECT COUNT(*) FROM customers")[0][0]
    assert campaigns.pop("spring-sale") == "active-this-week"  # 04 sent what 03 planned, for 02's segment
    assert len(campaigns) == 1 and next(iter(campaigns)).startswith("rabatt-wording-")
    assert sent.get("planned", 0) == 0 and sum(sent.get(s, 0) for s in ("delivered", "read")) > 0
    assert customers == 2_000  # one set of customers from 01 to 06
    assert "customers may receive a marketing message now" in printed["06_ab_test"]
