"""Uploaded media of the sandbox account: Meta's accepted types and size limits, and the files themselves.

``POST /{phone_number_id}/media`` stores a file here; ``GET``/``DELETE /{media_id}`` and the
short-lived download URL read it. Files live in memory (Meta keeps uploads for 30 days).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import orjson

from .config import SandboxConfig
from .errors import SandboxError, invalid_param

KB = 1024
MB = 1024 * KB

# Meta's accepted upload types, in the order its error message lists them: type -> (message kind, max bytes).
SUPPORTED_TYPES: dict[str, tuple[str, int]] = {
    **{t: ("audio", 16 * MB) for t in ("audio/aac", "audio/mp4", "audio/mpeg", "audio/amr", "audio/ogg", "audio/opus")},
    **{
        t: ("document", 100 * MB)
        for t in (
            "application/vnd.ms-powerpoint",
            "application/msword",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "application/pdf",
            "text/plain",
            "application/vnd.ms-excel",
        )
    },
    "image/jpeg": ("image", 5 * MB),
    "image/png": ("image", 5 * MB),
    "image/webp": ("sticker", 500 * KB),  # animated; a static sticker may have 100 KB
    "video/mp4": ("video", 16 * MB),
    "video/3gpp": ("video", 16 * MB),
}
STATIC_STICKER_BYTES = 100 * KB
MAX_STORED_BYTES = 1024 * MB
"""Uploads held in memory at most; past it an upload is refused (a test double must not grow
without bound: ten 100 MB documents would otherwise stay resident for the 30-day retention)."""
MAX_REQUEST_BYTES = 100 * MB + 64 * KB  # the largest file plus room for the multipart framing
# Leading bytes of the formats whose content is checked against the declared type.
SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "application/pdf": (b"%PDF-",),
}


@dataclass(frozen=True)
class FormPart:
    """One field of a multipart/form-data body."""

    name: str
    data: bytes
    filename: str | None = None
    content_type: str | None = None


@dataclass(frozen=True)
class StoredMedia:
    """An uploaded file and what ``GET /{media_id}`` tells about it."""

    id: str
    phone_number_id: str
    mime_type: str
    sha256: str
    uploaded_at: float
    filename: str | None
    content: bytes = field(repr=False)

    def info(self) -> dict[str, Any]:
        """For inspection: everything but the bytes."""
        return {
            "id": self.id,
            "phone_number_id": self.phone_number_id,
            "mime_type": self.mime_type,
            "file_size": len(self.content),
            "sha256": self.sha256,
            "filename": self.filename,
            "uploaded_at": self.uploaded_at,
        }


class MediaStore:
    """Uploaded files by media id; thread-safe. Retention and URL lifetime are read live from ``config``."""

    def __init__(self, now: Callable[[], float], config: SandboxConfig) -> None:
        self._now = now
        self.config = config
        self._lock = threading.Lock()
        self._by_id: dict[str, StoredMedia] = {}
        self._ids = itertools.count(1_729_040_000_000_001)
        self._url_key = secrets.token_bytes(16)
        self.max_bytes = MAX_STORED_BYTES

    def add(self, phone_number_id: str, mime_type: str, content: bytes, filename: str | None) -> StoredMedia:
        with self._lock:
            expired = self._now() - self.config.media_retention_days * 86_400
            for media_id in [i for i, m in self._by_id.items() if m.uploaded_at < expired]:
                del self._by_id[media_id]  # past retention: gone for get() already, and not counted
            held = sum(len(m.content) for m in self._by_id.values())
            if held + len(content) > self.max_bytes:
                raise SandboxError(
                    100,
                    f"The sandbox holds {held:,} bytes of uploads and keeps at most "
                    f"{self.max_bytes:,}: delete media (DELETE /{{media_id}}) or reset the sandbox",
                )
            media = StoredMedia(
                str(next(self._ids)),
                phone_number_id,
                mime_type,
                hashlib.sha256(content).hexdigest(),
                self._now(),
                filename,
                content,
            )
            self._by_id[media.id] = media
        return media

    def get(self, media_id: str) -> StoredMedia | None:
        """The file, or None when unknown, deleted or past retention."""
        media = self._by_id.get(media_id)
        if media is None or self._now() - media.uploaded_at > self.config.media_retention_days * 86_400:
            return None
        return media

    def mime_type(self, media_id: str) -> str | None:
        """What a send with ``{"id": media_id}`` needs to know: the file's type, None if there is no such file."""
        media = self.get(media_id)
        return media.mime_type if media else None

    def delete(self, media_id: str) -> bool:
        with self._lock:
            return self.get(media_id) is not None and self._by_id.pop(media_id, None) is not None

    def clear(self) -> None:
        with self._lock:
            self._by_id.clear()

    def all(self) -> list[dict[str, Any]]:
        with self._lock:
            return [m.info() for m in self._by_id.values()]

    # -- the download URL: like Meta's lookaside URL, signed and valid for a few minutes --------------

    def url(self, media: StoredMedia, origin: str) -> str:
        expires = int(self._now() + self.config.media_url_ttl)
        return (
            f"{origin}/whatsapp_business/attachments/?mid={media.id}&ext={expires}"
            f"&hash={self._signature(media.id, expires)}"
        )

    def _signature(self, media_id: str, expires: int) -> str:
        return hmac.new(self._url_key, f"{media_id}:{expires}".encode(), hashlib.sha256).hexdigest()[:32]

    def open_url(self, query: dict[str, list[str]]) -> StoredMedia:
        """The file a download URL points at; 404 when it is forged, expired or the file is gone."""
        mid, ext, sig = (query.get(k, [""])[0] for k in ("mid", "ext", "hash"))
        valid = ext.isdigit() and hmac.compare_digest(sig, self._signature(mid, int(ext)))
        media = self.get(mid) if valid and int(ext) >= self._now() else None
        if media is None:
            raise SandboxError(
                100, "The media URL is not valid or has expired; get a new one with GET /{media_id}", http_status=404
            )
        return media

    # -- upload ------------------------------------------------------------------------------------

    def upload(self, phone_number_id: str, content_type: str, body: bytes) -> StoredMedia:
        """Handle ``POST /{phone_number_id}/media`` (multipart/form-data), checked like the Graph API."""
        fields = parse_form(content_type, body)
        product = fields.get("messaging_product")
        if product is None or product.data != b"whatsapp":
            raise invalid_param("The parameter messaging_product is required.")
        file = fields.get("file")
        if file is None or file.filename is None:
            raise invalid_param("The parameter file is required.")
        mime = (file.content_type or "application/octet-stream").split(";")[0].strip().lower()
        check_file(mime, file.data)
        return self.add(phone_number_id, mime, file.data, file.filename)


