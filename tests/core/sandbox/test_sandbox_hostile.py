"""The sandbox under hostile or unlucky input: Meta-shaped 400s instead of 500s, the token checked
before a body is read, bodies capped while they stream, a bounded request log (real HTTP on 127.0.0.1)."""

from __future__ import annotations

import json
import socket

import httpx
import pandas as pd
import pytest
from helpers.json_mutation import mutated
from helpers.processes import free_port
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wamkt_nb.clock import ManualClock
from wamkt_nb.data.sample import generate
from wamkt_nb.graph_versions import CURRENT_VERSION
from wamkt_nb.sandbox import Sandbox, SandboxConfig
from wamkt_nb.sandbox.app import MAX_JSON_BYTES
from wamkt_nb.sandbox.requestlog import MAX_LOGGED_BODY, RequestLog
from wamkt_nb.sandbox.webhooks import WebhookError, verify_callback

START = pd.Timestamp("2026-11-20 09:00", tz="UTC").timestamp()


@pytest.fixture(scope="module")
def sb():
    data = generate(20, seed=3, now="2026-11-20")
    with Sandbox(
        customers=data,
        clock=ManualClock(START),
        config=SandboxConfig(not_on_whatsapp_rate=0, throughput_per_second=1e6, pair_interval=0),
    ) as sandbox:
        sandbox.phone = data.customers.phone.iloc[0]
        yield sandbox


@pytest.fixture(scope="module")
def http(sb):
    with httpx.Client(
        base_url=f"{sb.base_url}/{CURRENT_VERSION}",
        headers={"Authorization": f"Bearer {sb.access_token.reveal()}"},
        timeout=30,
    ) as client:
        yield client


def graph_error(resp: httpx.Response, status: int = 400) -> dict:
    """The Graph error object of a 4xx answer, checked for Meta's shape."""
    assert resp.status_code == status, resp.text
    err = resp.json()["error"]
    assert isinstance(err["code"], int) and isinstance(err["message"], str) and isinstance(err["type"], str)
    assert isinstance(err["fbtrace_id"], str)
    return err


def send(http, sb, body):
    return http.post(f"/{sb.phone_number_id}/messages", json=body)


def list_message(phone: str, rows) -> dict:
    return {
        "messaging_product": "whatsapp",
        "to": phone,
        "type": "interactive",
        "interactive": {
            "type": "list",
            "body": {"text": "Wähle"},
            "action": {"button": "Menü", "sections": [{"title": "A", "rows": rows}]},
        },
    }


def test_list_rows_null_number_bool_answer_400_not_500(sb, http):
    for rows in (None, 5, True, "x", [None], [{"id": 1, "title": "t"}], []):
        err = graph_error(send(http, sb, list_message(sb.phone, rows)))
        assert err["code"] == 131009, rows
    ok = send(http, sb, list_message(sb.phone, [{"id": "r1", "title": "Eins"}]))
    assert ok.status_code == 200, ok.text


def test_named_template_parameter_name_list_or_object_answers_400_not_500(sb, http):
    def named(first):
        return {
            "messaging_product": "whatsapp",
            "to": sb.phone,
            "type": "template",
            "template": {
                "name": "rabatt_aktion",
                "language": {"code": "de"},
                "components": [
                    {
                        "type": "body",
                        "parameters": [
                            {"type": "text", "parameter_name": first, "text": "Anna"},
                            {"type": "text", "parameter_name": "discount", "text": "10 %"},
                        ],
                    }
                ],
            },
        }

    for name in (["first_name"], {"a": 1}, 7, None):
        assert graph_error(send(http, sb, named(name)))["code"] == 131009, name
    assert send(http, sb, named("first_name")).status_code == 200


def test_sandbox_webhook_route_with_body_null_answers_400(sb):
    with httpx.Client(
        base_url=f"{sb.base_url}/_sandbox", headers={"Authorization": f"Bearer {sb.access_token.reveal()}"}
    ) as inspect:
        for body in (b"null", b"[1]", b"5", b'"x"'):
            for route in ("/webhook", "/config", "/faults", "/inbound", "/advance"):
                err = graph_error(inspect.post(route, content=body))
                assert err["code"] == 100 and "JSON object" in err["error_data"]["details"], (route, body)


def test_config_impossible_api_date_is_refused_and_requests_still_served(sb, http):
    with httpx.Client(
        base_url=f"{sb.base_url}/_sandbox", headers={"Authorization": f"Bearer {sb.access_token.reveal()}"}
    ) as inspect:
        for change in (
            {"api_date": 1.18e21},
            {"api_date": "1.18e21"},
            {"api_date": [2026, 12, 2]},
            {"throughput_per_second": "inf"},
            {"block_us_marketing": "false"},
            {"pair_interval": True},
            {"messaging_tier": False},
        ):
            err = graph_error(inspect.post("/config", json=change))
            assert err["code"] == 100, change
        assert inspect.get("/config").json()["api_date"] is None
    assert (
        send(http, sb, {"messaging_product": "whatsapp", "to": sb.phone, "text": {"body": "Hallo"}}).status_code == 200
    )
    with pytest.raises(ValueError, match="finite"):
        SandboxConfig(pair_interval=float("nan"))


