"""The CRM loader against a real HTTP server on 127.0.0.1 (tests/crm_server.py)."""

from __future__ import annotations

import pytest

from crm_server import TOKEN, crm_server, make_customers
from wamkt_nb.data.crm import CrmConfig, CrmError, display_url, fetch_records, load_crm_customers

N = 47


@pytest.fixture(scope="module")
def crm():
    with crm_server(make_customers(N)) as server:
        yield server


@pytest.fixture(autouse=True)
def _reset_hits(crm):
    crm.hits.clear()


class Sleeps(list):
    """Records the waits instead of sleeping, so backoff is checked without slowing the tests."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def _expected_ids() -> list[str]:
    return [str(c["id"]) for c in make_customers(N) if c["id"] % 10 and c["id"] % 13]


@pytest.mark.parametrize("path, auth, pagination, records_path", [
    ("/page/customers", "bearer", "page", "data"),
    ("/page/customers", "bearer", "auto", None),
    ("/cursor/contacts", "api_key", "cursor", "results"),
    ("/cursor/contacts", "api_key", "auto", None),
    ("/next/customers", "bearer", "next", "customers"),
    ("/next/customers", "bearer", "auto", None),
])
def test_every_pagination_style_loads_every_customer(crm, path, auth, pagination, records_path):
    config = CrmConfig(crm.base + path, token=TOKEN, auth=auth, pagination=pagination,
                       records_path=records_path, page_size=10)
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


@pytest.mark.parametrize("path, token, message", [
    ("/page/customers", "wrong", r"refused the credentials \(HTTP 401\) for GET .*/page/customers"),
    ("/nothing/here", TOKEN, r"nothing at GET .*/nothing/here \(page 1\) \(HTTP 404\): check the URL"),
    ("/html/customers", TOKEN, r"HTML page instead of JSON to GET .*/html/customers"),
    ("/badjson/customers", TOKEN, r"invalid JSON to GET .*/badjson/customers .*line 1"),
])
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
    from conftest import free_port

    config = CrmConfig(f"http://127.0.0.1:{free_port()}/x?api_key=abc123", token="t", retries=1, backoff=0.01)
    with pytest.raises(CrmError, match="CRM unreachable: .*ConnectError after 2 attempts") as info:
        fetch_records(config, sleep=sleeps)
    assert "abc123" not in str(info.value) and "api_key=***" in str(info.value)
    assert "t" not in repr(config.token).replace("Secret", "")
    assert display_url("https://crm.example/api?token=s3cret&page=2") == "https://crm.example/api?token=***&page=2"
    with pytest.raises(CrmError, match="must start with http"):
        CrmConfig("ftp://crm.example/customers")
