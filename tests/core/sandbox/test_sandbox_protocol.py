"""The sends the HTTP protocol answers itself (``sandbox.protocol``) get the bytes the ASGI app writes.

A send with the token in the ``Authorization`` header takes the protocol's path; the same send with
the token as ``?access_token=`` takes uvicorn's ASGI path to the app. Real HTTP on 127.0.0.1 over
raw sockets, so status line, headers, their order and the body are compared as written."""

from __future__ import annotations

import json
import re
import socket

import pandas as pd
import pytest

from wamkt_nb.clock import ManualClock
from wamkt_nb.data.sample import generate
from wamkt_nb.graph_versions import CURRENT_VERSION
from wamkt_nb.sandbox import Sandbox, SandboxConfig

START = pd.Timestamp("2026-11-20 09:00", tz="UTC").timestamp()
TOKEN = "protocol-token"


@pytest.fixture(scope="module")
def sb():
    data = generate(20, seed=5, now="2026-11-20")
    config = SandboxConfig(access_token=TOKEN, not_on_whatsapp_rate=0, throughput_per_second=1e6, pair_interval=0)
    with Sandbox(customers=data, clock=ManualClock(START), config=config) as sandbox:
        sandbox.phone = data.customers.phone.iloc[0]
        yield sandbox


def template_send(phone: str, name: str = "order_shipped") -> dict:
    return {
        "messaging_product": "whatsapp",
        "to": phone,
        "type": "template",
        "biz_opaque_callback_data": "protocol:1",
        "template": {
            "name": name,
            "language": {"code": "de"},
            "components": [
                {"type": "body", "parameters": [{"type": "text", "text": "Anna"}, {"type": "text", "text": "#7"}]}
            ],
        },
    }


def request(sb, body: bytes, *, header_token: bool = True, extra: str = "", path: str | None = None) -> bytes:
    path = path or f"/{CURRENT_VERSION}/{sb.phone_number_id}/messages"
    auth = f"Authorization: Bearer {TOKEN}\r\n" if header_token else ""
    if not header_token:
        path += f"?access_token={TOKEN}"
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}{extra}Content-Type: application/json\r\n"
    return f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body


def exchange(sb, data: bytes, answers: int = 1, paths: list | None = None) -> tuple[list[bytes], bool]:
    """Write ``data`` on one connection, read ``answers`` responses; also whether the server closed it.

    ``paths``: gets "protocol" when no request of the connection went to the ASGI app (uvicorn makes
    a request cycle for each one that does), else "asgi"."""
    port = int(sb.base_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(data)
        buffer, out = b"", []
        while len(out) < answers:
            while b"\r\n\r\n" not in buffer:
                buffer += _recv(conn)
            head, _, buffer = buffer.partition(b"\r\n\r\n")
            length = int(re.search(rb"\r\ncontent-length: (\d+)", head).group(1))
            while len(buffer) < length:
                buffer += _recv(conn)
            out.append(head + b"\r\n\r\n" + buffer[:length])
            buffer = buffer[length:]
        if paths is not None:
            local = conn.getsockname()
            [server_side] = [c for c in sb._server.server_state.connections if c.client == local]
            paths.append("protocol" if server_side.cycle is None else "asgi")
        conn.settimeout(0.5)
        try:
            closed = conn.recv(1) == b""
        except TimeoutError:
            closed = False
    return out, closed


def _recv(conn: socket.socket) -> bytes:
    chunk = conn.recv(65536)
    assert chunk, "the server closed the connection before answering"
    return chunk


def masked(answer: bytes) -> bytes:
    """The answer without what differs between any two answers: the date, the wamid, the trace id."""
    answer = re.sub(rb"\r\ndate: [^\r]*", b"\r\ndate: -", answer)
    answer = re.sub(rb'"wamid\.[^"]*"', b'"wamid"', answer)
    return re.sub(rb'"fbtrace_id":"[^"]*"', b'"fbtrace_id":"-"', answer)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(lambda phone: json.dumps(template_send(phone)).encode(), id="accepted"),
        pytest.param(
            lambda phone: json.dumps(template_send(phone, "no_such_template")).encode(), id="unknown-template"
        ),
        pytest.param(lambda phone: b'{"messaging_product": "whatsapp", "to": ', id="broken-json"),
        pytest.param(lambda phone: b"", id="empty-body"),
    ],
)
def test_a_send_gets_the_same_bytes_on_both_paths(sb, body):
    payload = body(sb.phone)
    paths: list[str] = []
    [direct], closed = exchange(sb, request(sb, payload), paths=paths)
    [asgi], _ = exchange(sb, request(sb, payload, header_token=False), paths=paths)
    assert paths == ["protocol", "asgi"]
    assert masked(direct) == masked(asgi)
    assert direct.startswith(b"HTTP/1.1 ") and b"\r\ncontent-type: application/json; charset=UTF-8\r\n" in direct
    assert not closed  # keep-alive: the connection stays open for the next send


def test_an_unknown_phone_number_id_gets_the_same_error_on_both_paths(sb):
    path = f"/{CURRENT_VERSION}/999999999/messages"
    payload = json.dumps(template_send(sb.phone)).encode()
    [direct], _ = exchange(sb, request(sb, payload, path=path))
    [asgi], _ = exchange(sb, request(sb, payload, header_token=False, path=path))
    assert direct.startswith(b"HTTP/1.1 400") and masked(direct) == masked(asgi)


def test_sends_on_one_connection_and_pipelined_are_answered_in_order(sb):
    first, second = (json.dumps(template_send(sb.phone, name)).encode() for name in ("order_shipped", "nope"))
    # pipelined: both requests in one write, answered in the order they came
    answers, closed = exchange(sb, request(sb, first) + request(sb, second), answers=2)
    assert answers[0].startswith(b"HTTP/1.1 200") and b'"message_status":"accepted"' in answers[0]
    assert answers[1].startswith(b"HTTP/1.1 404") or answers[1].startswith(b"HTTP/1.1 400")
    assert b"132001" in answers[1] and not closed
    # a send queued behind a request of the ASGI path waits for it (the protocol does not jump the queue)
    mixed, _ = exchange(sb, request(sb, second, header_token=False) + request(sb, first), answers=2)
    assert b"132001" in mixed[0] and b'"message_status":"accepted"' in mixed[1]


def test_connection_close_and_expect_continue_are_honoured(sb):
    payload = json.dumps(template_send(sb.phone)).encode()
    [answer], closed = exchange(sb, request(sb, payload, extra="Connection: close\r\n"))
    assert answer.startswith(b"HTTP/1.1 200") and b"\r\nconnection: close\r\n" in answer and closed
    head = request(sb, payload, extra="Expect: 100-continue\r\n")
    port = int(sb.base_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(head[: -len(payload)])
        assert conn.recv(1024).startswith(b"HTTP/1.1 100 Continue")
        conn.sendall(payload)
        assert b'"message_status":"accepted"' in conn.recv(65536)


def test_the_send_is_logged_and_played_like_any_other(sb):
    before = len(sb.received())
    [answer], _ = exchange(sb, request(sb, json.dumps(template_send(sb.phone)).encode()))
    wamid = json.loads(answer.partition(b"\r\n\r\n")[2])["messages"][0]["id"]
    assert sb.received()[-1]["response"]["messages"][0]["id"] == wamid and len(sb.received()) == before + 1
    sb.advance(3)  # sent within 2 s
    assert sb.messages_frame().set_index("wamid").loc[wamid, "status"] in ("sent", "delivered", "failed")
