"""Voila serves the customer data dashboard; headless Chromium sees the summary, ids that are not phone
numbers, and no full phone number or secret anywhere in the page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers import ROOT
from helpers.browser import SECRETS, check_clean, open_dashboard, voila_server

from wamkt_nb.data.loaders import load_customers
from wamkt_nb.data.sample import generate
from wamkt_nb.data.schema import CustomerData
from wamkt_nb.workspace import save_customer_data

pytestmark = pytest.mark.browser


def test_dashboard_shows_the_summary_with_masked_phones(page, workspace: Path, tmp_path):
    data = generate(437, seed=11)
    # the customers come from a file without an id column: the loader derives the ids from the phones
    loaded = load_customers(data.customers.drop(columns="customer_id").to_csv(index=False).encode(), name="c.csv")
    assert loaded.loaded == 437
    new_id = dict(
        zip(
            data.customers["customer_id"],
            loaded.rows.set_index("phone").loc[data.customers["phone"], "customer_id"],
            strict=True,
        )
    )
    orders = data.orders.assign(customer_id=data.orders["customer_id"].map(new_id))
    interactions = data.interactions.assign(customer_id=data.interactions["customer_id"].map(new_id))
    save_customer_data(CustomerData(loaded.rows, orders, interactions), workspace)
    with voila_server(
        ROOT / "dashboards" / "customer_data.ipynb",
        env={"WAMKT_WORKSPACE": str(workspace), **SECRETS},
        log=tmp_path / "voila.log",
    ) as url:
        summary = open_dashboard(page, url, ".wamkt-data-summary")
        text = summary.inner_text()
        assert re.search(r"customers\s+437", text)
        assert re.search(rf"orders\s+{len(data.orders):,}", text)
        assert re.search(rf"interactions\s+{len(data.interactions):,}", text)
        assert "DE " in text
        preview = page.locator(".wamkt-data-preview").inner_text()
        assert "*****" in preview and re.search(r"\bc_[0-9a-f]{16}\b", preview)
        check_clean(page, data.customers["phone"].tolist())
