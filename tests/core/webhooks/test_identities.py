"""Customer identities: a phone, a BSUID or both, one key per customer, merged when both are seen.

Real SQLite; the webhook payloads are Meta's documented BSUID examples (tests/test_bsuid_conformance.py)
posted to a real receiver on 127.0.0.1.
"""

import copy
import sqlite3

import pandas as pd
import pytest
from helpers.bsuid_payloads import (
    BSUID,
    INCOMING_USERNAME_ONLY,
    NEW_BSUID,
    PARENT,
    PREFERENCE_STOP,
    STATUS_DELIVERED_TO_BSUID,
    STATUS_FAILED_TO_PHONE,
    SYSTEM_CHANGED_NUMBER,
    USER_ID_UPDATE,
)
from helpers.webhook_payloads import receiver_client, signed

from wamkt_nb import ledger
from wamkt_nb.autoreply.engine import language_lookup
from wamkt_nb.compliance.reservation import reserve_marketing
from wamkt_nb.compliance.rules import window_open
from wamkt_nb.identities import apply_identity_change, customer_keys, merge_keys, resolve_identity
from wamkt_nb.store import open_store
from wamkt_nb.store.dialect import SQLITE
from wamkt_nb.store.migrations import known_migrations
from wamkt_nb.webhooks.consent import opted_out, record_consent
from wamkt_nb.webhooks.replies import queue_reply
from wamkt_nb.webhooks.windows import open_window

PHONE = "+16505551234"


@pytest.fixture
def store(store_target):
    with open_store(store_target) as s:
        yield s


def _resolve(store, **names):
    with store.transaction() as conn:
        return resolve_identity(conn, **names)


def _campaign(store, phone: str, cid: str = "c1", campaign_id: str = "cmpA") -> None:
    plan = pd.DataFrame(
        {
            "customer_id": [cid],
            "phone": [phone],
            "outcome": ["send"],
            "reason": [None],
            "category": ["marketing"],
            "message_type": ["text"],
            "body": ["Hallo"],
            "payload": [{"messaging_product": "whatsapp"}],
            "planned_at": [pd.Timestamp(1000, unit="s", tz="UTC")],
        }
    )
    ledger.create_campaign(store, plan, name="A", now=1000.0, campaign_id=campaign_id)


def test_the_key_is_the_phone_if_known_else_the_bsuid(store):
    assert _resolve(store, bsuid=BSUID, username="@sheena.nelson", at=1) == BSUID
    assert _resolve(store, phone="+4915112345678", at=2) == "+4915112345678"
    assert _resolve(store, bsuid=BSUID, parent_bsuid=PARENT, at=3) == BSUID  # the same customer again
    assert [
        tuple(r)
        for r in store.query("SELECT wa_key, phone, bsuid, parent_bsuid, username FROM identities ORDER BY wa_key")
    ] == [("+4915112345678", "+4915112345678", None, None, None), (BSUID, None, BSUID, PARENT, "@sheena.nelson")]
    with pytest.raises(ValueError, match="phone number or a business-scoped user ID"):
        _resolve(store)


def test_a_bsuid_seen_with_its_phone_moves_every_row_to_the_phone(store):
    """Consent, window, cap reservation, ledger rows, replies, tags and auto-reply log follow the customer."""
    key = _resolve(store, bsuid=BSUID, at=1)
    _campaign(store, key)
    assert reserve_marketing(store, key, "cmpA", 1000.0)
    with store.transaction() as conn:
        open_window(conn, key, 1000.0)
        record_consent(conn, key, False, 1000.0, "keyword")
        queue_reply(conn, phone=key, kind="auto", payload={"to": key}, phone_number_id="1", now=1000.0)
        conn.execute("INSERT INTO customer_tags (phone, tag, added_at, source) VALUES (?, 'vip', 1, 't')", (key,))
        conn.execute("INSERT INTO autoreply_log (wamid, phone, outcome, at) VALUES ('w1', ?, 'no_match', 1)", (key,))
    assert _resolve(store, phone=PHONE, bsuid=BSUID, at=2) == PHONE
    for table in (
        "sends",
        "consent",
        "service_windows",
        "marketing_reservations",
        "replies",
        "customer_tags",
        "autoreply_log",
    ):
        assert [r[0] for r in store.query(f"SELECT phone FROM {table}")] == [PHONE], table
    assert opted_out(store, PHONE) and window_open(store, PHONE, 1001.0)
    assert not reserve_marketing(store, PHONE, "cmpB", 1100.0)  # the 24 h cap holds across the merge


