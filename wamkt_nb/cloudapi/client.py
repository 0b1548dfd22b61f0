"""HTTP client for the Graph API endpoints wamkt_nb uses; one shared connection pool.

The token travels only in the ``Authorization`` header: never in URLs, reprs, logs or exceptions.
"""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
import os
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import httpx
import orjson

from ..aio import run_sync
from ..redact import redact_url
from ..settings import Secret, Settings
from .errors import CloudAPIError, InvalidURLError, OutcomeUnknownError, TransportError, error_from_payload
from .models import MediaInfo, MediaUpload, PhoneNumberInfo, SendResult, TemplateInfo
from .transport import Http11Transport

T = TypeVar("T")
PRODUCT_POLICIES = ("CLOUD_API_FALLBACK", "STRICT")
"""Marketing Messages API: fall back to Cloud API when the account is not onboarded, or never."""
TEMPLATE_FIELDS = "id,name,status,category,language,components,parameter_format,rejected_reason"
MEDIA_URL_HOSTS = (".fbsbx.com", ".facebook.com", ".whatsapp.net")
"""Hosts of Meta's media download URLs: the only ones besides the API's own that get the token."""
PHONE_FIELDS = (
    "id,display_phone_number,verified_name,quality_rating,throughput,"
    "whatsapp_business_manager_messaging_limit,code_verification_status,name_status"
)


