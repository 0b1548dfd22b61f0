"""Secrets never reach the store, the workspace or the output, even when the API echoes them back.

The failing send runs ``wamkt send`` in a subprocess against a server of ours (real HTTP on
127.0.0.1) whose error answers repeat the Authorization header, the access token and the app secret.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import subprocess
import sys
import time

from helpers.plans import make_plan

from wamkt_nb.cloudapi import AsyncCloudClient, CloudClient
from wamkt_nb.cloudapi.errors import error_from_payload
from wamkt_nb.data.crm import CrmConfig
from wamkt_nb.scrub import MASK, remember_secret, scrub
from wamkt_nb.settings import load_settings
from wamkt_nb.webhooks.server import BackgroundServer


def echoing_api(token: str, app_secret: str):
    """An ASGI Graph API stand-in whose every answer is an error echoing the caller's credentials."""
    calls = {"n": 0}

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        calls["n"] += 1
        auth = dict(scope["headers"]).get(b"authorization", b"").decode()
        transient = calls["n"] % 2 == 1  # odd calls: 500 (retried), even calls: 400 (failed)
        code, status = (131000, 500) if transient else (131009, 400)
        body = {
            "error": {
                "message": f"(#{code}) bad request with {auth}",
                "type": "OAuthException",
                "code": code,
                "error_data": {
                    "messaging_product": "whatsapp",
                    "details": f"token {token} and app secret {app_secret} were sent",
                },
                "fbtrace_id": "Atrace",
                "echo": {"access_token": token, "url": f"/x?access_token={token}"},
            }
        }
        raw = json.dumps(body).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": raw})

    return app, calls


def _all_rows_text(db) -> str:
    conn = sqlite3.connect(db)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return "\n".join(repr(row) for t in tables for row in conn.execute(f'SELECT * FROM "{t}"'))
    finally:
        conn.close()


def test_echoed_token_and_app_secret_are_nowhere_after_a_failing_send(tmp_path):
    token = "tok-" + secrets.token_hex(16)  # not shaped like Meta's tokens: only the registry can catch it
    app_secret = "app-" + secrets.token_hex(16)
    app, calls = echoing_api(token, app_secret)
    plan = tmp_path / "plan.json"
    plan.write_text(
        make_plan(4, template="order_shipped", planned_at=time.time()).to_json(orient="records", date_format="iso")
    )
    db = tmp_path / "w.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAMKT_")}
    env.update(
        WAMKT_WORKSPACE=str(tmp_path), WAMKT_SANDBOX_TOKEN=token, WAMKT_APP_SECRET=app_secret, WAMKT_ACCESS_TOKEN=token
    )
    with BackgroundServer(app) as server:
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "wamkt_nb",
                "send",
                "c1",
                "--sandbox",
                "--plan",
                str(plan),
                "--db",
                str(db),
                "--base-url",
                server.url,
                "--max-attempts",
                "2",
                "--pace",
                "40",
            ],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    output = out.stdout + out.stderr
    assert calls["n"] >= 4, output
    assert "Traceback" not in output
    stored = _all_rows_text(db)
    assert MASK in stored  # the echo was stored, scrubbed
    for secret in (token, app_secret):
        assert secret not in output
        assert secret not in stored
        for path in tmp_path.rglob("*"):
            if path.is_file() and path != plan:
                assert secret.encode() not in path.read_bytes(), path


def test_scrub_masks_known_secrets_and_credential_shaped_text():
    remember_secret("known-secret-value-123")
    remember_secret("short")  # too short to mask by value: it would mask ordinary words
    text = (
        "known-secret-value-123 | Authorization: Bearer abc.DEF-123_456 | OAuth zzzzzzzzzz | "
        'https://h/x?access_token=tok123&b=1 | {"app_secret": "s3cr3t"} | EAAGm0PX4ZCpsBAKZC2ZBZAbcdefghij12 '
        "| short story"
    )
    clean = scrub(text)
    for leaked in ("known-secret-value-123", "abc.DEF-123_456", "zzzzzzzzzz", "tok123", "s3cr3t", "EAAGm0PX4ZCps"):
        assert leaked not in clean, leaked
    assert "&b=1" in clean and "short story" in clean and "Authorization: Bearer ***" in clean


def test_cloud_api_errors_are_scrubbed_when_made():
    remember_secret("echoed-token-0000000")
    err = error_from_payload(
        {
            "error": {
                "code": 190,
                "message": "bad token echoed-token-0000000",
                "error_data": {"details": "Bearer echoed-token-0000000"},
                "raw": ["echoed-token-0000000"],
            }
        },
        401,
    )
    for text in (str(err), repr(err), err.message, err.details, json.dumps(err.raw), json.dumps(err.to_dict())):
        assert "echoed-token-0000000" not in text


def test_reprs_of_settings_crm_config_and_clients_do_not_show_url_credentials(monkeypatch):
    """A notebook that shows its settings or client prints their repr: a base URL or CRM URL with a
    password or key in it must come out masked (they were shown verbatim)."""
    url = "http://user:PASSW0RD@127.0.0.1:9/graph?access_token=URLTOKEN"
    monkeypatch.setenv("WAMKT_BASE_URL", url)
    shown = [
        repr(load_settings(config_file=None)),
        repr(AsyncCloudClient(base_url=url, access_token="t")),
        repr(CrmConfig(url=url, params={"api_key": "PARAMKEY", "page": "1"})),
    ]
    with CloudClient(base_url=url, access_token="t") as client:
        shown.append(repr(client))
    for text in shown:
        assert "PASSW0RD" not in text and "URLTOKEN" not in text and "PARAMKEY" not in text, text
        assert "127.0.0.1:9" in text
    assert "'page': '1'" in shown[2]
