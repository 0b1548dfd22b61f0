"""The sandbox as a raw ASGI app: Graph API routes (same paths and JSON as Meta) plus ``/_sandbox/...``.

Raw ASGI keeps the hot path (``POST /messages``) lean enough for thousands of requests per second;
a plain send is answered by :mod:`wamkt_nb.sandbox.protocol` before it becomes an ASGI request, with
the same :meth:`SandboxApp.answer_send`.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode

import orjson

from ..errors import WamktError
from .errors import SandboxError, invalid_param, unknown_object, unknown_path
from .marketing_api import ENDPOINT as MARKETING_ENDPOINT
from .media import MAX_REQUEST_BYTES, StoredMedia
from .webhooks import WebhookError

if TYPE_CHECKING:
    from .server import Sandbox

log = logging.getLogger(__name__)
JSON_HEADERS = [(b"content-type", b"application/json; charset=UTF-8")]


class DroppedResponse(WamktError):
    """Raised after the response started, so the server closes the connection mid-answer (fault)."""


class _DropFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, DroppedResponse)


logging.getLogger("uvicorn.error").addFilter(_DropFilter())


MAX_JSON_BYTES = 1024 * 1024
"""The largest body read on any route but a media upload: a ``/messages`` template with every
parameter at its limit, a template definition or an inspection call is far smaller."""


class BodyTooLarge(WamktError):
    """The request declares or streams more bytes than the route's limit; nothing more is read."""


def declared_length(scope: dict[str, Any]) -> int | None:
    """The request's ``Content-Length`` (None: not given or not a number)."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _read_body(receive: Any, scope: dict[str, Any], limit: int) -> bytes:
    """The request body, at most ``limit`` bytes: :class:`BodyTooLarge` as soon as the declared length or
    the bytes streamed so far pass it (the server discards the rest once the answer is sent)."""
    declared = declared_length(scope)
    if declared is not None and declared > limit:
        raise BodyTooLarge
    chunks = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def _too_large(limit: int) -> SandboxError:
    """Meta's wording and status for an upload past its limit: 400, code 100, "File Too Large"."""
    return SandboxError(100, f"File Too Large: the request body is larger than {limit:,} bytes.")


async def _respond(send: Any, status: int, payload: Any) -> None:
    body = (
        payload if isinstance(payload, bytes) else orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY, default=str)
    )  # inspection frames carry numpy/pandas values
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": JSON_HEADERS + [(b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def is_send(method: str, parts: list[str]) -> bool:
    """Whether a request is the hot path: ``POST /vNN.N/{phone_number_id}/messages`` (or ``/marketing_messages``)."""
    return method == "POST" and len(parts) == 3 and parts[2] in ("messages", MARKETING_ENDPOINT)