def _raw_request(sb, head: str, body: bytes = b"") -> bytes:
    """Send ``head`` (and ``body``) over a plain socket; the answer's first bytes without waiting for more."""
    host, port = sb.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head.encode() + b"\r\n" + body)
        return sock.recv(65536)


def test_unauthenticated_huge_body_is_refused_before_it_is_read(sb):
    # 300 MB declared, not one byte sent: only a server that checks the token first can answer.
    path = f"/{CURRENT_VERSION}/{sb.phone_number_id}/messages"
    answer = _raw_request(sb, f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 300000000\r\n")
    assert answer.startswith(b"HTTP/1.1 401") and b"190" in answer
    chunked = _raw_request(
        sb,
        "POST /_sandbox/config HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n",
        b"100000\r\n" + b"x" * 0x100000 + b"\r\n",
    )
    assert chunked.startswith(b"HTTP/1.1 401")


def test_authorised_oversized_body_is_refused_while_it_streams(sb):
    auth = f"Authorization: Bearer {sb.access_token.reveal()}\r\n"
    path = f"/{CURRENT_VERSION}/{sb.phone_number_id}/messages"
    declared = _raw_request(sb, f"POST {path} HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: 300000000\r\n")
    assert declared.startswith(b"HTTP/1.1 400") and b"File Too Large" in declared
    # chunked, no length: refused once the bytes streamed pass the cap, before the body ends
    over = MAX_JSON_BYTES + 1
    streamed = _raw_request(
        sb,
        f"POST {path} HTTP/1.1\r\nHost: x\r\n{auth}Transfer-Encoding: chunked\r\n",
        f"{over:x}\r\n".encode() + b"x" * over + b"\r\n",
    )
    assert streamed.startswith(b"HTTP/1.1 400") and b"File Too Large" in streamed


def test_request_log_keeps_junk_bodies_bounded(sb, http):
    before = sb.engine.received.bytes
    junk = b"{" + b" " * (MAX_JSON_BYTES - 10) + b"x"
    for _ in range(3):
        resp = http.post(f"/{sb.phone_number_id}/messages", content=junk)
        assert graph_error(resp)["code"] == 100
    assert sb.engine.received.bytes - before <= 3 * (MAX_LOGGED_BODY + 4096)
    log = RequestLog(max_entries=10, max_bytes=1000)
    for i in range(50):
        log.append(float(i), "p", b"x" * 300, 200, b"{}")
    assert log.bytes <= 1000 and len(log) == 3 and next(iter(log))[0] == 47.0
    for i in range(20):
        log.append(float(i), "p", b"", 200, b"")
    assert len(log) == 10


# -- fuzz: any body shape gets a Meta-shaped answer, never a 500 -----------------------------------

keys = st.sampled_from(
    [
        "messaging_product",
        "to",
        "type",
        "text",
        "body",
        "template",
        "name",
        "language",
        "code",
        "components",
        "parameters",
        "parameter_name",
        "interactive",
        "action",
        "sections",
        "rows",
        "button",
        "buttons",
        "reply",
        "id",
        "title",
        "image",
        "link",
        "caption",
        "context",
        "message_id",
        "reaction",
        "emoji",
        "footer",
        "header",
        "recipient_type",
        "preview_url",
        "biz_opaque_callback_data",
        "location",
        "contacts",
        "document",
        "sub_type",
        "index",
    ]
)
atoms = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=10)
    | st.sampled_from(
        [
            "whatsapp",
            "text",
            "template",
            "interactive",
            "list",
            "button",
            "reply",
            "image",
            "body",
            "header",
            "rabatt_aktion",
            "order_shipped",
            "de",
            "4915112345678",
            "\ud800",
            "https://example.com/a.jpg",
            "reaction",
            "cta_url",
            "NAMED",
            "first_name",
        ]
    )
)
json_values = st.recursive(
    atoms, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=5), max_leaves=30
)
VALID_BODIES = [
    {"messaging_product": "whatsapp", "to": "PHONE", "type": "text", "text": {"body": "Hallo", "preview_url": False}},
    {
        "messaging_product": "whatsapp",
        "to": "PHONE",
        "type": "template",
        "biz_opaque_callback_data": "c:1",
        "template": {
            "name": "order_shipped",
            "language": {"code": "de"},
            "components": [
                {"type": "body", "parameters": [{"type": "text", "text": "Anna"}, {"type": "text", "text": "#1"}]}
            ],
        },
    },
    {
        "messaging_product": "whatsapp",
        "to": "PHONE",
        "type": "template",
        "template": {
            "name": "rabatt_aktion",
            "language": {"code": "de"},
            "components": [
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "parameter_name": "first_name", "text": "Anna"},
                        {"type": "text", "parameter_name": "discount", "text": "10 %"},
                    ],
                }
            ],
        },
    },
    list_message("PHONE", [{"id": "r1", "title": "Eins"}, {"id": "r2", "title": "Zwei"}]),
    {
        "messaging_product": "whatsapp",
        "to": "PHONE",
        "type": "interactive",
        "context": {"message_id": "wamid.x"},
        "interactive": {
            "type": "button",
            "body": {"text": "Ja?"},
            "footer": {"text": "f"},
            "action": {"buttons": [{"type": "reply", "reply": {"id": "ja", "title": "Ja"}}]},
        },
    },
    {
        "messaging_product": "whatsapp",
        "to": "PHONE",
        "type": "image",
        "image": {"link": "https://example.com/a.jpg", "caption": "Neu"},
    },
    {
        "messaging_product": "whatsapp",
        "to": "PHONE",
        "type": "reaction",
        "reaction": {"message_id": "wamid.x", "emoji": "👍"},
    },
]