def test_two_recorded_customers_merge_keeping_the_newer_choice_and_the_later_window(store):
    _resolve(store, bsuid=BSUID, at=1)
    _resolve(store, phone=PHONE, at=1)
    with store.transaction() as conn:
        record_consent(conn, BSUID, False, 200.0, "keyword")  # the newer choice: stop
        record_consent(conn, PHONE, True, 100.0, "import")
        open_window(conn, BSUID, 50.0)
        open_window(conn, PHONE, 80.0)
        conn.execute("INSERT INTO customer_tags (phone, tag, added_at, source) VALUES (?, 'vip', 1, 't')", (BSUID,))
        conn.execute("INSERT INTO customer_tags (phone, tag, added_at, source) VALUES (?, 'vip', 2, 't')", (PHONE,))
    assert _resolve(store, phone=PHONE, bsuid=BSUID, at=300) == PHONE
    assert [tuple(r) for r in store.query("SELECT phone, marketing, changed_at, source FROM consent")] == [
        (PHONE, 0, 200.0, "keyword")
    ]
    assert [tuple(r) for r in store.query("SELECT * FROM service_windows")] == [(PHONE, 80.0)]
    assert [tuple(r) for r in store.query("SELECT phone, added_at FROM customer_tags")] == [(PHONE, 2.0)]
    assert [tuple(r) for r in store.query("SELECT wa_key, bsuid FROM identities")] == [(PHONE, BSUID)]


def test_merge_keys_of_a_key_onto_itself_changes_nothing(store):
    with store.transaction() as conn:
        record_consent(conn, PHONE, False, 1.0, "keyword")
        merge_keys(conn, PHONE, PHONE)
    assert opted_out(store, PHONE)


def test_audience_keys_follow_the_identities(store):
    """A customer imported with a BSUID alone is addressed by the phone once a webhook linked them."""
    _resolve(store, phone=PHONE, bsuid=BSUID, at=1)
    phones = pd.Series(["+4915112345678", None, None], dtype="string")
    bsuids = pd.Series([None, BSUID, NEW_BSUID], dtype="string")
    assert customer_keys(store, phones, bsuids).tolist() == ["+4915112345678", PHONE, NEW_BSUID]
    assert customer_keys(None, phones, bsuids).tolist() == ["+4915112345678", BSUID, NEW_BSUID]
    assert customer_keys(store, phones, None).fillna("").tolist() == ["+4915112345678", "", ""]


def _post(client, *payloads):
    for payload in payloads:
        body, headers = signed(payload)
        assert client.post("/webhook", content=body, headers=headers).status_code == 200


def test_a_user_preference_stop_from_a_bsuid_opts_the_customer_out(tmp_path):
    with receiver_client(tmp_path / "r.db") as client:
        _post(client, INCOMING_USERNAME_ONLY, PREFERENCE_STOP)
        assert opted_out(client.store, BSUID)
        assert client.store.query("SELECT source FROM consent")[0][0] == "user_preferences"
        assert client.store.query("SELECT COUNT(*) FROM webhook_rejects")[0][0] == 0


def test_user_id_update_moves_the_customer_to_the_new_bsuid(tmp_path):
    """``user_id_update`` names the phone and the previous and current BSUID: the identity keeps the
    phone as key and learns the new BSUID; a message from the new BSUID alone is the same customer."""
    with receiver_client(tmp_path / "r.db") as client:
        with client.store.transaction() as conn:
            resolve_identity(conn, phone="+15557654321", bsuid=BSUID, at=1)
        _post(client, USER_ID_UPDATE)
        assert [tuple(r) for r in client.store.query("SELECT wa_key, bsuid FROM identities")] == [
            ("+15557654321", NEW_BSUID)
        ]
        with client.store.transaction() as conn:
            assert resolve_identity(conn, bsuid=NEW_BSUID, at=2) == "+15557654321"


def test_a_bsuid_only_customer_whose_bsuid_changes_keeps_their_rows(tmp_path):
    with receiver_client(tmp_path / "r.db") as client:
        _post(client, INCOMING_USERNAME_ONLY)  # recorded under BSUID, window open
        with client.store.transaction() as conn:
            assert (
                apply_identity_change(conn, kind="user_id_update", at=5, previous_user_id=BSUID, user_id=NEW_BSUID)
                == NEW_BSUID
            )
        assert [r[0] for r in client.store.query("SELECT phone FROM inbound_messages")] == [NEW_BSUID]
        assert [r[0] for r in client.store.query("SELECT phone FROM service_windows")] == [NEW_BSUID]


