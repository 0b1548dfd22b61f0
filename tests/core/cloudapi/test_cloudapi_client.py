"""The Cloud API client against the sandbox over real HTTP on 127.0.0.1, faults included."""

from __future__ import annotations

import asyncio

import pandas as pd
import pytest
from helpers.processes import free_port

from wamkt_nb.clock import ManualClock
from wamkt_nb.cloudapi import (
    AsyncCloudClient,
    AuthError,
    CloudClient,
    InvalidParameterError,
    OutcomeUnknownError,
    PairRateLimitError,
    RateLimitError,
    TemplateError,
    TransientError,
    TransportError,
    buttons_message,
    media_message,
    template_message,
    text_message,
)
from wamkt_nb.data.sample import generate
from wamkt_nb.sandbox import Faults, Sandbox, SandboxConfig

START = pd.Timestamp("2026-11-20 09:00", tz="UTC").timestamp()


@pytest.fixture(scope="module")
def data():
    return generate(50, seed=4, now="2026-11-20")


@pytest.fixture
def sb(data):
    with Sandbox(customers=data, clock=ManualClock(START), config=SandboxConfig(pair_interval=0)) as sandbox:
        yield sandbox


def to(data, i=0):
    return data.customers.phone.iloc[i]


async def test_send_every_kind_returns_typed_results(sb, data):
    async with AsyncCloudClient(sb.settings()) as client:
        text = await client.send_message(sb.phone_number_id, text_message(to(data), "Hallo", callback_data="c:1"))
        assert text.wamid.startswith("wamid.") and text.input == to(data) and text.wa_id == to(data)[1:]
        assert text.message_status is None
        tpl = await client.send_message(
            sb.phone_number_id,
            template_message(to(data, 1), "rabatt_aktion", "de", {"first_name": "Anna", "discount": "10 %"}),
        )
        assert tpl.message_status == "accepted"
        await client.send_message(
            sb.phone_number_id, media_message(to(data, 2), "image", "https://x.example/a.jpg", caption="Neu")
        )
        await client.send_message(sb.phone_number_id, buttons_message(to(data, 3), "Rabatt?", [("ja", "JA")]))
        many = await asyncio.gather(
            *(
                client.send_message(
                    sb.phone_number_id, template_message(to(data, 10 + i), "order_shipped", "de", ["A", str(i)])
                )
                for i in range(20)
            )
        )
        assert len({r.wamid for r in many}) == 20
    assert sb.counters()["accepted"] == 24
    assert sb.received()[0]["body"]["biz_opaque_callback_data"] == "c:1"


async def test_errors_are_typed_and_keep_raw_fields(sb, data):
    async with AsyncCloudClient(sb.settings()) as client:
        with pytest.raises(TemplateError) as info:
            await client.send_message(sb.phone_number_id, template_message(to(data), "nope", "de"))
        err = info.value
        assert err.code == 132001 and err.http_status == 400 and err.fbtrace_id and "nope" in err.details
        assert not err.retryable
        with pytest.raises(InvalidParameterError):
            await client.send_message(
                sb.phone_number_id, {"messaging_product": "whatsapp", "to": "x", "type": "text", "text": {"body": "b"}}
            )
        sb.configure(throughput_per_second=1)
        await client.send_message(sb.phone_number_id, text_message(to(data), "one"))
        with pytest.raises(RateLimitError) as rl:
            await client.send_message(sb.phone_number_id, text_message(to(data), "two"))
        assert rl.value.retryable and rl.value.http_status == 429
        sb.configure(throughput_per_second=80, pair_interval=6.0, pair_burst=1)
        sb.clock.advance(1)
        await client.send_message(sb.phone_number_id, text_message(to(data, 5), "one"))
        with pytest.raises(PairRateLimitError):
            await client.send_message(sb.phone_number_id, text_message(to(data, 5), "two"))


async def test_bad_token_and_secrets_stay_hidden(sb, data):
    secret = "very-secret-token-123"
    client = AsyncCloudClient(sb.settings(), access_token=secret)
    try:
        with pytest.raises(AuthError) as info:
            await client.send_message(sb.phone_number_id, text_message(to(data), "x"))
        assert info.value.http_status == 401
        for text in (str(info.value), repr(info.value), repr(client), str(info.value.to_dict())):
            assert secret not in text and sb.access_token.reveal() not in text
        for obj in (sb, sb.settings(), sb.config):
            assert sb.access_token.reveal() not in repr(obj) and sb.app_secret.reveal() not in repr(obj)
    finally:
        await client.aclose()


