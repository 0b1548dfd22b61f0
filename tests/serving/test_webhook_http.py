"""The receiver over real HTTP on 127.0.0.1: refusals, limits, dedupe, fuzzing, and ``wamkt serve``."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx
import pytest
from helpers.processes import free_port, wait_for_port
from helpers.webhook_fuzz import FIELDS, ITEM_KEYS, VALUE_KEYS
from helpers.webhook_payloads import APP_SECRET, VERIFY_TOKEN, RecordingSender, inbound, receiver_client, signed, status
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wamkt_nb.serving.service import build_service
from wamkt_nb.store import open_store
from wamkt_nb.webhooks.server import BackgroundServer


@pytest.fixture
def server(tmp_path):
    with receiver_client(tmp_path / "wamkt.db", max_body_bytes=200_000) as client:
        yield client


def test_handshake_over_http(server):
    ok = server.get(
        "/webhook", params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "424242"}
    )
    assert (ok.status_code, ok.text) == (200, "424242")
    bad = server.get("/webhook", params={"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"})
    assert bad.status_code == 403 and "1" != bad.text


def test_bad_and_missing_signature_refused_and_nothing_recorded(server):
    body, headers = signed(inbound())
    assert server.post("/webhook", content=body).status_code == 401
    wrong = {"X-Hub-Signature-256": signed(inbound(), secret="not-the-secret")[1]["X-Hub-Signature-256"]}
    assert server.post("/webhook", content=body, headers=wrong).status_code == 401
    tampered = body.replace(b"Rabatt", b"Rabatz")
    assert server.post("/webhook", content=tampered, headers=headers).status_code == 401
    assert server.store.query("SELECT count(*) FROM inbound_messages")[0][0] == 0


def test_malformed_json_is_400(server):
    for raw in (b"{not json", b"\xff\xfe", b'{"object": "whatsapp_business_account", "entry": 5}', b"[]"):
        body, headers = signed(raw)
        resp = server.post("/webhook", content=body, headers=headers)
        assert resp.status_code == 400, raw
    assert server.get("/healthz").text == "ok"


def test_oversized_body_is_413(server):
    body, headers = signed(b"{" + b" " * 300_000 + b"}")
    assert server.post("/webhook", content=body, headers=headers).status_code == 413

    def chunks():  # no content-length: the limit is enforced while streaming
        for _ in range(30):
            yield b" " * 10_000

    assert server.post("/webhook", content=chunks(), headers=headers).status_code == 413
    assert server.get("/healthz").status_code == 200


def test_default_limit_takes_meta_sized_batches(tmp_path):
    store = open_store(tmp_path / "w.db")
    service = build_service(store, RecordingSender(), app_secret=APP_SECRET, verify_token=VERIFY_TOKEN)
    payload = inbound()
    msgs = payload["entry"][0]["changes"][0]["value"]["messages"]
    template = msgs[0]
    msgs[:] = [dict(template, id=f"wamid.{i}", text={"body": "x" * 2900}) for i in range(1000)]
    body, headers = signed(payload)
    assert 2_900_000 < len(body) < 3_300_000
    with BackgroundServer(service.asgi_app()) as srv:
        resp = httpx.post(srv.url + "/webhook", content=body, headers=headers, timeout=30)
        assert resp.status_code == 200 and resp.json()["inbound"] == 1000
        too_big, headers = signed(b" " * (5 * 1024 * 1024))
        assert httpx.post(srv.url + "/webhook", content=too_big, headers=headers, timeout=30).status_code == 413
    store.close()


def test_same_payload_twice_processed_once(server):
    body, headers = signed(inbound(text="Hallo, ist jemand da?"))
    first = server.post("/webhook", content=body, headers=headers)
    second = server.post("/webhook", content=body, headers=headers)
    assert first.json()["inbound"] == 1
    assert (second.json()["inbound"], second.json()["duplicates"]) == (0, 1)
    assert server.store.query("SELECT count(*) FROM inbound_messages")[0][0] == 1
    body, headers = signed(status("wamid.out", "read"))
    server.post("/webhook", content=body, headers=headers)
    server.post("/webhook", content=body, headers=headers)
    assert server.store.query("SELECT count(*) FROM status_events")[0][0] == 1


def test_unknown_routes_and_methods(server):
    assert server.get("/nope").status_code == 404
    assert server.put("/webhook", content=b"x").status_code == 405


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=25,
)
item_like = st.dictionaries(
    st.sampled_from(ITEM_KEYS),
    st.one_of(json_values, st.sampled_from(["4915112345678", "text", "read", "stop", "1750000000"])),
    max_size=8,
)
envelope_like = st.fixed_dictionaries(
    {
        "object": st.sampled_from(["whatsapp_business_account", "page", ""]),
        "entry": st.lists(
            st.fixed_dictionaries(
                {
                    "changes": st.lists(
                        st.fixed_dictionaries(
                            {
                                "field": st.sampled_from(FIELDS),
                                "value": st.dictionaries(
                                    st.sampled_from(VALUE_KEYS),
                                    st.one_of(st.lists(item_like, max_size=3), json_values),
                                    max_size=4,
                                ),
                            }
                        ),
                        max_size=3,
                    )
                }
            ),
            max_size=3,
        ),
    }
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=st.one_of(envelope_like, json_values, st.binary(max_size=200)), sign=st.booleans())
def test_fuzz_never_500_and_server_stays_up(server, payload, sign):
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    body, headers = signed(raw)
    resp = server.post("/webhook", content=body, headers=headers if sign else {})
    assert resp.status_code in (200, 400, 401)
    assert resp.status_code != 200 or sign
    assert server.get("/healthz").status_code == 200


def test_wamkt_serve_subprocess(tmp_path):
    port = free_port()
    env = dict(
        os.environ,
        WAMKT_APP_SECRET=APP_SECRET,
        WAMKT_VERIFY_TOKEN=VERIFY_TOKEN,
        WAMKT_WEBHOOK_PORT=str(port),
        WAMKT_DB_PATH=str(tmp_path / "serve.db"),
        WAMKT_PHONE_NUMBER_IDS="106540352242922",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "wamkt_nb", "serve"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, proc=proc)
        url = f"http://127.0.0.1:{port}/webhook"
        assert (
            httpx.get(
                url, params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "77"}
            ).text
            == "77"
        )
        body, headers = signed(inbound(text="Hallo"))
        assert httpx.post(url, content=body, headers=headers).status_code == 200
        assert httpx.post(url, content=b"{}", headers={"X-Hub-Signature-256": "sha256=00"}).status_code == 401
    finally:
        proc.terminate()
        out = proc.communicate(timeout=10)[0].decode()
    store = open_store(tmp_path / "serve.db")
    assert store.query("SELECT text FROM inbound_messages")[0][0] == "Hallo"
    store.close()
    assert APP_SECRET not in out and VERIFY_TOKEN not in out
    assert f"127.0.0.1:{port}/webhook" in out


def test_wamkt_serve_refuses_without_secrets(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAMKT_")}
    env["WAMKT_DB_PATH"] = str(tmp_path / "x.db")
    out = subprocess.run(
        [sys.executable, "-m", "wamkt_nb", "serve"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 2 and "WAMKT_APP_SECRET" in out.stderr
