"""uvicorn's httptools protocol with the sandbox's hot path answered inside the protocol.

A send (``POST /vNN.N/{phone_number_id}/messages``) is answered synchronously when its body is
complete: no ASGI task, event, scope, receive/send messages or header checks per request (measured
with ``bench/sandbox.py``: about a sixth of the server's CPU per send). Only a plain request
qualifies (HTTP/1.1 keep-alive, a declared length within the limit, the token in the
``Authorization`` header, a served version, no faults switched on); anything else, and every other
route, takes uvicorn's ASGI path to the same :class:`~wamkt_nb.sandbox.app.SandboxApp`, which
answers it as it always did. Both paths write the same bytes: uvicorn's status line and default
headers, then the app's JSON headers and body.

It builds on the internals of uvicorn's ``HttpToolsProtocol`` (parse state, request cycle, pipeline,
flow control), so uvicorn is pinned in ``constraints.txt``; tests/core/sandbox/test_sandbox_protocol.py
compares the bytes of both paths.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from .app import JSON_HEADERS, MAX_JSON_BYTES, SandboxApp, declared_length, is_send

_JSON_HEADER_LINES = b"".join(name + b": " + value + b"\r\n" for name, value in JSON_HEADERS)


class SandboxHttpProtocol(HttpToolsProtocol):
    """One connection to the sandbox (uvicorn makes one per connection, from ``Config(http=...)``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        app = self.app
        self._sandbox_app = app if isinstance(app, SandboxApp) else None  # wrapped (e.g. trace logging): ASGI only
        self._send: tuple[str, list[str]] | None = None  # (path, parts) while a qualifying send is read
        self._send_body: list[bytes] = []
        self._last_answer = False  # the server shuts down: answer the send being read, then close
        self._defaults: tuple[list[tuple[bytes, bytes]] | None, bytes] = (None, b"")

    def on_message_begin(self) -> None:
        """What uvicorn resets per request, without the ASGI scope: a send answered here needs none."""
        self.url = b""
        self.expect_100_continue = False
        self.headers = []

    def on_headers_complete(self) -> None:
        self._send = self._qualifying_send()
        if self._send is not None:
            self._send_body = []
            return
        # The ASGI path: uvicorn's own request start makes the scope, then gets back what was parsed.
        url, headers, expect_100_continue = self.url, self.headers, self.expect_100_continue
        super().on_message_begin()
        self.url, self.expect_100_continue = url, expect_100_continue
        self.headers = self.scope["headers"] = headers
        super().on_headers_complete()

    def _qualifying_send(self) -> tuple[str, list[str]] | None:
        """(path, parts) of a send this protocol may answer itself, None for uvicorn's ASGI path."""
        app, parser = self._sandbox_app, self.parser
        if app is None or parser.get_method() != b"POST" or parser.get_http_version() != "1.1":
            return None
        if self.expect_100_continue or parser.should_upgrade() or not parser.should_keep_alive():
            return None
        if self.pipeline or not (self.cycle is None or self.cycle.response_complete) or self.flow.write_paused:
            return None  # an earlier answer of this connection is still being written: uvicorn waits for it
        if b"?" in self.url or b"%" in self.url or self.root_path:
            return None  # a query (the token may be in it) or an escaped path: the ASGI path parses it
        path = self.url.decode("ascii")
        parts = path.strip("/").split("/")
        if not is_send("POST", parts):
            return None
        scope = {"headers": self.headers}
        declared = declared_length(scope)
        if declared is None or declared > MAX_JSON_BYTES:
            return None
        for name, _ in self.headers:
            if name == b"transfer-encoding":
                return None
        sandbox = app.sandbox
        if not app.authorised(scope, {}) or not sandbox.config.accepts_version(parts[0]) or sandbox.faults.active:
            return None
        return path, parts

    def on_body(self, body: bytes) -> None:
        if self._send is None:
            super().on_body(body)
        else:
            self._send_body.append(body)

    def on_message_complete(self) -> None:
        send, self._send = self._send, None
        if send is None:
            super().on_message_complete()
            return
        path, parts = send
        status, answer = self._sandbox_app.answer_send(path, parts, b"".join(self._send_body))  # type: ignore[union-attr]
        self._send_body = []
        head = [STATUS_LINE[status], self._default_header_lines(), _JSON_HEADER_LINES]
        head.append(b"content-length: %d\r\n" % len(answer))
        if self._last_answer:
            head.append(b"connection: close\r\n")
        head.append(b"\r\n")
        head.append(answer)
        self.transport.write(b"".join(head))
        if self._last_answer:
            self.transport.close()
        self.on_response_complete()

    def _default_header_lines(self) -> bytes:
        """uvicorn's default headers as written (the date); joined again only when uvicorn renews them."""
        headers = self.server_state.default_headers
        if headers is not self._defaults[0]:
            self._defaults = (headers, b"".join(name + b": " + value + b"\r\n" for name, value in headers))
        return self._defaults[1]

    def shutdown(self) -> None:
        """Like uvicorn: a request being read is answered (with ``connection: close``) before the connection closes."""
        if self._send is None:
            super().shutdown()
        else:
            self._last_answer = True
