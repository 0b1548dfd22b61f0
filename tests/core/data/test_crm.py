"""The CRM loader against a real HTTP server on 127.0.0.1 (tests/helpers/crm_server.py)."""

from __future__ import annotations

import threading
import time

import pytest
from helpers.crm_server import TOKEN, crm, fresh_crm, make_customers  # noqa: F401 (crm, fresh_crm: fixtures)
from helpers.processes import free_port

from wamkt_nb.data.crm import (
    CrmConfig,
    CrmError,
    FetchCancelled,
    FetchProgress,
    crm_table,
    describe_progress,
    fetch_records,
    load_crm_customers,
    url_place,
)
from wamkt_nb.data.loaders import load_customers
from wamkt_nb.redact import redact_url

CRM_CUSTOMERS = N = 47


class Sleeps(list):
    """Records the waits instead of sleeping, so backoff is checked without slowing the tests."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture(autouse=True)
def own_workspace(tmp_path, monkeypatch):
    """Ids derived from phones need a workspace key: this test's own, not the checkout's."""
    monkeypatch.setenv("WAMKT_WORKSPACE", str(tmp_path / "workspace"))


def _expected_ids() -> list[str]:
    return [str(c["id"]) for c in make_customers(N) if c["id"] % 10 and c["id"] % 13]


@pytest.mark.parametrize(
    "path, auth, pagination, records_path",
    [
        ("/page/customers", "bearer", "page", "data"),
        ("/page/customers", "bearer", "auto", None),
        ("/cursor/contacts", "api_key", "cursor", "results"),
        ("/cursor/contacts", "api_key", "auto", None),
        ("/next/customers", "bearer", "next", "customers"),
        ("/next/customers", "bearer", "auto", None),
    ],
)
def test_every_pagination_style_loads_every_customer(crm, path, auth, pagination, records_path):
    config = CrmConfig(
        crm.base + path, token=TOKEN, auth=auth, pagination=pagination, records_path=records_path, page_size=10
    )
    result = load_crm_customers(config)
    assert result.rows_in == N and result.balanced
    assert result.summary() == {"rows_in": N, "loaded": N - 4 - 3, "rejected": 4, "merged": 3}
    assert result.rows["customer_id"].tolist() == _expected_ids()
    first = result.rows.iloc[0]
    assert first.phone == "+491511000001" and first.first_name == "Kunde1" and first.city == "Berlin"
    assert crm.hits[path] >= 5  # really paged
    assert "unbekannt" in set(result.rejects["value"])


def test_page_size_is_sent_and_pages_counted(crm):
    fetched = fetch_records(CrmConfig(crm.base + "/page/customers", token=TOKEN, pagination="page", page_size=20))
    assert (fetched.pages, fetched.pagination, len(fetched.records)) == (3, "page", N)


def test_429_and_503_are_retried_honouring_retry_after(crm):
    sleeps = Sleeps()
    config = CrmConfig(crm.base + "/flaky/customers", token=TOKEN, pagination="page", page_size=50, backoff=0.25)
    fetched = fetch_records(config, sleep=sleeps)
    assert len(fetched.records) == N and fetched.retries == 2
    assert sleeps == [1.0, 0.5]  # Retry-After: 1 beats 0.25 s; then 0.25 * 2


def test_5xx_gives_up_after_the_retries(crm):
    sleeps = Sleeps()
    config = CrmConfig(crm.base + "/broken/customers", token=TOKEN, retries=3, backoff=0.1)
    with pytest.raises(CrmError, match=r"HTTP 500 to GET http://127.0.0.1:\d+/broken/customers \(page 1\) 4 times"):
        fetch_records(config, sleep=sleeps)
    assert sleeps == pytest.approx([0.1, 0.2, 0.4]) and crm.hits["/broken/customers"] == 4


@pytest.mark.parametrize(
    "path, token, message",
    [
        ("/page/customers", "wrong", r"refused the credentials \(HTTP 401\) for GET .*/page/customers"),
        ("/nothing/here", TOKEN, r"nothing at GET .*/nothing/here \(page 1\) \(HTTP 404\): check the URL"),
        ("/html/customers", TOKEN, r"HTML page instead of JSON to GET .*/html/customers"),
        ("/badjson/customers", TOKEN, r"invalid JSON to GET .*/badjson/customers .*line 1"),
    ],
)
def test_clear_errors_that_never_show_the_token(crm, path, token, message):
    with pytest.raises(CrmError, match=message) as info:
        fetch_records(CrmConfig(crm.base + path, token=token, retries=0))
    assert token not in str(info.value)


def test_wrong_records_path_names_the_keys(crm):
    config = CrmConfig(crm.base + "/page/customers", token=TOKEN, records_path="items")
    with pytest.raises(CrmError, match=r"no 'items' in the response \(keys: data, meta\)"):
        fetch_records(config)


def test_unreachable_crm_and_secrets_in_urls():
    sleeps = Sleeps()

    config = CrmConfig(f"http://127.0.0.1:{free_port()}/x?api_key=abc123", token="t", retries=1, backoff=0.01)
    with pytest.raises(CrmError, match="CRM unreachable: .*ConnectError after 2 attempts") as info:
        fetch_records(config, sleep=sleeps)
    assert "abc123" not in str(info.value) and "api_key=***" in str(info.value)
    assert "t" not in repr(config.token).replace("Secret", "")
    assert redact_url("https://crm.example/api?token=s3cret&page=2") == "https://crm.example/api?token=***&page=2"
    with pytest.raises(CrmError, match="must start with http"):
        CrmConfig("ftp://crm.example/customers")


def test_progress_before_every_request_and_once_done(crm):
    seen: list[FetchProgress] = []
    config = CrmConfig(crm.base + "/page/customers?api_key=abc123", token=TOKEN, pagination="page", page_size=10)
    fetch_records(config, on_progress=seen.append)
    assert [(p.pages, p.records, p.done) for p in seen] == [
        (0, 0, False),
        (1, 10, False),
        (2, 20, False),
        (3, 30, False),
        (4, 40, False),
        (5, N, True),
    ]
    assert [p.total_pages for p in seen] == [None, 5, 5, 5, 5, 5]
    assert all(p.url == crm.base.removeprefix("http://") + "/page/customers" for p in seen)  # no query, no key
    assert [p.elapsed for p in seen] == sorted(p.elapsed for p in seen) and seen[-1].rate > 0
    line = describe_progress(seen[-1])
    assert line.startswith(f"5 of 5 pages · {N} records · ") and "records/s" in line and "abc123" not in line


def test_describe_progress_while_running_and_waiting():
    p = FetchProgress(
        pages=11,
        records=1_100,
        retries=2,
        elapsed=75.5,
        url="crm.example/api/customers",
        total_pages=40,
        waiting="HTTP 429, retrying in 2.0 s",
    )
    assert describe_progress(p) == (
        "page 12 of 40 · 1,100 records · 15 records/s · 1:15 elapsed, ~3:19 left"
        " · 2 retried · crm.example/api/customers · HTTP 429, retrying in 2.0 s"
    )
    assert url_place("https://user:pw@crm.example:8443/v1/people?token=s") == "crm.example:8443/v1/people"


def test_cancel_keeps_the_pages_received(crm):
    cancel = threading.Event()

    def stop_after_two_pages(p: FetchProgress) -> None:
        if p.pages == 2:
            cancel.set()

    config = CrmConfig(crm.base + "/page/customers", token=TOKEN, pagination="page", page_size=10)
    with pytest.raises(FetchCancelled, match="cancelled before page 3: 2 pages, 20 records received") as info:
        fetch_records(config, on_progress=stop_after_two_pages, cancel=cancel)
    partial = info.value.partial
    assert (partial.pages, len(partial.records), crm.hits["/page/customers"]) == (2, 20, 2)
    assert [r["id"] for r in partial.records] == list(range(1, 21))
    raw = crm_table(partial, config)
    assert "incomplete: first 2 pages" in raw.source and any("incomplete: " in n for n in raw.notes)
    assert load_customers(raw).rows_in == 20


def test_cancel_ends_a_retry_wait_at_once(crm):
    cancel = threading.Event()
    waits: list[str] = []

    def on_progress(p: FetchProgress) -> None:
        if p.waiting:
            waits.append(p.waiting)
            cancel.set()  # during the Retry-After: 1 wait of the 429

    config = CrmConfig(crm.base + "/flaky/customers", token=TOKEN, pagination="page", page_size=50, backoff=0.25)
    started = time.monotonic()
    with pytest.raises(FetchCancelled):
        fetch_records(config, on_progress=on_progress, cancel=cancel)
    assert waits == ["HTTP 429, retrying in 1.0 s"] and crm.hits["/flaky/customers"] == 1
    assert time.monotonic() - started < 1.0  # the 1 s wait was not served


def test_an_error_midway_keeps_the_pages_received(crm):
    crm.fail_from = 3
    config = CrmConfig(crm.base + "/page/customers", token=TOKEN, pagination="page", page_size=10, retries=0)
    with pytest.raises(CrmError, match="HTTP 500 to GET .*page=3.* 1 times") as info:
        fetch_records(config)
    assert len(info.value.partial.records) == 20 and "HTTP 500" in info.value.partial.stopped


def test_a_timeout_says_so(crm):
    config = CrmConfig(crm.base + "/hang/customers", token=TOKEN, timeout=0.2, retries=1, backoff=0.01)
    with pytest.raises(
        CrmError,
        match=r"did not answer within 0.2 s \(ReadTimeout\) to GET .*/hang/customers "
        r"\(page 1\), 2 attempts",
    ) as info:
        fetch_records(config)
    assert info.value.partial.records == []