class SandboxApp:
    """ASGI callable bound to one :class:`~wamkt_nb.sandbox.server.Sandbox`."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.engine = sandbox.engine

    def authorised(self, scope: dict[str, Any], query: dict[str, list[str]]) -> bool:
        """Whether the request carries the access token (``Authorization: Bearer`` or ``?access_token=``)."""
        expected = self.sandbox.config.access_token.encode()
        for name, value in scope["headers"]:
            if name == b"authorization":
                return value[:7].lower() == b"bearer " and hmac.compare_digest(value[7:].strip(), expected)
        token = query.get("access_token", [""])[0].encode()
        return bool(token) and hmac.compare_digest(token, expected)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                pass
            return
        if scope["type"] != "http":
            return
        parts = scope["path"].strip("/").split("/")
        method = scope["method"]
        query = parse_qs(scope["query_string"].decode("latin-1")) if scope["query_string"] else {}
        # The token is checked before a byte of the body is read: a stranger's upload costs nothing.
        if not self.authorised(scope, query):
            return await self._error(send, SandboxError(190, "Invalid OAuth access token - Cannot parse access token"))
        # Hot path first: POST /vNN.N/{phone_number_id}/messages
        if is_send(method, parts):
            try:
                body = await _read_body(receive, scope, MAX_JSON_BYTES)
            except BodyTooLarge:
                return await self._error(send, _too_large(MAX_JSON_BYTES))
            if not self.sandbox.config.accepts_version(parts[0]):
                return await self._error(send, unknown_path(parts))
            fault = self.sandbox.faults.pick_request_fault() if self.sandbox.faults.active else None
            if fault is not None:
                return await self._fault(fault, parts[1], body, send, parts[2])
            return await _respond(send, *self.answer_send(scope["path"], parts, body))
        limit = MAX_REQUEST_BYTES if method == "POST" and len(parts) == 3 and parts[2] == "media" else MAX_JSON_BYTES
        try:
            body = await _read_body(receive, scope, limit)
            # Off the event loop: these may block (webhook handshake, advancing the clock, big logs).
            result = await asyncio.to_thread(self._route, method, parts, query, body, scope)
        except BodyTooLarge:
            return await self._error(send, _too_large(limit))
        except SandboxError as err:
            return await self._error(send, err)
        except (KeyError, ValueError, TypeError, WebhookError) as exc:
            return await self._error(send, SandboxError(100, str(exc)))
        except Exception:  # a bug must not take the server down: answer like Meta's unknown error
            log.exception("sandbox: %s %s failed", method, scope["path"])
            return await self._error(send, SandboxError(131000, "Something went wrong", http_status=500))
        if isinstance(result, StoredMedia):  # a media download: the file's bytes, not JSON
            return await _respond_file(send, result)
        await _respond(send, 200, result)

    def _route(
        self, method: str, parts: list[str], query: dict[str, list[str]], body: bytes, scope: dict[str, Any]
    ) -> Any:
        if parts[0] == "_sandbox":
            return self.sandbox.inspect_route(method, parts[1:], query, body)
        if parts == ["whatsapp_business", "attachments"] and method == "GET":
            return self.sandbox.media.open_url(query)
        if self.sandbox.config.accepts_version(parts[0]):
            return self._graph(method, parts[1:], query, body, scope)
        raise unknown_path(parts)

    def answer_send(self, path: str, parts: list[str], body: bytes) -> tuple[int, bytes]:
        """The answer to a send whose route, token, version and body size passed (and no fault
        was drawn): the engine's, or Meta's unknown error for a bug (it must not take the server down)."""
        try:
            return self.engine.send(parts[1], body, parts[2])
        except Exception:
            log.exception("sandbox: POST %s failed", path)
            return self._error_answer(SandboxError(131000, "Something went wrong", http_status=500))

    def _error_answer(self, err: SandboxError) -> tuple[int, bytes]:
        with self.engine.lock:
            self.engine.counters[f"error_{err.code}"] += 1
        return err.http_status, orjson.dumps(err.envelope())

    async def _error(self, send: Any, err: SandboxError) -> None:
        await _respond(send, *self._error_answer(err))

    async def _fault(
        self, fault: str, phone_number_id: str, body: bytes, send: Any, endpoint: str = "messages"
    ) -> None:
        with self.engine.lock:
            self.engine.counters[f"fault_{fault}"] += 1
        if fault == "429":
            return await self._error(
                send,
                SandboxError(
                    130429,
                    "Cloud API message throughput has been reached.",
                    http_status=self.sandbox.config.throughput_http_status,
                ),
            )
        if fault == "error_500":
            return await self._error(send, SandboxError(131000, "Something went wrong", http_status=500))
        if fault == "timeout":
            await asyncio.sleep(self.sandbox.faults.timeout_seconds)
            return await self._error(send, SandboxError(131016, "Service temporarily unavailable", http_status=503))
        status, result = self.engine.send(phone_number_id, body, endpoint)  # "drop": accepted, answer lost
        await send(
            {"type": "http.response.start", "status": status, "headers": JSON_HEADERS + [(b"content-length", b"4096")]}
        )
        raise DroppedResponse("response dropped on purpose (fault injection)")

    def _graph(
        self, method: str, parts: list[str], query: dict[str, list[str]], body: bytes, scope: dict[str, Any]
    ) -> Any:
        sandbox, cfg = self.sandbox, self.sandbox.config
        if len(parts) == 2 and parts[1] == "message_templates":
            self._check_waba(parts[0])
            if method == "GET":
                limit = int(query.get("limit", ["25"])[0])
                kept = {k: query[k][0] for k in ("fields", "status", "name") if k in query}  # filters stay on "next"
                base = f"{_origin(scope)}{scope['path']}?{urlencode({'limit': limit, **kept})}"
                return sandbox.templates.page(
                    query.get("fields", [None])[0],
                    limit,
                    query.get("after", [None])[0],
                    query.get("status", [None])[0],
                    query.get("name", [None])[0],
                    base,
                )
            if method == "POST":
                return sandbox.templates.create(_json(body), sandbox.clock.now())
        if len(parts) == 2 and parts[1] == "subscribed_apps" and method == "POST":
            self._check_waba(parts[0])
            data = _json(body) if body else {k: v[0] for k, v in query.items()}
            url = data.get("override_callback_uri")
            if url:
                sandbox.set_webhook(url, str(data.get("verify_token", "")))
            return {"success": True}
        if len(parts) == 2 and parts[1] == "media" and method == "POST":
            if parts[0] != cfg.phone_number_id:
                raise unknown_object(method, parts[0])
            content_type = dict(scope["headers"]).get(b"content-type", b"").decode("latin-1")
            return {"id": sandbox.media.upload(parts[0], content_type, body).id}
        if len(parts) == 1 and method == "GET":
            fields = query.get("fields", [None])[0]
            if parts[0] in cfg.phone_numbers:
                return _pick(sandbox.phone_number_fields(parts[0]), fields)
            template = sandbox.templates.get(parts[0])
            if template is not None:
                return _pick(template, fields)
        if len(parts) == 1 and method in ("GET", "DELETE"):
            media = sandbox.media.get(parts[0])
            if media is not None:
                wanted = query.get("phone_number_id", [media.phone_number_id])[0]
                if wanted != media.phone_number_id:
                    raise invalid_param("Param phone_number_id is not a valid whatsapp business phone number id ID")
                if method == "DELETE":
                    return {"success": sandbox.media.delete(media.id)}
                return _pick(
                    {
                        "messaging_product": "whatsapp",
                        "url": sandbox.media.url(media, _origin(scope)),
                        "mime_type": media.mime_type,
                        "sha256": media.sha256,
                        "file_size": str(len(media.content)),
                        "id": media.id,
                    },
                    query.get("fields", [None])[0],
                )
        raise unknown_object(method, "/".join(parts))

    def _check_waba(self, waba_id: str) -> None:
        if waba_id != self.sandbox.config.waba_id:
            raise SandboxError(100, f"Object with ID '{waba_id}' does not exist", subcode=33)


async def _respond_file(send: Any, media: StoredMedia) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", media.mime_type.encode()),
                (b"content-length", str(len(media.content)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": media.content})


def _origin(scope: dict[str, Any]) -> str:
    """``http://host:port`` as the client addressed this server (for URLs in answers)."""
    return f"http://{dict(scope['headers']).get(b'host', b'127.0.0.1').decode('latin-1')}"


def _json(body: bytes) -> dict[str, Any]:
    """The body as a JSON object; anything else is Meta's 100."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise SandboxError(100, "Request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise SandboxError(100, "Request body must be a JSON object")
    return data


def _pick(obj: dict[str, Any], fields: str | None) -> dict[str, Any]:
    if not fields:
        return obj
    wanted = {f.strip() for f in fields.split(",")} | {"id"}
    return {k: v for k, v in obj.items() if k in wanted}
