"""Error taxonomy and payload builders: Meta's codes map to the right classes and JSON is Meta's."""

import math

import pytest

from wamkt_nb.cloudapi import (
    ERROR_MEANINGS,
    AuthError,
    CloudAPIError,
    MarketingLimitError,
    PairRateLimitError,
    RateLimitError,
    ReEngagementError,
    ServerError,
    TemplateError,
    TransientError,
    buttons_message,
    error_from_payload,
    error_meaning,
    media_message,
    template_message,
    text_message,
)


def envelope(code, details="d", message=None):
    return {
        "error": {
            "message": message or f"(#{code}) x",
            "type": "OAuthException",
            "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": details},
            "fbtrace_id": "Az8or2yhqkZfEZ-_4Qn_Bam",
        }
    }


@pytest.mark.parametrize(
    "code,cls,retryable",
    [
        (130429, RateLimitError, True),
        (4, RateLimitError, True),
        (80007, RateLimitError, True),
        (131056, PairRateLimitError, True),
        (131000, TransientError, True),
        (131016, TransientError, True),
        (190, AuthError, False),
        (132001, TemplateError, False),
        (132999, TemplateError, False),
        (131047, ReEngagementError, False),
        (131049, MarketingLimitError, False),
        (999999, CloudAPIError, False),
    ],
)
def test_error_from_payload_picks_class_by_code(code, cls, retryable):
    err = error_from_payload(envelope(code, "why"), 400)
    assert type(err) is cls
    assert err.code == code and err.details == "why" and err.http_status == 400
    assert err.fbtrace_id == "Az8or2yhqkZfEZ-_4Qn_Bam"
    assert err.retryable is retryable


def test_retry_after_grows_and_pair_rate_uses_powers_of_four():
    err = error_from_payload(envelope(130429), 429)
    assert err.retry_after(1) < err.retry_after(3) <= 60
    pair = error_from_payload(envelope(131056))
    assert [pair.retry_after(n) for n in (1, 2, 3)] == [4, 16, 64]
    assert error_from_payload(envelope(131049)).retry_after(1) == 86_400
    assert math.isinf(error_from_payload(envelope(131050)).retry_after(1))


def test_non_graph_bodies():
    assert isinstance(error_from_payload("<html>bad gateway</html>", 502), ServerError)
    err = error_from_payload(None, 404)
    assert type(err) is CloudAPIError and err.code is None and "404" in str(err)


def test_webhook_error_item_and_meanings():
    err = error_from_payload({"code": 131049, "title": "not delivered", "error_data": {"details": "eco"}})
    assert isinstance(err, MarketingLimitError) and err.details == "eco"
    assert error_meaning(131047) == ERROR_MEANINGS[131047]
    assert "Unknown" in error_meaning(1)
    assert str(error_from_payload(envelope(131056, message="(#131056) pair"))).count("131056") == 1


def test_text_message_is_metas_json():
    assert text_message("+4915112345678", "Hallo Anna", callback_data="c1:7", reply_to="wamid.X") == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "+4915112345678",
        "type": "text",
        "context": {"message_id": "wamid.X"},
        "text": {"preview_url": False, "body": "Hallo Anna"},
        "biz_opaque_callback_data": "c1:7",
    }
    with pytest.raises(ValueError, match="4096"):
        text_message("+49", "x" * 4097)


def test_template_message_positional_named_and_media():
    positional = template_message("+4915112345678", "order_shipped", "de", ["Anna", "#12345"])
    assert positional["template"] == {
        "name": "order_shipped",
        "language": {"code": "de"},
        "components": [
            {"type": "body", "parameters": [{"type": "text", "text": "Anna"}, {"type": "text", "text": "#12345"}]}
        ],
    }
    named = template_message(
        "+49", "t", "de", {"first_name": "Anna"}, header_media=("image", "https://x/a.png"), button_params=["abc"]
    )
    assert named["template"]["components"] == [
        {"type": "header", "parameters": [{"type": "image", "image": {"link": "https://x/a.png"}}]},
        {"type": "body", "parameters": [{"type": "text", "parameter_name": "first_name", "text": "Anna"}]},
        {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "abc"}]},
    ]


def test_media_and_buttons():
    assert media_message("+49", "document", "https://x/a.pdf", caption="Rechnung", filename="a.pdf")["document"] == {
        "link": "https://x/a.pdf",
        "caption": "Rechnung",
        "filename": "a.pdf",
    }
    assert media_message("+49", "image", "1234")["image"] == {"id": "1234"}
    msg = buttons_message("+49", "Rabatt?", [("yes", "JA"), ("no", "Nein")], footer="Shop")
    assert msg["interactive"] == {
        "type": "button",
        "body": {"text": "Rabatt?"},
        "footer": {"text": "Shop"},
        "action": {
            "buttons": [
                {"type": "reply", "reply": {"id": "yes", "title": "JA"}},
                {"type": "reply", "reply": {"id": "no", "title": "Nein"}},
            ]
        },
    }
    with pytest.raises(ValueError, match="1 to 3"):
        buttons_message("+49", "b", [(str(i), "t") for i in range(4)])
