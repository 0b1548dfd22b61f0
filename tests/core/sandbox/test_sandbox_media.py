"""The sandbox's media endpoints over real HTTP, called like a third-party Meta client would (plain httpx)."""

from __future__ import annotations

import hashlib

import httpx
import pandas as pd
import pytest

from wamkt_nb.clock import ManualClock
from wamkt_nb.cloudapi import template_message
from wamkt_nb.data.sample import generate
from wamkt_nb.graph_versions import CURRENT_VERSION
from wamkt_nb.sandbox import Sandbox, SandboxConfig
from wamkt_nb.sandbox.media import MB

START = pd.Timestamp("2026-11-20 09:00", tz="UTC").timestamp()
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
PDF = b"%PDF-1.4\n% Rechnung 4711\n%%EOF\n"
NOT_A_MEDIA_ID = "(#100) Param {where} is not a valid whatsapp business account media attachment ID"


@pytest.fixture(scope="module")
def data():
    return generate(40, seed=8, now="2026-11-20")


@pytest.fixture
def sb(data):
    config = SandboxConfig(not_on_whatsapp_rate=0, marketing_stopped_rate=0, pair_interval=0)
    with Sandbox(customers=data, clock=ManualClock(START), config=config) as sandbox:
        yield sandbox


@pytest.fixture
def http(sb):
    with httpx.Client(
        base_url=f"{sb.base_url}/{CURRENT_VERSION}", headers={"Authorization": f"Bearer {sb.access_token.reveal()}"}
    ) as client:
        yield client


def upload(http, sb, content, mime, filename="file", fields=None):
    """Meta's documented call: ``curl -F messaging_product=whatsapp -F type=<mime> -F file=@<path>;type=<mime>``."""
    form = {"messaging_product": "whatsapp", "type": mime} if fields is None else fields
    files = {"file": (filename, content, mime)} if content is not None else None
    return http.post(f"/{sb.phone_number_id}/media", data=form, files=files)


def graph_error(resp, status, code):
    assert resp.status_code == status, resp.text
    err = resp.json()["error"]
    assert err["code"] == code and len(err["fbtrace_id"]) >= 10
    return err


def send(http, sb, body):
    return http.post(f"/{sb.phone_number_id}/messages", json=body)


def media_body(to, kind, media):
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": kind, kind: media}


def test_upload_retrieve_download_delete_like_meta(sb, http):
    resp = upload(http, sb, PNG, "image/png", "logo.png")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("application/json")
    assert set(resp.json()) == {"id"} and resp.json()["id"].isdigit()
    media_id = resp.json()["id"]

    info = http.get(f"/{media_id}").json()
    assert set(info) == {"messaging_product", "url", "mime_type", "sha256", "file_size", "id"}
    assert info["messaging_product"] == "whatsapp" and info["id"] == media_id and info["mime_type"] == "image/png"
    assert info["sha256"] == hashlib.sha256(PNG).hexdigest() and info["file_size"] == str(len(PNG))
    assert info["url"].startswith(f"{sb.base_url}/whatsapp_business/attachments/?mid={media_id}&ext=")
    # ?phone_number_id= narrows the lookup to the uploading number, as Meta documents
    assert http.get(f"/{media_id}", params={"phone_number_id": sb.phone_number_id}).status_code == 200
    graph_error(http.get(f"/{media_id}", params={"phone_number_id": "111"}), 400, 100)

    download = http.get(info["url"])  # the URL carries no token: the bearer header is needed
    assert download.status_code == 200 and download.content == PNG
    assert download.headers["content-type"] == "image/png"
    graph_error(httpx.get(info["url"]), 401, 190)
    graph_error(http.get(info["url"].replace("&hash=", "&hash=0")), 404, 100)
    sb.clock.advance(sb.config.media_url_ttl + 1)
    graph_error(http.get(info["url"]), 404, 100)  # expired: a new GET gives a fresh URL
    assert http.get(http.get(f"/{media_id}").json()["url"]).content == PNG

    assert sb.uploaded_media()[0] | {"uploaded_at": 0} == {
        "id": media_id,
        "phone_number_id": sb.phone_number_id,
        "mime_type": "image/png",
        "file_size": len(PNG),
        "sha256": info["sha256"],
        "filename": "logo.png",
        "uploaded_at": 0,
    }
    assert http.get(f"{sb.base_url}/_sandbox/media").json()[0]["id"] == media_id

    assert http.delete(f"/{media_id}").json() == {"success": True}
    for method in ("GET", "DELETE"):
        err = graph_error(http.request(method, f"/{media_id}"), 400, 100)
        assert err == {
            "message": f"Unsupported {method.lower()} request. Object with ID '{media_id}' does not exist, "
            "cannot be loaded due to missing permissions, or does not support this operation. "
            "Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api",
            "type": "GraphMethodException",
            "code": 100,
            "error_subcode": 33,
            "fbtrace_id": err["fbtrace_id"],
        }


