"""Business-scoped user IDs on the wire: documented webhook shapes replayed field by field.

Meta's example JSON could not be retrieved verbatim (docs/cloud-api.md, "Business-scoped user IDs");
each fixture follows the field placement of the sources named above it, with Meta's documented
example values (``US.13491208655302741918``, ``US.ENT.11815799212886844830``).
"""

from __future__ import annotations

import copy

import pytest
from helpers.bsuid_payloads import (
    BSUID,
    INCOMING_BOTH,
    INCOMING_USERNAME_ONLY,
    META,
    NEW_BSUID,
    PARENT,
    PREFERENCE_STOP,
    STATUS_DELIVERED_TO_BSUID,
    STATUS_FAILED_TO_PHONE,
    SYSTEM_CHANGED_NUMBER,
    SYSTEM_CHANGED_USER_ID,
    USER_ID_UPDATE,
)
from helpers.webhook_payloads import receiver_client, signed

from wamkt_nb.bsuid import bsuid_country, is_any_bsuid, is_bsuid, is_parent_bsuid
from wamkt_nb.cloudapi import payloads
from wamkt_nb.webhooks.updates import parse_payload


def test_bsuid_format():
    assert is_bsuid(BSUID) and not is_parent_bsuid(BSUID)
    assert is_parent_bsuid(PARENT) and not is_bsuid(PARENT)
    assert all(is_any_bsuid(v) for v in (BSUID, PARENT, "BR.1502576394655843"))
    for bad in ("+4915112345678", "4915112345678", "us.123", "USA.123", "US.", "US.12-3", "US." + "1" * 129, None, 42):
        assert not is_any_bsuid(bad), bad
    assert bsuid_country(BSUID) == "US" and bsuid_country(PARENT) == "US"


def test_incoming_message_without_phone():
    batch = parse_payload(INCOMING_USERNAME_ONLY)
    assert not batch.rejects
    (msg,) = batch.inbound
    assert (msg.wa_id, msg.phone) == (None, None)
    assert (msg.user_id, msg.parent_user_id, msg.username) == (BSUID, PARENT, "@sheena.nelson")
    assert (msg.profile_name, msg.text, msg.type, msg.timestamp) == (
        "Sheena Nelson",
        "Does it come in another color?",
        "text",
        1744344496.0,
    )
    assert msg.phone_number_id == META["phone_number_id"]


def test_incoming_message_with_phone_and_bsuid():
    (msg,) = parse_payload(INCOMING_BOTH).inbound
    assert (msg.wa_id, msg.phone, msg.user_id, msg.parent_user_id) == ("16505551234", "+16505551234", BSUID, PARENT)
    assert msg.username == "@sheena.nelson" and msg.meanings == ("STOP",)


def test_bsuid_found_through_contacts_when_the_message_has_only_from():
    payload = copy.deepcopy(INCOMING_BOTH)
    del payload["entry"][0]["changes"][0]["value"]["messages"][0]["from_user_id"]
    (msg,) = parse_payload(payload).inbound
    assert (msg.wa_id, msg.user_id, msg.username) == ("16505551234", BSUID, "@sheena.nelson")


def test_status_of_a_send_to_a_bsuid():
    (st,) = parse_payload(STATUS_DELIVERED_TO_BSUID).statuses
    assert (st.wamid, st.status, st.recipient_id) == ("wamid.out1", "delivered", None)
    assert (st.recipient_user_id, st.recipient_parent_user_id, st.username) == (BSUID, PARENT, "@sheena.nelson")
    assert (st.callback_data, st.pricing_category, st.billable) == ("cmp42:17", "marketing", True)


def test_failed_status_to_a_phone_has_no_bsuid():
    (st,) = parse_payload(STATUS_FAILED_TO_PHONE).statuses
    assert (st.recipient_id, st.recipient_user_id, st.error_code) == ("16505551234", None, 131026)


def test_user_preference_of_a_username_user():
    (pref,) = parse_payload(PREFERENCE_STOP).preferences
    assert (pref.wa_id, pref.phone, pref.user_id, pref.value, pref.timestamp) == (
        None,
        None,
        BSUID,
        "stop",
        1731705721.0,
    )


def test_user_id_update():
    batch = parse_payload(USER_ID_UPDATE)
    assert not batch.rejects
    (change,) = batch.identity_changes
    assert (change.kind, change.previous_user_id, change.user_id, change.wa_id, change.timestamp) == (
        "user_id_update",
        BSUID,
        NEW_BSUID,
        "15557654321",
        1700000003.0,
    )


