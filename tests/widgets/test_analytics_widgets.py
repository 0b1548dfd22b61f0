"""The analytics views driven in plain pytest: selectors redraw, exports work, no phone leaks."""

from __future__ import annotations

import re
import time

import ipywidgets as W
import pandas as pd
import pytest

from wamkt_nb.analytics import headline
from wamkt_nb.analytics.synthetic import write_ledger
from wamkt_nb.data.sample import generate
from wamkt_nb.store import open_store
from wamkt_nb.widgets.analytics import CampaignOverview, SegmentComparison, SendTimes, format_table, kpi_html
from wamkt_nb.workspace import save_customer_data


@pytest.fixture
def filled(workspace):
    data = generate(300, seed=9)
    save_customer_data(data, workspace)
    store = open_store(workspace / "wamkt.db")
    write_ledger(store, data.customers, 3_000, time.time(), seed=9)
    store.close()
    return data


def all_html(widget: W.Widget) -> str:
    """Every HTML/Label value in the widget tree."""
    parts = []
    stack = [widget]
    while stack:
        w = stack.pop()
        if isinstance(w, (W.HTML, W.Label)):
            parts.append(w.value)
        stack.extend(getattr(w, "children", ()))
    return "\n".join(parts)


def test_overview_figures_and_selector(filled):
    view = CampaignOverview()
    kpis = view.kpis.value
    assert "wamkt-kpi-read-rate" in kpis
    read = float(re.search(r'wamkt-kpi-read-rate"[^>]*>([\d.]+)%', kpis).group(1))
    assert 30 < read <= 100
    assert view.funnel.image.value.tobytes().startswith(b"\x89PNG")
    before = view.funnel.image.value.tobytes()
    view.selector.campaign.value = view.selector.campaign.options[1][1]
    assert view.funnel.image.value.tobytes() != before
    assert re.search(r"wamkt-kpi-campaigns\"[^>]*>1<", view.kpis.value)
    assert view.status.value == ""


def test_exports_png_csv_then_svg_excel(filled):
    view = CampaignOverview()
    links = view.funnel.links.value
    assert "data:image/png;base64," in links and "data:text/csv;base64," in links
    assert "image/svg+xml" not in links
    view.funnel.more.click()
    assert "data:image/svg+xml;base64," in view.funnel.links.value
    assert "spreadsheetml" in view.funnel.links.value


def test_no_full_phone_number_anywhere(filled):
    phones = filled.customers["phone"].astype(str).tolist()
    for view in (CampaignOverview(), SegmentComparison(), SendTimes()):
        text = all_html(view)
        assert not any(p in text or p[1:] in text for p in phones)


def test_segment_comparison_has_baseline_and_published_figures(filled):
    view = SegmentComparison()
    table = view.comparison.table.value
    assert "unsegmented" in table and "frequent_buyers" in table
    assert "by interaction frequency" in view.published.value
    assert "WhatsApp marketing guide, 2024" in view.published.value and "seed" not in view.published.value
    view.selector.segment.value = "active_7d"
    assert "active_7d" in view.comparison.table.value and "frequent_buyers" not in view.comparison.table.value


def test_send_times_heatmap_and_empty_selection(filled):
    view = SendTimes()
    assert view.heatmap.image.value.tobytes().startswith(b"\x89PNG")
    assert "after the customer read the message" in view.decay.title.value  # the table says from when
    assert "Read rate by local send hour" in view.peak.value and "peak hours vs average" in view.peak.value
    view.selector.since.value = pd.Timestamp.now().date() + pd.Timedelta(days=30)
    assert "No messages match" in view.status.value


def test_empty_and_damaged_database(workspace):
    assert "No campaigns yet" in CampaignOverview().status.value
    (workspace / "wamkt.db").write_bytes(b"this is not sqlite" * 100)
    view = SendTimes()
    assert "wamkt-error" in view.status.value and "Traceback" not in view.status.value


def test_format_table_rates_and_money():
    html = format_table(pd.DataFrame({"read_rate": [0.5], "revenue": [1234.5], "roi": [3.0]}))
    assert "50.0%" in html and "1,234.50" in html and "3.0×" in html


def test_kpi_cost_says_how_many_sends_have_no_price_on_the_card():
    sends = pd.DataFrame(
        {
            "campaign_id": ["a", "a", "a"],
            "attempted": [1, 1, 1],
            "delivered": [1, 1, 1],
            "read": [1, 0, 1],
            "replied": [0, 0, 0],
            "converted": [0, 0, 1],
            "cost": [0.1, float("nan"), 0.2],
        }
    )
    roi = pd.DataFrame({"revenue": [30.0], "cost": [sends["cost"].sum()]})
    head = headline(sends, roi).iloc[0]
    assert head["unpriced"] == 1 and head["cost"] == pytest.approx(0.3)
    assert "Meta rate card 2026-07-01 · excludes 1 unpriced" in kpi_html(head, True, "EUR", "Meta rate card 2026-07-01")
    assert "unpriced" not in kpi_html(headline(sends.iloc[[0, 2]], roi).iloc[0], True, "EUR", "card")