class AsyncCloudClient:
    """Async client: ``send_message``, media, templates and phone-number fields.

    Built from ``Settings`` (base URL, API version, token) or explicit arguments; use as
    ``async with AsyncCloudClient(settings) as client:`` or call :meth:`aclose`. Requests go
    through :class:`~wamkt_nb.cloudapi.transport.Http11Transport` unless ``transport`` is given.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        base_url: str | None = None,
        api_version: str | None = None,
        access_token: str | Secret | None = None,
        timeout: float = 10.0,
        max_connections: int = 100,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        settings = settings or Settings()
        token = access_token if access_token is not None else settings.access_token
        self._token = token if isinstance(token, Secret) else Secret(token)
        self.base_url = check_base_url(base_url or settings.base_url)
        self.api_version = api_version or settings.api_version
        self.timeout = timeout
        self._root = f"{self.base_url}/{self.api_version}"
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            transport=transport or Http11Transport(max_connections=max_connections),
        )
        # Built once: merging headers and parsing URLs per request cost more CPU than the request.
        self._extensions = {"timeout": self._http.timeout.as_dict()}
        self._headers = httpx.Headers(self._http.headers)
        self._headers["Authorization"] = f"Bearer {self._token.reveal()}"
        self._json_headers = httpx.Headers(self._headers)
        self._json_headers["Content-Type"] = "application/json"
        self._message_urls: dict[tuple[str, str], httpx.URL] = {}

    def __repr__(self) -> str:
        return f"AsyncCloudClient(base_url={redact_url(self.base_url)!r}, api_version={self.api_version!r})"

    async def __aenter__(self) -> AsyncCloudClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def request(self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None) -> Any:
        """One Graph call; returns the decoded JSON or raises a :class:`CloudAPIError` subclass."""
        return await self._call(method, httpx.URL(self._root + path, params=params), json)

    async def _call(self, method: str, url: httpx.URL, json: Any) -> Any:
        if json is None:
            request = httpx.Request(method, url, headers=self._headers, extensions=self._extensions)
        else:
            request = httpx.Request(
                method, url, headers=self._json_headers, content=orjson.dumps(json), extensions=self._extensions
            )
        return _decoded(await self._send(request))

    async def _send(self, request: httpx.Request) -> httpx.Response:
        """Send with the shared pool; transport failures become our error classes, naming method and path only.

        Only a failure after the request may have reached the server is an unknown outcome; one
        before (no connection, an unusable URL, a request h11 refuses to write) is a definite not-sent.
        """
        try:
            return await self._http.send(request)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise TransportError(f"could not connect for {_where(request)}: {type(exc).__name__}") from None
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise InvalidURLError(
                f"cannot send {_where(request)}: the API URL is not usable ({type(exc).__name__})"
            ) from None
        except httpx.LocalProtocolError as exc:
            raise TransportError(f"{_where(request)} was not sent: {type(exc).__name__}") from None
        except httpx.TimeoutException as exc:
            raise OutcomeUnknownError(
                f"no answer within {request.extensions['timeout']['read']:g}s for {_where(request)} "
                f"({type(exc).__name__}); it may have been accepted"
            ) from None
        except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError) as exc:
            raise OutcomeUnknownError(
                f"connection dropped during {_where(request)} ({type(exc).__name__}); it may have been accepted"
            ) from None
        except httpx.HTTPError as exc:
            raise TransportError(f"{_where(request)} failed: {type(exc).__name__}") from None

    def _timeout(self, seconds: float | None) -> dict[str, Any]:
        """Request extensions with a longer timeout for big uploads and downloads (None: the client's)."""
        if seconds is None:
            return self._extensions
        return {"timeout": httpx.Timeout(seconds, connect=min(seconds, 5.0)).as_dict()}

    async def send_message(self, phone_number_id: str, payload: dict[str, Any]) -> SendResult:
        """POST a message body (see :mod:`wamkt_nb.cloudapi.payloads`); 200 means accepted, not delivered."""
        return await self._post_message(phone_number_id, "messages", payload)

    async def send_marketing_message(
        self,
        phone_number_id: str,
        payload: dict[str, Any],
        *,
        product_policy: str | None = None,
        message_activity_sharing: bool | None = None,
    ) -> SendResult:
        """POST a marketing template to Meta's Marketing Messages API (``/marketing_messages``).

        Same body as :meth:`send_message`; Meta refuses any other message (131055 for a utility or
        authentication template, 100 for a non-template). ``product_policy`` ``"STRICT"`` forbids
        Meta's fallback to Cloud API (default ``"CLOUD_API_FALLBACK"``); ``message_activity_sharing``
        overrides the account's setting for sharing this message's activity with Meta. The
        time-to-live is a template property (``message_send_ttl_seconds``), not part of the send.
        """
        if product_policy is not None:
            if product_policy not in PRODUCT_POLICIES:
                raise ValueError(f"product_policy must be one of {', '.join(PRODUCT_POLICIES)}, not {product_policy!r}")
            payload = {**payload, "product_policy": product_policy}
        if message_activity_sharing is not None:
            payload = {**payload, "message_activity_sharing": bool(message_activity_sharing)}
        return await self._post_message(phone_number_id, "marketing_messages", payload)

    async def _post_message(self, phone_number_id: str, endpoint: str, payload: dict[str, Any]) -> SendResult:
        key = (phone_number_id, endpoint)
        url = self._message_urls.get(key)
        if url is None:
            try:
                url = httpx.URL(f"{self._root}/{phone_number_id}/{endpoint}")
            except httpx.InvalidURL:
                raise InvalidURLError(
                    f"cannot send to phone number id {phone_number_id[:40]!r}: not a usable URL path"
                ) from None
            self._message_urls[key] = url
        body = await self._call("POST", url, payload)
        try:
            contact = body["contacts"][0]
            message = body["messages"][0]
            return SendResult(
                wamid=message["id"],
                wa_id=contact.get("wa_id", ""),
                input=contact.get("input", ""),
                message_status=message.get("message_status"),
                user_id=contact.get("user_id"),
            )
        except (KeyError, IndexError, TypeError):
            raise CloudAPIError(f"unexpected send response: {str(body)[:200]}", None, http_status=200) from None

    async def upload_media(
        self,
        phone_number_id: str,
        file: str | os.PathLike[str] | bytes,
        mime_type: str,
        filename: str | None = None,
        *,
        timeout: float | None = None,
    ) -> MediaUpload:
        """Upload a file (a path or its bytes) to send it by id; Meta checks the type and size (error 100)."""
        if isinstance(file, (bytes, bytearray, memoryview)):
            content = bytes(file)
            name = filename or "upload" + (mimetypes.guess_extension(mime_type) or "")
        else:
            content = await asyncio.to_thread(Path(file).read_bytes)
            name = filename or Path(file).name
        request = httpx.Request(
            "POST",
            httpx.URL(f"{self._root}/{phone_number_id}/media"),
            headers=self._headers,
            data={"messaging_product": "whatsapp", "type": mime_type},
            files={"file": (name, content, mime_type)},
            extensions=self._timeout(timeout),
        )
        body = _decoded(await self._send(request))
        return MediaUpload(
            id=str(body["id"]),
            mime_type=mime_type,
            file_size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            filename=name,
        )

    async def get_media(self, media_id: str, phone_number_id: str | None = None) -> MediaInfo:
        """The file's download URL (valid about 5 minutes), type, size and sha256.

        With ``phone_number_id`` Meta answers only if the file was uploaded from that number.
        """
        params = {"phone_number_id": phone_number_id} if phone_number_id else None
        return MediaInfo.from_json(await self.request("GET", f"/{media_id}", params=params))

    async def download_media(self, url: str, *, timeout: float | None = None) -> bytes:
        """The bytes behind a :meth:`get_media` URL (it needs the token, so only Meta's hosts get it)."""
        target = httpx.URL(url)
        own = httpx.URL(self.base_url)
        if (target.scheme, target.host, target.port) != (own.scheme, own.host, own.port) and not (
            target.scheme == "https" and target.host.endswith(MEDIA_URL_HOSTS)
        ):
            raise ValueError(
                f"not a media URL of this API ({target.scheme}://{target.host}); "
                "the access token is only sent to Meta's hosts or the configured base URL"
            )
        request = httpx.Request("GET", target, headers=self._headers, extensions=self._timeout(timeout))
        resp = await self._send(request)
        if resp.status_code >= 400:
            _decoded(resp)  # raises the Graph error
        return resp.content

    async def delete_media(self, media_id: str, phone_number_id: str | None = None) -> bool:
        """Delete an uploaded file; sends with its id fail afterwards."""
        params = {"phone_number_id": phone_number_id} if phone_number_id else None
        body = await self.request("DELETE", f"/{media_id}", params=params)
        return bool(body.get("success")) if isinstance(body, dict) else False

    async def list_templates(
        self,
        waba_id: str,
        *,
        fields: str = TEMPLATE_FIELDS,
        limit: int = 100,
        status: str | None = None,
        name: str | None = None,
    ) -> list[TemplateInfo]:
        """All templates of the account, following the paging cursors."""
        params: dict[str, Any] = {"fields": fields, "limit": limit}
        if status:
            params["status"] = status
        if name:
            params["name"] = name
        out: list[TemplateInfo] = []
        while True:
            body = await self.request("GET", f"/{waba_id}/message_templates", params=params)
            out.extend(TemplateInfo.from_json(t) for t in body.get("data", []))
            paging = body.get("paging") or {}
            after = (paging.get("cursors") or {}).get("after")
            if not paging.get("next") or not after:
                return out
            params = {**params, "after": after}

    async def create_template(
        self,
        waba_id: str,
        name: str,
        language: str,
        category: str,
        components: list[dict[str, Any]],
        parameter_format: str | None = None,
    ) -> TemplateInfo:
        """Submit a template for review; the answer carries its id and status (usually PENDING)."""
        payload: dict[str, Any] = {"name": name, "language": language, "category": category, "components": components}
        if parameter_format:
            payload["parameter_format"] = parameter_format
        body = await self.request("POST", f"/{waba_id}/message_templates", json=payload)
        return TemplateInfo.from_json({"name": name, "language": language, **body})

    async def get_template(self, template_id: str, *, fields: str = TEMPLATE_FIELDS) -> TemplateInfo:
        return TemplateInfo.from_json(await self.request("GET", f"/{template_id}", params={"fields": fields}))

    async def get_phone_number(self, phone_number_id: str, *, fields: str = PHONE_FIELDS) -> PhoneNumberInfo:
        """Throughput, quality rating and the business portfolio's messaging limit, read on a number."""
        body = await self.request("GET", f"/{phone_number_id}", params={"fields": fields})
        return PhoneNumberInfo.from_json(body)


class CloudClient:
    """Blocking facade over :class:`AsyncCloudClient` for notebooks and scripts.

    Its requests run on the process's background loop (:func:`wamkt_nb.aio.run_sync`), so it also
    works inside Jupyter's running loop; ``aclient`` is the async client for coroutines on that loop.
    """

    def __init__(self, settings: Settings | None = None, **kwargs: Any) -> None:
        self._client: AsyncCloudClient = run_sync(_make_client(settings, kwargs))
        self._closed = False

    def __repr__(self) -> str:
        return f"CloudClient(base_url={redact_url(self._client.base_url)!r}, api_version={self._client.api_version!r})"

    @property
    def aclient(self) -> AsyncCloudClient:
        """The async client under this one, bound to the background loop its coroutines must run on."""
        return self._client

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return run_sync(coro)

    def send_message(self, phone_number_id: str, payload: dict[str, Any]) -> SendResult:
        return self._run(self._client.send_message(phone_number_id, payload))

    def send_marketing_message(self, phone_number_id: str, payload: dict[str, Any], **kwargs: Any) -> SendResult:
        return self._run(self._client.send_marketing_message(phone_number_id, payload, **kwargs))

    def upload_media(
        self,
        phone_number_id: str,
        file: str | os.PathLike[str] | bytes,
        mime_type: str,
        filename: str | None = None,
        **kwargs: Any,
    ) -> MediaUpload:
        return self._run(self._client.upload_media(phone_number_id, file, mime_type, filename, **kwargs))

    def get_media(self, media_id: str, phone_number_id: str | None = None) -> MediaInfo:
        return self._run(self._client.get_media(media_id, phone_number_id))

    def download_media(self, url: str, **kwargs: Any) -> bytes:
        return self._run(self._client.download_media(url, **kwargs))

    def delete_media(self, media_id: str, phone_number_id: str | None = None) -> bool:
        return self._run(self._client.delete_media(media_id, phone_number_id))

    def list_templates(self, waba_id: str, **kwargs: Any) -> list[TemplateInfo]:
        return self._run(self._client.list_templates(waba_id, **kwargs))

    def create_template(
        self,
        waba_id: str,
        name: str,
        language: str,
        category: str,
        components: list[dict[str, Any]],
        parameter_format: str | None = None,
    ) -> TemplateInfo:
        return self._run(self._client.create_template(waba_id, name, language, category, components, parameter_format))

    def get_template(self, template_id: str, **kwargs: Any) -> TemplateInfo:
        return self._run(self._client.get_template(template_id, **kwargs))

    def get_phone_number(self, phone_number_id: str, **kwargs: Any) -> PhoneNumberInfo:
        return self._run(self._client.get_phone_number(phone_number_id, **kwargs))

    def close(self) -> None:
        """Close the connection pool (the background loop serves the whole process and keeps running)."""
        if self._closed:
            return
        self._closed = True
        self._run(self._client.aclose())

    def __enter__(self) -> CloudClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def check_base_url(url: str) -> str:
    """``url`` without its trailing slash if a client can send to it: http(s), a host, a valid port.

    Otherwise :class:`InvalidURLError`, whose message says what is wrong without repeating the URL
    (it may carry a user name and password).
    """
    try:
        parsed = httpx.URL(str(url))
    except (httpx.InvalidURL, TypeError, ValueError):
        raise InvalidURLError(
            "the API base URL cannot be parsed (check brackets, port and characters); give it as http(s)://host[:port]"
        ) from None
    if parsed.scheme not in ("http", "https"):
        raise InvalidURLError("the API base URL must start with http:// or https://")
    if not parsed.host or any(c in parsed.host for c in " %/\\"):
        raise InvalidURLError("the API base URL has no valid host name")
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise InvalidURLError(f"the API base URL's port {parsed.port} is out of range (1-65535)")
    return str(url).rstrip("/")


def _where(request: httpx.Request) -> str:
    """``POST /v21.0/123/messages``: what failed, without host or query string."""
    return f"{request.method} {request.url.path}"


def _decoded(resp: httpx.Response) -> Any:
    """The JSON answer, or the Graph error it carries raised as a :class:`CloudAPIError` subclass."""
    content = resp.content
    try:
        body = orjson.loads(content) if content else None
    except orjson.JSONDecodeError:
        body = resp.text[:200]
    if resp.status_code >= 400 or (isinstance(body, dict) and "error" in body):
        raise error_from_payload(body, resp.status_code)
    return body


async def _make_client(settings: Settings | None, kwargs: dict[str, Any]) -> AsyncCloudClient:
    return AsyncCloudClient(settings, **kwargs)