def test_user_changed_number_moves_the_rows_to_the_new_number(tmp_path):
    with receiver_client(tmp_path / "r.db") as client:
        with client.store.transaction() as conn:
            resolve_identity(conn, phone="+15551234567", bsuid=BSUID, at=1)
            record_consent(conn, "+15551234567", False, 1.0, "keyword")
        _post(client, SYSTEM_CHANGED_NUMBER)
        assert [tuple(r) for r in client.store.query("SELECT wa_key, bsuid, parent_bsuid FROM identities")] == [
            ("+15557654321", NEW_BSUID, PARENT)
        ]
        assert opted_out(client.store, "+15557654321") and not opted_out(client.store, "+15551234567")


def test_a_bsuid_named_with_another_phone_moves_to_that_phone(store):
    """The webhook is the truth: the BSUID leaves the old phone's identity (whose rows stay there)."""
    _resolve(store, phone="+4915112345678", bsuid=BSUID, at=1)
    with store.transaction() as conn:
        record_consent(conn, "+4915112345678", False, 1.0, "keyword")
    assert _resolve(store, phone=PHONE, bsuid=BSUID, at=2) == PHONE
    assert [tuple(r) for r in store.query("SELECT wa_key, bsuid FROM identities ORDER BY wa_key")] == [
        (PHONE, BSUID),
        ("+4915112345678", None),
    ]
    assert opted_out(store, "+4915112345678") and not opted_out(store, PHONE)
    assert _resolve(store, bsuid=BSUID, at=3) == PHONE


def test_a_status_naming_phone_and_bsuid_links_them(tmp_path):
    """A status of a message sent to a phone names the recipient's BSUID too: the username user's
    later messages without a phone are found under the phone."""
    both = copy.deepcopy(STATUS_DELIVERED_TO_BSUID)
    both["entry"][0]["changes"][0]["value"]["statuses"][0]["recipient_id"] = "16505551234"
    with receiver_client(tmp_path / "r.db") as client:
        _post(client, STATUS_FAILED_TO_PHONE)  # no BSUID named: nothing to link
        assert client.store.query("SELECT COUNT(*) FROM identities")[0][0] == 0
        _post(client, both, INCOMING_USERNAME_ONLY)
        assert [
            tuple(r) for r in client.store.query("SELECT wa_key, bsuid, parent_bsuid, username FROM identities")
        ] == [(PHONE, BSUID, PARENT, "@sheena.nelson")]
        assert [tuple(r) for r in client.store.query("SELECT phone, wa_id FROM inbound_messages")] == [(PHONE, None)]
        assert (
            client.store.query("SELECT recipient_user_id FROM status_events WHERE wamid = 'wamid.out1'")[0][0] == BSUID
        )


def test_auto_reply_languages_know_bsuid_only_customers():
    language_of = language_lookup(
        pd.DataFrame({"phone": ["+491511234567", None], "bsuid": [None, BSUID], "language": ["de", "EN"]})
    )
    assert (language_of("+491511234567"), language_of(BSUID), language_of(NEW_BSUID)) == ("de", "en", None)


def test_a_database_from_before_identities_keeps_its_messages_and_views(tmp_path):
    """core/006 rebuilds inbound_messages (wa_id optional) and customers/002 recreates the views on it."""
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE schema_migrations (component TEXT NOT NULL, version INTEGER NOT NULL,"
        " name TEXT NOT NULL, applied_at REAL NOT NULL, PRIMARY KEY (component, version))"
    )
    for m in known_migrations():
        if (m.component, m.version) in {("core", 6), ("customers", 2)}:
            continue
        for statement in m.statements(SQLITE):
            conn.execute(statement)
        conn.execute("INSERT INTO schema_migrations VALUES (?, ?, ?, 0)", (m.component, m.version, m.name))
    conn.execute(
        "INSERT INTO inbound_messages (wamid, wa_id, phone, type, timestamp, payload_json, received_at)"
        " VALUES ('w1', '491511234567', '+491511234567', 'text', 5, '{}', 5)"
    )
    conn.execute("INSERT INTO customers (customer_id, phone) VALUES ('K1', '+491511234567')")
    conn.commit()
    conn.close()
    with open_store(path) as store:
        assert [tuple(r) for r in store.query("SELECT wamid, wa_id, phone, user_id FROM inbound_messages")] == [
            ("w1", "491511234567", "+491511234567", None)
        ]
        assert [tuple(r) for r in store.query("SELECT customer_id, kind, source FROM customer_interactions")] == [
            ("K1", "inbound", "webhook")
        ]
