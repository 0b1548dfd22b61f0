"""The Jupyter server extension in a real ``jupyter server`` process: no Jupyter auth or XSRF for
Meta, the signature instead; and a keyword from the sandbox gets its reply through it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from helpers.jupyter_server import jupyter_server_with_extension
from helpers.processes import wait_until
from helpers.webhook_payloads import inbound, signed

from wamkt_nb.data.sample import generate
from wamkt_nb.sandbox import Sandbox
from wamkt_nb.store import open_store

JUPYTER_TOKEN = "jupyter-login-token"
VERIFY = "jupyter-verify-token"


@pytest.fixture(scope="module")
def sandbox():
    sb = Sandbox(customers=generate(20, seed=5))
    sb.start()
    sb.test_phone = sb.customers_frame()["phone"].iloc[0]
    yield sb
    sb.stop()


@contextlib.contextmanager
def jupyter_server(sandbox, tmp: Path, **extra_env: str) -> Iterator[str]:
    """A real ``jupyter server`` with the extension on, writing to ``tmp/jupyter.db`` unless
    ``extra_env`` names another store; yields the webhook URL. Its log must hold no secret."""
    settings = sandbox.settings()
    env = {
        "WAMKT_APP_SECRET": settings.app_secret.reveal(),
        "WAMKT_VERIFY_TOKEN": VERIFY,
        "WAMKT_ACCESS_TOKEN": settings.access_token.reveal(),
        "WAMKT_BASE_URL": settings.base_url,
        "WAMKT_API_VERSION": settings.api_version,
        "WAMKT_PHONE_NUMBER_IDS": sandbox.phone_number_id,
        "WAMKT_DB_PATH": str(tmp / "jupyter.db"),
        **extra_env,
    }
    with jupyter_server_with_extension(tmp, JUPYTER_TOKEN, env, base_url="/lab-base/") as (port, _):
        yield f"http://127.0.0.1:{port}/lab-base/wamkt/webhook"
    text = (tmp / "server.log").read_text(errors="replace")
    assert settings.app_secret.reveal() not in text and VERIFY not in text


@pytest.fixture(scope="module")
def jupyter(sandbox, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("jupyter")
    with jupyter_server(sandbox, tmp) as url:
        yield url, tmp


def test_handshake_and_signature_without_jupyter_login(jupyter, sandbox):
    url, _ = jupyter
    ok = httpx.get(url, params={"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "31337"})
    assert (ok.status_code, ok.text) == (200, "31337")
    assert (
        httpx.get(url, params={"hub.mode": "subscribe", "hub.verify_token": "x", "hub.challenge": "1"}).status_code
        == 403
    )
    body, headers = signed(inbound(text="Hallo"), secret=sandbox.app_secret.reveal())
    assert httpx.post(url, content=body, headers=headers).status_code == 200  # no token, no _xsrf cookie
    assert httpx.post(url, content=body).status_code == 401
    assert (
        httpx.post(url, content=b"{oops", headers=signed(b"{oops", secret=sandbox.app_secret.reveal())[1]).status_code
        == 400
    )
    big, big_headers = signed(b" " * (5 * 1024 * 1024), secret=sandbox.app_secret.reveal())
    assert httpx.post(url, content=big, headers=big_headers).status_code == 413
    # the rest of Jupyter still wants its login
    assert httpx.get(url.replace("wamkt/webhook", "api/contents")).status_code in (401, 403)


def test_sandbox_keyword_reply_through_jupyter(jupyter, sandbox):
    url, tmp = jupyter
    sandbox.set_webhook(url, VERIFY)
    phone = sandbox.test_phone
    sandbox.inject_inbound(phone, "Rabatt bitte")

    def replies() -> list:
        sandbox.wait_idle(1)
        return [r for r in sandbox.received() if r["body"].get("to") == phone]

    wait_until(replies)
    got = replies()
    assert "WILLKOMMEN10" in got[0]["body"]["text"]["body"]
    # the server marks the reply accepted only once the sandbox's answer is back: wait for that too
    store = open_store(tmp / "jupyter.db")
    wait_until(lambda: [tuple(r) for r in store.query("SELECT state FROM replies")] == [("accepted",)])
    store.close()
    sandbox.set_webhook(None)


def test_poison_item_through_jupyter_is_a_reject_and_the_good_message_is_kept(jupyter, sandbox):
    url, tmp = jupyter
    payload = inbound(wamid="wamid.jp.bad", text="kaputt \ud800")
    payload["entry"][0]["changes"].append(inbound(wamid="wamid.jp.good", text="ok")["entry"][0]["changes"][0])
    body, headers = signed(payload, secret=sandbox.app_secret.reveal())
    resp = httpx.post(url, content=body, headers=headers)
    assert resp.status_code == 200 and resp.json()["rejects"] == 1, resp.text
    with open_store(tmp / "jupyter.db") as store:
        assert store.query("SELECT count(*) FROM inbound_messages WHERE wamid = 'wamid.jp.good'")[0][0] == 1
        assert "surrogate" in store.query("SELECT reason FROM webhook_rejects")[-1][0]


def test_the_extension_writes_to_the_team_store_when_a_database_url_is_set(sandbox, tmp_path, postgres_server):
    url = postgres_server.create_database("wamkt_jupyter")
    with jupyter_server(sandbox, tmp_path, WAMKT_DATABASE_URL=url) as webhook:
        body, headers = signed(inbound(wamid="wamid.jp.team", text="Hallo"), secret=sandbox.app_secret.reveal())
        assert httpx.post(webhook, content=body, headers=headers).status_code == 200
    with open_store(url) as store:
        assert store.query("SELECT count(*) FROM inbound_messages WHERE wamid = 'wamid.jp.team'")[0][0] == 1
    assert not (tmp_path / "jupyter.db").exists()
