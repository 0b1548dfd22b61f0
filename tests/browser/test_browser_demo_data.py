"""After a small demo history, the dashboards in headless Chromium show what the store says: every
Segments preset counts the customers a direct SQL query of the store finds (the campaigns' reads,
replies and orders included), and the A/B dashboard says how underpowered the planned test is
with the few customers of a small demo (the default demo's 2,000 call B: ``test_demo_ab``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers import ROOT
from helpers.browser import SECRETS, check_clean, open_dashboard, voila_server
from helpers.preset_sql import preset_counts_by_sql
from playwright.sync_api import expect

from wamkt_nb.abtest import evaluate_campaign, experiment_spec, experiments
from wamkt_nb.cli.demo import prepare
from wamkt_nb.data.sample import default_now
from wamkt_nb.segments import PRESETS
from wamkt_nb.segments.describe import describe
from wamkt_nb.store import open_store

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo_workspace(tmp_path_factory) -> Path:
    """``wamkt demo``'s history step for 300 customers over 14 days: the default campaigns up to the A/B test."""
    directory = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("WAMKT_DB_PATH", raising=False)
        prepare(directory, customers=300, days=14, seed=42)
    return directory


def _shown_count(page) -> int:
    text = page.locator(".wamkt-segment-count").inner_text()
    return int(re.search(r"([\d,]+) customers match", text).group(1).replace(",", ""))


def test_every_segments_preset_counts_what_the_store_says(page, demo_workspace: Path, tmp_path, monkeypatch):
    monkeypatch.delenv("WAMKT_DB_PATH", raising=False)
    store = open_store(demo_workspace / "wamkt.db")
    expected = preset_counts_by_sql(store, default_now().timestamp())
    phones = [p for (p,) in store.query("SELECT phone FROM customers")]
    store.close()
    assert expected["active_7d"] > 0 and expected["high_value_active_7d"] > 0
    shown = {}
    with voila_server(
        ROOT / "dashboards" / "segments.ipynb",
        env={"WAMKT_WORKSPACE": str(demo_workspace), **SECRETS},
        log=tmp_path / "voila.log",
    ) as url:
        open_dashboard(page, url, ".wamkt-segment-count")
        for key, preset in PRESETS.items():  # the dashboard opens on the last one: each choice is a change
            page.locator(".wamkt-segment-preset select").select_option(label=preset.label)
            expect(page.locator(".wamkt-segment-description")).to_have_text(
                describe(preset.rule, preset.include_inactive)
            )  # drawn after the count
            shown[key] = _shown_count(page)
        check_clean(page, phones)
    assert shown == expected


def test_the_ab_dashboard_gives_the_planned_tests_verdict(page, demo_workspace: Path, tmp_path, monkeypatch):
    monkeypatch.delenv("WAMKT_DB_PATH", raising=False)
    store = open_store(demo_workspace / "wamkt.db")
    campaign_id = experiments(store)["campaign_id"].iloc[0]
    counts, evaluation = evaluate_campaign(store, campaign_id)
    planned = experiment_spec(store, campaign_id)["planned_per_arm"]
    store.close()
    headline = evaluation.verdict.headline  # 300 customers cannot fill the planned arms
    assert headline == f"Underpowered: needs {planned:,} per arm, has {int(counts['users'].min()):,}"
    with voila_server(
        ROOT / "dashboards" / "ab_results.ipynb",
        env={"WAMKT_WORKSPACE": str(demo_workspace), **SECRETS},
        log=tmp_path / "voila.log",
    ) as url:
        verdict = open_dashboard(page, url, ".wamkt-ab-verdict")
        expect(verdict).to_contain_text(headline)
        expect(page.locator(".wamkt-ab-metric select")).to_have_value("read")
        expect(page.locator(".wamkt-ab-table")).to_contain_text(f"{int(counts['users'].iloc[0]):,}")