@settings(
    max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(body=st.one_of(mutated(VALID_BODIES, json_values), json_values))
def test_fuzz_messages_bodies_get_a_meta_shaped_answer_never_500(sb, http, body):
    raw = json.dumps(body).replace('"PHONE"', json.dumps(sb.phone))
    resp = http.post(
        f"/{sb.phone_number_id}/messages", content=raw.encode(), headers={"Content-Type": "application/json"}
    )
    assert resp.status_code < 500, resp.text
    if resp.status_code != 200:
        graph_error(resp, resp.status_code)


def test_unreachable_callback_error_names_the_endpoint_without_its_token():
    port = free_port()
    with pytest.raises(WebhookError) as caught:
        verify_callback(f"http://user:pw@127.0.0.1:{port}/hook?token=hook-secret-1", "v", timeout=2)
    assert str(caught.value) == f"callback http://***@127.0.0.1:{port}/hook?token=*** is not reachable: ConnectError"
    with pytest.raises(WebhookError) as caught:
        verify_callback("htp://user:pw@[::1", "v", timeout=2)
    assert "pw" not in str(caught.value)


@pytest.fixture(scope="module")
def scratch():
    """A sandbox of its own: the route fuzz below changes config, faults and time."""
    with Sandbox(customers=generate(10, seed=4, now="2026-11-20"), clock=ManualClock(START)) as sandbox:
        with httpx.Client(
            base_url=sandbox.base_url, timeout=30, headers={"Authorization": f"Bearer {sandbox.access_token.reveal()}"}
        ) as client:
            yield sandbox, client


ROUTES = [
    "/_sandbox/inbound",
    "/_sandbox/faults",
    "/_sandbox/config",
    "/_sandbox/webhook",
    "/_sandbox/advance",
    "/_sandbox/templates/order_shipped",
    "/_sandbox/nope",
    f"/{CURRENT_VERSION}/102290129340398/message_templates",
    f"/{CURRENT_VERSION}/102290129340398/subscribed_apps",
    f"/{CURRENT_VERSION}/106540352242922/media",
    f"/{CURRENT_VERSION}/106540352242922",
]
route_bodies = st.one_of(
    json_values,
    st.dictionaries(
        keys
        | st.sampled_from(
            [
                "from",
                "text",
                "seconds",
                "status",
                "url",
                "verify_token",
                "error_500",
                "api_date",
                "pair_burst",
                "category",
                "components",
                "override_callback_uri",
            ]
        ),
        json_values,
        max_size=4,
    ),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(route=st.sampled_from(ROUTES), body=route_bodies)
def test_fuzz_other_routes_answer_a_graph_error_never_500(scratch, route, body):
    sandbox, client = scratch
    resp = client.post(route, content=json.dumps(body).encode())
    assert resp.status_code < 500, (route, resp.text)
    if resp.status_code != 200:
        graph_error(resp, resp.status_code)
    sandbox.configure(api_date=None)  # keep the next example's routes reachable


def test_inspection_limit_below_one_is_refused_not_read_as_everything(sb, http):
    send(http, sb, {"messaging_product": "whatsapp", "to": sb.phone, "type": "text", "text": {"body": "a"}})
    send(http, sb, {"messaging_product": "whatsapp", "to": sb.phone, "type": "text", "text": {"body": "b"}})
    with httpx.Client(
        base_url=f"{sb.base_url}/_sandbox", headers={"Authorization": f"Bearer {sb.access_token.reveal()}"}
    ) as inspect:
        for limit in ("0", "-1", "-5"):
            err = graph_error(inspect.get("/received", params={"limit": limit}))
            assert err["code"] == 100 and "limit must be 1 or more" in err["error_data"]["details"]
        assert len(inspect.get("/received", params={"limit": "1"}).json()) == 1
