"""Poison batches: one item that cannot be stored becomes a recorded reject, the rest of the POST is kept
and the answer is 200; nothing a signed body carries makes the receiver answer 500 (real HTTP)."""

from __future__ import annotations

import json
import socket

import pytest
from helpers.json_mutation import mutated
from helpers.webhook_fuzz import ERROR_KEYS, FIELDS, ITEM_KEYS, TEMPLATE_VALUE_KEYS, VALUE_KEYS
from helpers.webhook_payloads import inbound, preference, receiver_client, signed, status, template_update
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


@pytest.fixture
def server(store_target):
    """A receiver on a SQLite file and on PostgreSQL (which refuses other values than SQLite)."""
    with receiver_client(store_target, max_body_bytes=200_000) as client:
        yield client


def _with_good_message(payload: dict, wamid: str = "wamid.good") -> dict:
    """``payload`` plus a second change carrying one well-formed inbound message."""
    good = inbound(wamid=wamid, text="Guten Tag")["entry"][0]["changes"][0]
    payload["entry"][0]["changes"].append(good)
    return payload


def _post(server, payload: dict):
    body, headers = signed(json.dumps(payload).encode())  # ensure_ascii: a lone surrogate goes out as \ud800
    return server.post("/webhook", content=body, headers=headers)


def _wamids(server) -> set[str]:
    return {r[0] for r in server.store.query("SELECT wamid FROM inbound_messages")}


def test_lone_surrogate_in_a_stored_string_is_a_reject_and_the_good_message_is_kept(server):
    payload = _with_good_message(inbound(wamid="wamid.bad", text="broken \ud800 text"))
    resp = _post(server, payload)
    assert resp.status_code == 200, resp.text
    assert resp.json()["inbound"] == 1 and resp.json()["rejects"] == 1
    assert _wamids(server) == {"wamid.good"}
    field, reason, item = server.store.query("SELECT field, reason, item_json FROM webhook_rejects")[0]
    assert "wamid.bad" in field and "surrogate" in reason
    assert json.loads(item)["text"]["body"] == "broken \ud800 text"  # the raw item is kept, escaped


def test_nul_character_in_a_stored_string_is_a_reject_and_the_good_message_is_kept(server):
    """PostgreSQL text cannot hold U+0000 (SQLite can): there the item is a reject, never a failed POST."""
    payload = _with_good_message(inbound(wamid="wamid.nul", text="before \u0000 after"))
    resp = _post(server, payload)
    assert resp.status_code == 200, resp.text
    stored = server.store.query("SELECT text FROM inbound_messages WHERE wamid = 'wamid.nul'")
    rejects = server.store.query("SELECT field FROM webhook_rejects")
    assert "wamid.good" in _wamids(server)
    if server.store.path is None:
        assert not stored and "wamid.nul" in rejects[0][0]
    else:
        assert stored[0][0] == "before \u0000 after" and not rejects


def test_surrogate_in_the_message_id_and_profile_name(server):
    payload = _with_good_message(inbound(wamid="wamid.\udfff", name="Zo\ud83de"))
    assert _post(server, payload).status_code == 200
    assert _wamids(server) == {"wamid.good"}
    assert server.store.query("SELECT count(*) FROM webhook_rejects")[0][0] == 1


def test_error_code_beyond_64_bits_is_a_reject_and_the_good_message_is_kept(server):
    payload = _with_good_message(status("wamid.out", "failed", errors=[{"code": 2**63, "title": "x"}]))
    resp = _post(server, payload)
    assert resp.status_code == 200 and resp.json()["rejects"] == 1
    assert _wamids(server) == {"wamid.good"}
    reason = server.store.query("SELECT reason FROM webhook_rejects")[0][0]
    assert "errors[0].code is out of range" in reason
    ok = _post(server, status("wamid.out", "failed", errors=[{"code": 2**63 - 1, "title": "x"}]))
    assert ok.json()["statuses"] == 1


