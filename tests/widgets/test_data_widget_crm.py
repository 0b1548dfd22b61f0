"""The data loader's CRM fetch in the background, against the fake CRM on 127.0.0.1 (tests/helpers/crm_server.py).

The widget is driven in plain pytest: the click returns at once, the test polls traits until a
condition holds (generous deadlines, no fixed sleeps), and cancels or lets the fetch finish.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import Callable

import pandas as pd
import pytest
from helpers.crm_server import TOKEN, crm, fresh_crm  # noqa: F401 (crm, fresh_crm: fixtures)  # noqa: F401 (crm, fresh_crm: fixtures)

from wamkt_nb.data.crm import CRM_TOKEN_VARIABLE, CrmConfig, load_crm_customers
from wamkt_nb.widgets.data_loader import DataLoaderWidget

CRM_CUSTOMERS = N = 400
PAGE = 10
DEADLINE = 60.0  # seconds; CI machines may be slow


def wait_until(condition: Callable[[], object], what: str, timeout: float = DEADLINE) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.005)


def _widget(crm, path: str = "/page/customers", token: str = TOKEN, **options) -> DataLoaderWidget:
    w = DataLoaderWidget(crm_options={"page_size": PAGE, **options})
    w.crm_url.value = crm.base + path
    w.crm_token.value = token
    return w


def _records_shown(w: DataLoaderWidget) -> int | None:
    match = re.search(r"([\d,]+) records", w.crm_progress.value)
    return int(match.group(1).replace(",", "")) if match else None


def _fetch(w: DataLoaderWidget) -> None:
    w.crm_button.click()
    wait_until(lambda: not w.fetching, "the fetch to end")


def test_fetch_runs_in_the_background_shows_progress_and_loads_like_before(crm):
    crm.delay = 0.03  # 40 pages: over a second of fetching to watch
    w = _widget(crm)
    w.crm_button.click()
    assert w.fetching and w.crm_job.is_alive() and w.data is None  # the click returned while fetching
    assert w.crm_button.disabled and not w.crm_cancel.disabled
    seen: list[int] = []
    deadline = time.monotonic() + DEADLINE
    while w.fetching:
        shown = _records_shown(w)
        if shown is not None and (not seen or shown != seen[-1]):
            seen.append(shown)
        assert time.monotonic() < deadline, "timed out waiting for the fetch to end"
        time.sleep(0.005)
    assert len(seen) >= 3 and seen == sorted(seen), seen  # the line moved forward while fetching
    assert seen[0] < N
    line = w.crm_progress.value
    assert "40 of 40 pages" in line and f"{N} records" in line and "records/s" in line and "elapsed" in line
    assert f"127.0.0.1:{crm.base.rsplit(':', 1)[1]}/page/customers" in line and TOKEN not in line
    assert (w.crm_bar.max, w.crm_bar.value) == (40, 40)
    assert not w.crm_button.disabled and w.crm_cancel.disabled and w.crm_partial.layout.display == "none"

    expected = load_crm_customers(CrmConfig(crm.base + "/page/customers", token=TOKEN, page_size=PAGE))
    assert w.result.summary() == expected.summary()
    pd.testing.assert_frame_equal(w.result.rows, expected.rows)
    pd.testing.assert_frame_equal(w.result.rejects, expected.rejects)
    assert w.result.source == expected.source and "incomplete" not in w.result.source
    assert f"Loaded {expected.loaded:,} customers" in w.status.value
    assert list(w.data.customers["customer_id"]) == list(expected.rows["customer_id"])


def test_cancel_stops_soon_reports_counts_and_loads_nothing_unless_asked(crm):
    crm.delay = 0.05  # 40 pages take two seconds at least; cancelled well before
    w = _widget(crm)
    w.crm_button.click()
    wait_until(lambda: (_records_shown(w) or 0) >= 3 * PAGE, "three pages")
    w.crm_cancel.click()
    assert w.crm_cancel.disabled and "Cancelling" in w.crm_progress.value
    asked = time.monotonic()
    wait_until(lambda: not w.fetching, "the fetch to stop")
    assert time.monotonic() - asked < 10.0  # the request in flight at most (default timeout 10 s)
    received = w.progress.records
    assert 3 * PAGE <= received < N and received == w.progress.pages * PAGE
    assert crm.hits["/page/customers"] == w.progress.pages  # no request after the cancel
    assert w.data is None and w.result is None  # nothing loaded silently
    assert "wamkt-data-warning" in w.status.value and "cancelled" in w.status.value
    assert f"{received:,} records" in w.status.value and "Nothing was loaded" in w.status.value
    assert (
        w.crm_partial.layout.display is None and w.crm_partial.description == f"Load the {received:,} records fetched"
    )

    w.crm_partial.click()
    wait_until(lambda: not w.fetching, "the partial load")
    assert w.result.rows_in == received and w.result.balanced
    assert "incomplete" in w.result.source and any("incomplete" in n for n in w.result.notes)
    assert "incomplete" in w.status.value and w.crm_partial.layout.display == "none"


def test_an_error_midway_keeps_the_pages_received(crm):
    crm.fail_from = 4
    w = _widget(crm, retries=0)
    _fetch(w)
    assert "wamkt-data-error" in w.status.value and "HTTP 500" in w.status.value
    assert "30 records from 3 pages were received" in w.status.value and w.data is None
    assert w.crm_partial.description == "Load the 30 records fetched"
    w.crm_partial.click()
    wait_until(lambda: not w.fetching, "the partial load")
    assert w.result.rows_in == 30


@pytest.mark.parametrize(
    "path, token, options, message",
    [
        ("/page/customers", "wrong-token", {}, "refused the credentials (HTTP 401)"),
        ("/forbidden/customers", TOKEN, {}, "refused the credentials (HTTP 403)"),
        ("/nothing/here", TOKEN, {}, "(HTTP 404): check the URL"),
        ("/html/customers", TOKEN, {}, "HTML page instead of JSON"),
        ("/badjson/customers", TOKEN, {}, "invalid JSON"),
        ("/hang/customers", TOKEN, {"timeout": 0.3, "retries": 0}, "did not answer within 0.3 s (ReadTimeout)"),
    ],
)
def test_errors_are_shown_in_the_widget(crm, path, token, options, message):
    w = _widget(crm, path, token, **options)
    _fetch(w)
    assert "wamkt-data-error" in w.status.value and message in w.status.value
    assert token not in w.status.value + w.crm_progress.value and "Traceback" not in w.status.value
    assert w.data is None and not w.crm_button.disabled and w.crm_partial.layout.display == "none"


def test_a_failed_fetch_keeps_the_data_loaded_before(crm):
    w = _widget(crm, "/page/customers", "wrong")
    _fetch(w)
    assert "HTTP 401" in w.status.value and "wrong" not in w.status.value
    w.crm_token.value = TOKEN
    _fetch(w)
    assert w.result.rows_in == N and w.result.balanced
    assert TOKEN not in w.status.value + w.summary.value + w.preview.value
    w.crm_url.value = crm.base + "/html/customers"
    _fetch(w)
    assert "HTML page instead of JSON" in w.status.value and w.result.rows_in == N


def test_bad_settings_are_refused_before_fetching():
    w = DataLoaderWidget()
    w.crm_url.value = "crm.example.com/customers"
    w.crm_button.click()
    assert not w.fetching and "must start with http" in w.status.value


async def test_in_a_kernel_the_loop_keeps_running_and_the_result_lands_on_it(crm):
    crm.delay = 0.03
    w = _widget(crm)
    loaded_on: list[threading.Thread] = []
    w.on_loaded(lambda data: loaded_on.append(threading.current_thread()))
    w.crm_button.click()
    ticks = 0
    deadline = time.monotonic() + DEADLINE
    while w.data is None:
        assert time.monotonic() < deadline, "timed out waiting for the loaded data"
        await asyncio.sleep(0.01)
        ticks += 1
    assert ticks >= 10  # the event loop (the kernel) ran all along the 40-page fetch
    assert loaded_on == [threading.main_thread()] and w.result.rows_in == N


def test_the_token_leaves_the_widget_state_and_can_come_from_the_environment(crm, monkeypatch):
    w = _widget(crm)
    _fetch(w)
    assert w.result is not None and w.crm_token.value == ""  # used, then gone from what a notebook saves
    assert TOKEN not in json.dumps(w.crm_token.get_state(), default=str)
    monkeypatch.setenv(CRM_TOKEN_VARIABLE, TOKEN)
    from_env = _widget(crm, token="")
    _fetch(from_env)
    assert from_env.result is not None and from_env.result.summary() == w.result.summary()