def test_every_documented_kind_uploads(sb, http):
    animated_webp = b"RIFF\x00\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x02" + b"\x00" * (200 * 1024)
    cases = [
        (b"\xff\xd8\xff\xe0jpeg", "image/jpeg"),
        (PDF, "application/pdf"),
        (b"ID3mp3", "audio/mpeg"),
        (b"OggS", "audio/ogg"),
        (b"\x00\x00\x00\x18ftypmp42", "video/mp4"),
        (b"Hallo", "text/plain"),
        (animated_webp, "image/webp"),
        (b"PK\x03\x04", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ]
    for content, mime in cases:
        resp = upload(http, sb, content, mime)
        assert resp.status_code == 200, (mime, resp.text)
        assert http.get(f"/{resp.json()['id']}").json()["mime_type"] == mime
    # the limit is Meta's: 5 MB for an image, one byte more is refused
    assert upload(http, sb, PNG + b"\x00" * (5 * MB - len(PNG)), "image/png").status_code == 200
    err = graph_error(upload(http, sb, PNG + b"\x00" * (5 * MB + 1 - len(PNG)), "image/png"), 400, 100)
    assert err["error_data"]["details"].startswith("File Too Large")


def test_bad_uploads_answer_400_with_metas_codes_and_the_server_stays_up(sb, http, monkeypatch):
    err = graph_error(upload(http, sb, b"PK\x03\x04", "application/zip", "a.zip"), 400, 100)
    assert err["message"].startswith("(#100) Param file must be a file with one of the following types: audio/aac, ")
    assert err["message"].endswith(", video/mp4, video/3gpp. Received file of type 'application/zip'.")
    assert "error_data" not in err and err["type"] == "OAuthException"
    assert (
        graph_error(upload(http, sb, PNG, "image/png", fields={"type": "image/png"}), 400, 100)["message"]
        == "(#100) The parameter messaging_product is required."
    )
    assert (
        graph_error(upload(http, sb, None, "image/png"), 400, 100)["message"]
        == "(#100) The parameter file is required."
    )
    assert (
        graph_error(http.post(f"/{sb.phone_number_id}/media", json={"messaging_product": "whatsapp"}), 400, 100)[
            "message"
        ]
        == "(#100) The parameter file is required."
    )
    static_webp = b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * (100 * 1024)
    assert "100 KB" in graph_error(upload(http, sb, static_webp, "image/webp"), 400, 100)["error_data"]["details"]
    assert (
        "16 MB"
        in graph_error(upload(http, sb, b"\x00" * (16 * MB + 1), "video/mp4"), 400, 100)["error_data"]["details"]
    )
    broken = graph_error(upload(http, sb, b"GIF89a, not a png", "image/png"), 400, 131053)
    assert broken["message"] == "(#131053) Media upload error" and "not image/png" in broken["error_data"]["details"]
    graph_error(upload(http, sb, b"", "application/pdf"), 400, 131053)
    wrong_number = http.post(
        "/999/media", data={"messaging_product": "whatsapp"}, files={"file": ("a.png", PNG, "image/png")}
    )
    assert graph_error(wrong_number, 400, 100)["error_subcode"] == 33
    graph_error(
        httpx.post(
            f"{sb.base_url}/{CURRENT_VERSION}/{sb.phone_number_id}/media",
            data={"messaging_product": "whatsapp"},
            files={"file": ("a.png", PNG, "image/png")},
        ),
        401,
        190,
    )
    monkeypatch.setattr("wamkt_nb.sandbox.app.MAX_REQUEST_BYTES", 1 * MB)  # a body past the cap is not kept
    assert (
        "File Too Large"
        in graph_error(upload(http, sb, PDF + b"\x00" * (2 * MB), "application/pdf"), 400, 100)["error_data"]["details"]
    )
    monkeypatch.undo()
    assert sb.uploaded_media() == []
    assert upload(http, sb, PNG, "image/png").status_code == 200  # still serving
    assert sb.counters()["error_100"] == 8 and sb.counters()["error_131053"] == 2


def test_sends_check_media_ids_while_links_keep_working(sb, http, data):
    to = data.customers.phone.iloc[0]
    sb.inject_inbound(to, "Hallo")  # an open service window, so free-form media may be delivered
    image_id = upload(http, sb, PNG, "image/png").json()["id"]
    pdf_id = upload(http, sb, PDF, "application/pdf", "rechnung.pdf").json()["id"]

    ok = send(http, sb, media_body(to, "image", {"id": image_id, "caption": "Neu"}))
    assert ok.status_code == 200 and ok.json()["messages"][0]["id"].startswith("wamid.")
    assert send(http, sb, media_body(to, "document", {"id": pdf_id, "filename": "rechnung.pdf"})).status_code == 200
    assert send(http, sb, media_body(to, "document", {"id": image_id})).status_code == 200  # any file is a document
    assert send(http, sb, media_body(to, "image", {"link": "https://x.example/a.jpg"})).status_code == 200
    mismatch = send(http, sb, media_body(to, "image", {"id": pdf_id}))  # accepted, fails later like at Meta
    assert mismatch.status_code == 200

    unknown = graph_error(send(http, sb, media_body(to, "video", {"id": "4242"})), 400, 100)
    assert unknown["message"] == NOT_A_MEDIA_ID.format(where="video['id']") and "error_data" not in unknown
    header = template_message(to, "willkommen", "de", ["Anna"], header_media=("image", "4242"), button_params=["x"])
    assert graph_error(send(http, sb, header), 400, 100)["message"] == NOT_A_MEDIA_ID.format(
        where="template['components'][0]['parameters'][0]['image']['id']"
    )
    header["template"]["components"][0]["parameters"][0]["image"]["id"] = image_id
    assert send(http, sb, header).status_code == 200

    sb.advance(120)
    frame = sb.messages_frame().set_index("wamid")
    assert frame.loc[mismatch.json()["messages"][0]["id"], "error_code"] == 131053
    assert frame.loc[ok.json()["messages"][0]["id"], "status"] != "failed"
    assert (frame.status == "failed").sum() == 1
    assert sb.wait_idle(60)  # the emitter thread records the batch with the failed status a moment later
    failed = [
        s
        for batch in sb.emitted()
        for entry in batch["payload"]["entry"]
        for change in entry["changes"]
        for s in change["value"].get("statuses", [])
        if s["status"] == "failed"
    ]
    assert failed[0]["errors"][0]["code"] == 131053 and pdf_id in failed[0]["errors"][0]["error_data"]["details"]

    assert http.delete(f"/{image_id}").json() == {"success": True}
    graph_error(send(http, sb, media_body(to, "image", {"id": image_id})), 400, 100)
    sb.clock.advance(31 * 86_400)  # Meta keeps uploads 30 days
    graph_error(send(http, sb, media_body(to, "document", {"id": pdf_id})), 400, 100)
    graph_error(http.get(f"/{pdf_id}"), 400, 100)


def test_reset_forgets_uploads(sb, http):
    media_id = upload(http, sb, PNG, "image/png").json()["id"]
    sb.reset()
    graph_error(http.get(f"/{media_id}"), 400, 100)
    assert sb.uploaded_media() == []


def test_uploads_held_in_memory_are_bounded_and_refused_past_the_bound(sb, http):
    """Uploads stayed resident without limit (5 x 90 MB text files: +570 MB RSS); past the store's
    bound an upload is a 400 with code 100 saying what to do, and deleting makes room again."""
    sb.media.max_bytes = 3 * len(PDF)
    ids = [upload(http, sb, PDF, "application/pdf", "r.pdf").json()["id"] for _ in range(3)]
    err = graph_error(upload(http, sb, PDF, "application/pdf", "r.pdf"), 400, 100)
    assert "keeps at most" in err["error_data"]["details"] and "DELETE" in err["error_data"]["details"]
    assert len(sb.uploaded_media()) == 3
    assert http.delete(f"/{ids[0]}").status_code == 200
    assert upload(http, sb, PDF, "application/pdf", "r.pdf").status_code == 200
    sb.clock.advance(31 * 86_400)  # past Meta's 30-day retention: no longer held, room for new uploads
    assert all(upload(http, sb, PDF, "application/pdf", "r.pdf").status_code == 200 for _ in range(3))
