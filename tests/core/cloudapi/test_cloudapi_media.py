"""The client's media calls against the sandbox over real HTTP on 127.0.0.1: upload, URL, download, delete."""

from __future__ import annotations

import hashlib
import logging

import pandas as pd
import pytest

from wamkt_nb.clock import ManualClock
from wamkt_nb.cloudapi import (
    AsyncCloudClient,
    AuthError,
    CloudClient,
    InvalidParameterError,
    MediaInfo,
    MediaUpload,
    media_message,
    template_message,
)
from wamkt_nb.data.sample import generate
from wamkt_nb.sandbox import Sandbox, SandboxConfig

START = pd.Timestamp("2026-11-20 09:00", tz="UTC").timestamp()
PNG = b"\x89PNG\r\n\x1a\n" + b"\x10\x20" * 300
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF\n"


@pytest.fixture(scope="module")
def data():
    return generate(30, seed=9, now="2026-11-20")


@pytest.fixture
def sb(data):
    with Sandbox(customers=data, clock=ManualClock(START), config=SandboxConfig(pair_interval=0)) as sandbox:
        yield sandbox


async def test_upload_send_download_delete(sb, data, tmp_path):
    path = tmp_path / "rechnung.pdf"
    path.write_bytes(PDF)
    to = data.customers.phone.iloc[0]
    async with AsyncCloudClient(sb.settings()) as client:
        doc = await client.upload_media(sb.phone_number_id, path, "application/pdf")
        assert doc == MediaUpload(
            id=doc.id,
            mime_type="application/pdf",
            file_size=len(PDF),
            sha256=hashlib.sha256(PDF).hexdigest(),
            filename="rechnung.pdf",
        )
        image = await client.upload_media(sb.phone_number_id, PNG, "image/png")
        assert image.filename == "upload.png" and image.id != doc.id
        assert sb.uploaded_media()[0]["filename"] == "rechnung.pdf"

        info = await client.get_media(image.id, phone_number_id=sb.phone_number_id)
        assert isinstance(info, MediaInfo)
        assert (info.id, info.mime_type, info.file_size, info.sha256) == (image.id, "image/png", len(PNG), image.sha256)
        assert await client.download_media(info.url) == PNG

        sent = await client.send_message(
            sb.phone_number_id, media_message(to, "document", doc.id, filename="rechnung.pdf")
        )
        assert sent.wamid.startswith("wamid.")
        header = template_message(
            to, "willkommen", "de", ["Anna"], header_media=("image", image.id), button_params=["x"]
        )
        assert (await client.send_message(sb.phone_number_id, header)).message_status == "accepted"

        assert await client.delete_media(image.id) is True
        with pytest.raises(InvalidParameterError) as gone:
            await client.get_media(image.id)
        assert gone.value.code == 100 and gone.value.error_subcode == 33
        assert gone.value.error_type == "GraphMethodException"
        with pytest.raises(InvalidParameterError) as unknown:  # a send with a deleted id fails right away
            await client.send_message(sb.phone_number_id, media_message(to, "image", image.id))
        assert "not a valid whatsapp business account media attachment ID" in str(unknown.value)
        with pytest.raises(InvalidParameterError):  # the old URL points at nothing now
            await client.download_media(info.url)
    assert [r["http_status"] for r in sb.received()] == [200, 200, 400]


async def test_upload_errors_are_typed_and_never_show_the_token(sb, caplog):
    caplog.set_level(logging.DEBUG)
    token = sb.access_token.reveal()
    async with AsyncCloudClient(sb.settings()) as client:
        with pytest.raises(InvalidParameterError) as bad_type:
            await client.upload_media(sb.phone_number_id, b"GIF89a", "image/gif", "a.gif")
        assert bad_type.value.code == 100 and bad_type.value.http_status == 400
        assert "Received file of type 'image/gif'" in str(bad_type.value)
        with pytest.raises(InvalidParameterError) as too_big:
            await client.upload_media(sb.phone_number_id, PNG + bytes(5 * 1024 * 1024), "image/png")
        assert "File Too Large" in too_big.value.details
        with pytest.raises(InvalidParameterError) as broken:
            await client.upload_media(sb.phone_number_id, b"no png", "image/png")
        assert broken.value.code == 131053
        with pytest.raises(ValueError, match="not a media URL of this API") as foreign:
            await client.download_media("https://attacker.example/whatsapp_business/attachments/?mid=1")
        errors = [bad_type.value, too_big.value, broken.value, foreign.value]
    async with AsyncCloudClient(sb.settings(), access_token="wrong-token-456") as client:
        with pytest.raises(AuthError) as auth:
            await client.upload_media(sb.phone_number_id, PNG, "image/png")
        errors.append(auth.value)
    shown = " ".join(f"{e} {e!r} {getattr(e, 'raw', '')}" for e in errors) + caplog.text
    assert token not in shown and "wrong-token-456" not in shown
    assert sb.uploaded_media() == []


def test_sync_facade_does_the_same(sb, data, tmp_path):
    path = tmp_path / "foto.png"
    path.write_bytes(PNG)
    with CloudClient(sb.settings()) as client:
        upload = client.upload_media(sb.phone_number_id, str(path), "image/png", filename="shop.png")
        assert upload.filename == "shop.png"
        info = client.get_media(upload.id)
        assert client.download_media(info.url) == PNG
        assert client.delete_media(upload.id, sb.phone_number_id) is True
        with pytest.raises(InvalidParameterError):
            client.delete_media(upload.id)