async def test_templates_paging_create_get_and_phone_number(sb):
    async with AsyncCloudClient(sb.settings()) as client:
        templates = await client.list_templates(sb.waba_id, limit=3)
        assert len(templates) == 8 and len({t.id for t in templates}) == 8
        shipped = next(t for t in templates if t.name == "order_shipped" and t.language == "de")
        assert shipped.status == "APPROVED" and shipped.category == "UTILITY"
        assert shipped.body_text == "Hallo {{1}}, deine Bestellung {{2}} ist unterwegs."
        assert {t.name for t in await client.list_templates(sb.waba_id, status="PAUSED")} == {"winter_sale"}
        created = await client.create_template(
            sb.waba_id,
            "versand_info",
            "de",
            "UTILITY",
            [
                {
                    "type": "BODY",
                    "text": "Hallo {{name}}, dein Paket kommt morgen.",
                    "example": {"body_text_named_params": [{"param_name": "name", "example": "Anna"}]},
                }
            ],
            parameter_format="named",
        )
        assert created.status == "PENDING" and created.name == "versand_info"
        got = await client.get_template(created.id)
        assert got.parameter_format == "NAMED" and got.status == "PENDING"
        phone = await client.get_phone_number(sb.phone_number_id)
        assert phone.quality_rating == "GREEN" and phone.messages_per_second == 80
        assert phone.messaging_limit == "TIER_2K" and phone.unique_users_per_day == 2000


async def test_faults_500_timeout_and_dropped_response(sb, data):
    # only the request meant to time out gets a short timeout: on a stalled CI machine a 0.5 s limit
    # turned the 500, the dropped answer or a 429 into an unknown outcome
    async with AsyncCloudClient(sb.settings(), timeout=30.0) as client:
        sb.set_faults(error_500=1.0)
        with pytest.raises(TransientError) as e500:
            await client.send_message(sb.phone_number_id, text_message(to(data), "x"))
        assert e500.value.code == 131000 and e500.value.http_status == 500 and e500.value.retryable
        sb.set_faults(error_500=0.0, timeout=1.0, timeout_seconds=2.0)
        async with AsyncCloudClient(sb.settings(), timeout=0.5) as impatient:
            with pytest.raises(OutcomeUnknownError) as slow:
                await impatient.send_message(sb.phone_number_id, text_message(to(data), "x"))
        assert slow.value.outcome_unknown and slow.value.retryable
        sb.set_faults(timeout=0.0, drop_after_accept=1.0)
        before = sb.counters().get("accepted", 0)
        with pytest.raises(OutcomeUnknownError):
            await client.send_message(sb.phone_number_id, text_message(to(data), "lost answer", callback_data="k:9"))
        assert sb.counters()["accepted"] == before + 1  # accepted although the answer was lost
        assert sb.received()[-1]["body"]["biz_opaque_callback_data"] == "k:9"
        sb.set_faults(drop_after_accept=0.0, burst_429=1.0, burst_length=3)
        for _ in range(3):
            with pytest.raises(RateLimitError):
                await client.send_message(sb.phone_number_id, text_message(to(data), "x"))
        sb.set_faults(burst_429=0.0)
        assert (await client.send_message(sb.phone_number_id, text_message(to(data), "ok"))).wamid


async def test_connection_refused_is_transport_error_not_unknown():
    client = AsyncCloudClient(base_url=f"http://127.0.0.1:{free_port()}", access_token="t")
    try:
        with pytest.raises(TransportError) as info:
            await client.send_message("1", text_message("+4915112345678", "x"))
        assert not info.value.outcome_unknown and info.value.retryable
    finally:
        await client.aclose()


def test_sync_client_for_notebooks(sb, data):
    with CloudClient(sb.settings()) as client:
        result = client.send_message(sb.phone_number_id, text_message(to(data), "Hallo"))
        assert result.wamid.startswith("wamid.")
        assert client.get_phone_number(sb.phone_number_id).verified_name == sb.config.verified_name
        assert "token" not in repr(client).lower() or sb.access_token.reveal() not in repr(client)


async def test_sync_client_works_inside_a_running_loop(sb, data):
    client = CloudClient(sb.settings())  # as in a Jupyter cell, where a loop is already running
    try:
        assert client.send_message(sb.phone_number_id, text_message(to(data), "Hallo")).wa_id == to(data)[1:]
    finally:
        client.close()


def test_faults_validate_rates():
    with pytest.raises(ValueError, match="between 0 and 1"):
        Faults(error_500=2.0)


def test_fault_sequence_is_reproducible_whatever_the_webhooks_draw():
    rates = dict(
        error_500=0.05, timeout=0.02, drop_after_accept=0.03, burst_429=0.015, burst_length=8, duplicate_webhook=0.5
    )
    quiet, busy = Faults(**rates), Faults(**rates)
    sequence = []
    for _ in range(500):
        sequence.append(quiet.pick_request_fault())
        busy.duplicate(), busy.duplicate()  # webhook deliveries interleave differently
        assert busy.pick_request_fault() == sequence[-1]
    assert {"error_500", "timeout", "drop", "429"} <= set(sequence)
    busy.restart()
    assert [busy.pick_request_fault() for _ in range(500)] == sequence