def check_file(mime: str, content: bytes) -> None:
    """Meta's type list (100), size limit (100, File Too Large) and a readable file (131053)."""
    if mime not in SUPPORTED_TYPES:
        raise invalid_param(
            f"Param file must be a file with one of the following types: "
            f"{', '.join(SUPPORTED_TYPES)}. Received file of type '{mime}'."
        )
    kind, limit = SUPPORTED_TYPES[mime]
    if mime == "image/webp" and not _animated_webp(content):
        limit = STATIC_STICKER_BYTES
    if len(content) > limit:
        raise SandboxError(
            100,
            f"File Too Large: The file you uploaded is too large. {mime} files may have at most "
            f"{_size(limit)}; this one has {len(content):,} bytes.",
        )
    if not content:
        raise SandboxError(131053, "The uploaded file is empty.")
    signatures = SIGNATURES.get(mime)
    webp = mime == "image/webp" and not (content[:4] == b"RIFF" and content[8:12] == b"WEBP")
    if webp or (signatures and not content.startswith(signatures)):
        raise SandboxError(131053, f"{kind.capitalize()} file could not be processed: its content is not {mime}.")


def _animated_webp(content: bytes) -> bool:
    """An extended WebP (``VP8X``) with the animation flag set."""
    return content[12:16] == b"VP8X" and len(content) > 20 and bool(content[20] & 0x02)


def _size(limit: int) -> str:
    return f"{limit // MB} MB" if limit >= MB else f"{limit // KB} KB"


def parse_form(content_type: str, body: bytes) -> dict[str, FormPart]:
    """The fields of a multipart/form-data body (RFC 7578); JSON and urlencoded bodies are read as fields too."""
    kind, _, params = content_type.partition(";")
    kind = kind.strip().lower()
    if kind == "application/x-www-form-urlencoded":
        return {k: FormPart(k, v[0].encode()) for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
    if kind == "application/json":
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise invalid_param("Request body is not valid JSON") from None
        if not isinstance(data, dict):
            raise invalid_param("Request body must be a JSON object")
        return {str(k): FormPart(str(k), str(v).encode()) for k, v in data.items()}
    if kind != "multipart/form-data":
        raise invalid_param("The parameter messaging_product is required.")
    boundary = _header_params(params).get("boundary")
    if not boundary:
        raise invalid_param("multipart/form-data needs a boundary")
    delimiter = b"--" + boundary.encode("latin-1")
    fields: dict[str, FormPart] = {}
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break  # the closing delimiter
        head, sep, data = chunk.partition(b"\r\n\r\n")
        if not sep:
            raise invalid_param("A multipart/form-data part has no header")
        headers = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, colon, value = line.partition(":")
            if colon:
                headers[name.strip().lower()] = value.strip()
        disposition = _header_params(headers.get("content-disposition", "").partition(";")[2])
        if "name" in disposition:
            name = disposition["name"]
            fields[name] = FormPart(
                name, data.removesuffix(b"\r\n"), disposition.get("filename"), headers.get("content-type")
            )
    return fields


def _header_params(text: str) -> dict[str, str]:
    """``a=1; b="x y"`` -> ``{"a": "1", "b": "x y"}`` (quoted strings may contain ``;``)."""
    out: dict[str, str] = {}
    rest = text.strip()
    while rest:
        key, eq, rest = rest.partition("=")
        if not eq:
            break
        rest = rest.lstrip()
        if rest.startswith('"'):
            value, i = [], 1
            while i < len(rest) and rest[i] != '"':
                if rest[i] == "\\" and i + 1 < len(rest):
                    i += 1
                value.append(rest[i])
                i += 1
            out[key.strip().lower()] = "".join(value)
            rest = rest[i + 1 :].partition(";")[2]
        else:
            value_text, _, rest = rest.partition(";")
            out[key.strip().lower()] = value_text.strip()
        rest = rest.strip()
    return out


def media_id_error(where: str) -> SandboxError:
    """Meta's answer to a send whose media ``id`` was never uploaded, was deleted or has expired."""
    return invalid_param(f"Param {where} is not a valid whatsapp business account media attachment ID")