def test_timestamp_too_large_for_a_float_is_a_reject(server):
    payload = _with_good_message(inbound(wamid="wamid.t"))
    payload["entry"][0]["changes"][0]["value"]["messages"][0]["timestamp"] = 10**400
    resp = _post(server, payload)
    assert resp.status_code == 200 and resp.json()["rejects"] == 1 and _wamids(server) == {"wamid.good"}


def test_a_5000_digit_number_fails_only_its_own_item(server):
    payload = _with_good_message(inbound(wamid="wamid.big"))
    payload["entry"][0]["changes"][0]["value"]["messages"][0]["timestamp"] = "TS"
    body = json.dumps(payload).replace('"TS"', "9" * 5000)
    signed_body, headers = signed(body.encode())
    resp = server.post("/webhook", content=signed_body, headers=headers)
    assert resp.status_code == 200 and resp.json()["rejects"] == 1
    assert _wamids(server) == {"wamid.good"}


# -- fuzz: any JSON shape, poison values included ---------------------------------------------------

poison = st.sampled_from(["\ud800", "a\udfffb", 2**63, -(2**63) - 1, 2**64 + 5, 10**30, 1e308, -1e308, "", 0])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12) | poison,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=8) | poison.filter(lambda p: isinstance(p, str)), inner, max_size=3)
    ),
    max_leaves=20,
)
keys = st.sampled_from(ITEM_KEYS + ERROR_KEYS)
item_like = st.recursive(
    st.dictionaries(keys, json_values, max_size=8),
    lambda inner: st.dictionaries(keys, inner | json_values, max_size=6),
    max_leaves=10,
)
value_like = st.dictionaries(
    st.sampled_from(VALUE_KEYS + TEMPLATE_VALUE_KEYS),
    st.one_of(st.lists(item_like, max_size=3), json_values, item_like),
    max_size=5,
)
VALID_CHANGES = [
    payload["entry"][0]["changes"][0]
    for payload in (
        inbound(wamid="wamid.m1", context={"from": "4930123456", "id": "wamid.out1"}),
        inbound(
            wamid="wamid.m2",
            type="interactive",
            interactive={"type": "button_reply", "button_reply": {"id": "ja", "title": "Ja"}},
        ),
        status(
            "wamid.s1",
            "failed",
            errors=[{"code": 131026, "title": "Message undeliverable", "error_data": {"details": "x"}}],
        ),
        status("wamid.s2", "read"),
        preference("4915112345678", "stop"),
        template_update("REJECTED"),
    )
]
change_like = st.one_of(
    mutated(VALID_CHANGES, json_values),
    st.fixed_dictionaries(
        {
            "field": st.sampled_from(FIELDS),
            "value": value_like,
        }
    ),
    json_values,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(changes=st.lists(change_like, max_size=3), entries=st.lists(json_values, max_size=2), n=st.integers(0, 10**9))
def test_fuzz_signed_bodies_never_500_and_the_good_message_is_always_recorded(server, changes, entries, n):
    wamid = f"wamid.good{n}"
    good = inbound(wamid=wamid, text="Guten Tag")["entry"][0]["changes"][0]
    payload = {"object": "whatsapp_business_account", "entry": [{"id": "WABA1", "changes": [*changes, good]}, *entries]}
    resp = _post(server, payload)
    assert resp.status_code == 200, resp.text
    assert wamid in _wamids(server)


def test_declared_huge_body_is_refused_before_a_byte_of_it_is_read(server):
    host, port = server.base_url.host, server.base_url.port
    for extra in ("", "X-Hub-Signature-256: sha256=00\r\n"):
        with socket.create_connection((host, port), timeout=10) as sock:
            sock.sendall(f"POST /webhook HTTP/1.1\r\nHost: x\r\n{extra}Content-Length: 300000000\r\n\r\n".encode())
            assert sock.recv(65536).startswith(b"HTTP/1.1 413")
    assert server.get("/healthz").status_code == 200
