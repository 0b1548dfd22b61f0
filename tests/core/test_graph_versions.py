"""The Graph API versions: the client's default is one the sandbox serves, retired ones get Meta's error."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from wamkt_nb.cloudapi import CloudAPIError, CloudClient, text_message
from wamkt_nb.data.sample import generate
from wamkt_nb.graph_versions import CURRENT_VERSION, GRAPH_VERSIONS, is_served, served_versions
from wamkt_nb.sandbox import Sandbox, SandboxConfig
from wamkt_nb.settings import Settings, load_settings

DATA = generate(20, seed=3, now="2026-11-20")
PHONE = DATA.customers.phone.iloc[0]


@pytest.fixture(scope="module")
def sb():
    with Sandbox(customers=DATA, config=SandboxConfig(not_on_whatsapp_rate=0)) as sandbox:
        yield sandbox


def test_client_default_is_the_current_version_and_inside_the_sandbox_range():
    default = Settings().api_version
    assert default == CURRENT_VERSION == max(GRAPH_VERSIONS, key=lambda v: v.introduced).name
    assert load_settings(environ={}).api_version == default
    assert SandboxConfig().accepts_version(default)
    assert default in served_versions()


def test_served_range_follows_the_changelog_dates():
    on = dt.date(2026, 12, 2)
    assert served_versions(on) == ("v26.0", "v25.0", "v24.0", "v23.0", "v22.0", "v21.0")
    assert not is_served("v20.0", on)  # retired 2026-09-24
    assert not is_served("v21.0", dt.date(2027, 1, 21))  # Meta retires it that day
    assert is_served("v21.0", dt.date(2027, 1, 20))
    assert not is_served("v27.0", on) and not is_served("26.0", on)
    config = SandboxConfig(api_date=dt.date(2027, 1, 21))
    assert not config.accepts_version("v21.0") and config.accepts_version("v22.0")


def test_a_current_client_at_its_default_version_sends_through_the_sandbox(sb):
    with CloudClient(sb.settings(api_version=Settings().api_version)) as client:
        result = client.send_message(sb.phone_number_id, text_message(PHONE, "Hallo"))
    assert result.wamid.startswith("wamid.")


@pytest.mark.parametrize("version", ["v20.0", "v17.0", "v99.0"])
def test_a_retired_or_unknown_version_gets_metas_unknown_path_error(sb, version):
    headers = {"Authorization": f"Bearer {sb.access_token.reveal()}"}
    send = httpx.post(
        f"{sb.base_url}/{version}/{sb.phone_number_id}/messages",
        headers=headers,
        json={"messaging_product": "whatsapp", "to": "4915112345678", "type": "text", "text": {"body": "x"}},
    )
    listing = httpx.get(f"{sb.base_url}/{version}/{sb.waba_id}/message_templates", headers=headers)
    for resp, path in ((send, f"{sb.phone_number_id}/messages"), (listing, f"{sb.waba_id}/message_templates")):
        assert resp.status_code == 400
        error = resp.json()["error"]
        assert error["code"] == 2500 and error["type"] == "OAuthException"
        assert error["message"] == f"Unknown path components: /{version}/{path}"
        assert "error_data" not in error and error["fbtrace_id"]


def test_the_client_reports_the_retired_version_error(sb):
    with CloudClient(sb.settings(api_version="v20.0")) as client, pytest.raises(CloudAPIError) as info:
        client.send_message(sb.phone_number_id, text_message(PHONE, "Hallo"))
    assert info.value.code == 2500 and not info.value.retryable