def test_system_messages_are_identity_changes_not_inbound():
    batch = parse_payload(SYSTEM_CHANGED_USER_ID)
    assert not batch.inbound and not batch.rejects
    (change,) = batch.identity_changes
    assert (change.kind, change.user_id, change.wa_id, change.new_wa_id) == (
        "user_changed_user_id",
        NEW_BSUID,
        None,
        None,
    )
    (change,) = parse_payload(SYSTEM_CHANGED_NUMBER).identity_changes
    assert (change.kind, change.wa_id, change.new_wa_id, change.user_id, change.parent_user_id) == (
        "user_changed_number",
        "15551234567",
        "15557654321",
        NEW_BSUID,
        PARENT,
    )


@pytest.mark.parametrize(
    "payload, path, reason",
    [
        (
            INCOMING_USERNAME_ONLY,
            ("messages", 0, "from_user_id"),
            "neither a phone number nor a business-scoped user ID",
        ),
        (PREFERENCE_STOP, ("user_preferences", 0, "user_id"), "neither a phone number nor a business-scoped user ID"),
    ],
)
def test_an_update_naming_no_customer_is_a_reject(payload, path, reason):
    broken = copy.deepcopy(payload)
    value = broken["entry"][0]["changes"][0]["value"]
    value["contacts"] = []
    key, index, field = path
    del value[key][index][field]
    batch = parse_payload(broken)
    assert not batch.inbound and not batch.preferences
    assert reason in batch.rejects[0].reason


def test_a_malformed_bsuid_is_a_reject_naming_the_field():
    broken = copy.deepcopy(INCOMING_USERNAME_ONLY)
    broken["entry"][0]["changes"][0]["value"]["messages"][0]["from_user_id"] = "13491208655302741918"
    (reject,) = parse_payload(broken).rejects
    assert "from_user_id must be a business-scoped user ID" in reject.reason


def test_user_id_update_needs_previous_and_current():
    broken = copy.deepcopy(USER_ID_UPDATE)
    del broken["entry"][0]["changes"][0]["value"]["user_id_update"][0]["user_id"]["previous"]
    batch = parse_payload(broken)
    assert not batch.identity_changes and "previous and current" in batch.rejects[0].reason


def test_sends_address_a_bsuid_with_recipient():
    body = payloads.text_message(BSUID, "Hallo")
    assert body["recipient"] == BSUID and "to" not in body
    assert payloads.template_message(PARENT, "promo", "de")["recipient"] == PARENT
    phone = payloads.text_message("+4915112345678", "Hallo")
    assert phone["to"] == "+4915112345678" and "recipient" not in phone


def test_receiver_files_a_phoneless_message_under_the_bsuid_until_the_phone_is_seen(tmp_path):
    """A username user's message is recorded under the BSUID; the next message shows the phone too,
    and both messages, the STOP and the service window end up under the phone (one customer)."""
    with receiver_client(tmp_path / "r.db") as client:
        body, headers = signed(INCOMING_USERNAME_ONLY)
        assert client.post("/webhook", content=body, headers=headers).status_code == 200
        first = [tuple(r) for r in client.store.query("SELECT phone, wa_id, user_id, username FROM inbound_messages")]
        body, headers = signed(INCOMING_BOTH)
        assert client.post("/webhook", content=body, headers=headers).status_code == 200
        rows = client.store.query("SELECT wamid, phone, user_id FROM inbound_messages ORDER BY timestamp")
        consent = client.store.query("SELECT phone, marketing FROM consent")
        windows = client.store.query("SELECT phone, last_inbound_at FROM service_windows")
        identity = client.store.query("SELECT wa_key, phone, bsuid, parent_bsuid, username FROM identities")
        rejects = client.store.query("SELECT field FROM webhook_rejects")
    assert first == [(BSUID, None, BSUID, "@sheena.nelson")]
    assert [tuple(r) for r in rows] == [
        ("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=", "+16505551234", BSUID),
        ("wamid.both1", "+16505551234", BSUID),
    ]
    assert [tuple(r) for r in consent] == [("+16505551234", 0)]
    assert [tuple(r) for r in windows] == [("+16505551234", 1744344497.0)]
    assert [tuple(r) for r in identity] == [("+16505551234", "+16505551234", BSUID, PARENT, "@sheena.nelson")]
    assert rejects == []
