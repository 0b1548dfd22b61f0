"""Auto-replies through the real HTTP receiver: reply sent in the background, cooldown, loop guard,
opt-out, handover, failures and recovery."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import pandas as pd
import pytest
from helpers.webhook_payloads import APP_SECRET, PHONE_NUMBER_ID, VERIFY_TOKEN, RecordingSender, inbound, signed

from wamkt_nb.autoreply import Rule, delete_rule, language_lookup, save_rule
from wamkt_nb.clock import ManualClock
from wamkt_nb.cloudapi import OutcomeUnknownError, ServerError
from wamkt_nb.serving.service import build_service
from wamkt_nb.store import open_store
from wamkt_nb.webhooks.consent import opted_out
from wamkt_nb.webhooks.replies import queue_reply
from wamkt_nb.webhooks.server import BackgroundServer

PHONE = "+4915112345678"


class Harness:
    def __init__(self, tmp_path, sender=None, **options):
        self.store = open_store(tmp_path / "w.db")
        self.clock = ManualClock(1_750_000_000)
        self.sender = sender or RecordingSender()
        self.service = build_service(
            self.store, self.sender, app_secret=APP_SECRET, verify_token=VERIFY_TOKEN, clock=self.clock, **options
        )
        self.server = BackgroundServer(self.service.asgi_app())
        self.url = self.server.start() + "/webhook"
        self.n = 0

    def say(self, text, wa_id="4915112345678"):
        self.n += 1
        body, headers = signed(inbound(wa_id=wa_id, text=text, wamid=f"wamid.in{self.n}", ts=self.clock.now()))
        resp = httpx.post(self.url, content=body, headers=headers)
        assert resp.status_code == 200
        return f"wamid.in{self.n}"

    def outcome(self, wamid, timeout=30.0):
        deadline = time.monotonic() + timeout
        while True:
            row = self.store.query(
                "SELECT l.outcome, r.state, r.latency_ms, r.wamid, r.error_title FROM autoreply_log l"
                " LEFT JOIN replies r USING (reply_id) WHERE l.wamid = ?",
                (wamid,),
            )
            if row and row[0]["state"] != "queued" or time.monotonic() > deadline:
                return dict(row[0]) if row else None
            time.sleep(0.01)

    def close(self):
        self.server.stop()
        self.store.close()


@pytest.fixture
def harness(tmp_path):
    h = Harness(tmp_path)
    yield h
    h.close()


def test_rabatt_gets_the_discount_code(harness):
    wamid = harness.say("Rabatt?")
    result = harness.outcome(wamid)
    assert result["outcome"] == "replied" and result["state"] == "accepted"
    assert result["wamid"] == "wamid.reply1" and result["latency_ms"] > 0
    [(number, payload)] = harness.sender.sent
    assert number == PHONE_NUMBER_ID and payload["to"] == PHONE and "WILLKOMMEN10" in payload["text"]["body"]


def test_redelivered_webhook_replies_once(harness):
    body, headers = signed(inbound(text="Rabatt", wamid="wamid.same", ts=harness.clock.now()))
    for _ in range(3):
        assert httpx.post(harness.url, content=body, headers=headers).status_code == 200
    harness.outcome("wamid.same")
    time.sleep(0.2)
    assert len(harness.sender.sent) == 1


def test_cooldown_and_opt_out_confirmation(harness):
    harness.outcome(harness.say("Rabatt"))
    assert harness.outcome(harness.say("Rabatt"))["outcome"] == "cooldown"
    stop = harness.outcome(harness.say("STOP"))  # confirmations are not held back by the cooldown
    assert stop["outcome"] == "replied" and opted_out(harness.store, PHONE)
    harness.clock.advance(61)
    assert harness.outcome(harness.say("Lieferzeit?"))["outcome"] == "replied"
    assert len(harness.sender.sent) == 3


def test_two_bots_cannot_loop(harness):
    """Another bot answering every reply with a keyword gets at most max_per_hour answers an hour."""
    outcomes = []
    for _ in range(20):
        outcomes.append(harness.outcome(harness.say("Rabatt"))["outcome"])
        harness.clock.advance(61)
    assert outcomes.count("replied") == 5 and outcomes[5:].count("hourly_cap") >= 10


def test_handover_tag_and_no_match(harness):
    save_rule(harness.store, Rule("ja", "ja", match_type="exact", action="tag", tag="interested"))
    assert harness.outcome(harness.say("Ich möchte einen Mitarbeiter sprechen"))["outcome"] == "replied"
    assert harness.outcome(harness.say("JA"))["outcome"] == "no_reply"
    assert harness.outcome(harness.say("Wie geht's?"))["outcome"] == "no_match"
    assert harness.store.query("SELECT tag FROM customer_tags WHERE phone = ?", (PHONE,))[0][0] == "interested"
    actions = [r[0] for r in harness.store.query("SELECT action FROM autoreply_log ORDER BY wamid")]
    assert actions == ["handover", "tag", None]


def test_send_failure_is_recorded_and_webhook_still_200(tmp_path):
    h = Harness(tmp_path, sender=RecordingSender(fail_with=ServerError("(#131000) Something went wrong", 131000)))
    try:
        result = h.outcome(h.say("Rabatt"))
        assert result["state"] == "failed" and "131000" in result["error_title"]
    finally:
        h.close()


def test_reply_failure_that_echoes_a_secret_is_stored_scrubbed(tmp_path):
    echo = RuntimeError(f"refused: Authorization: Bearer abcdefgh12345678, app secret {APP_SECRET}")
    h = Harness(tmp_path, sender=RecordingSender(fail_with=echo))
    try:
        title = h.outcome(h.say("Rabatt"))["error_title"]
        assert title.startswith("refused:") and "abcdefgh12345678" not in title and APP_SECRET not in title
    finally:
        h.close()


def test_queued_replies_are_recovered_on_start(tmp_path):
    store = open_store(tmp_path / "w.db")
    now = time.time()
    with store.transaction() as conn:
        fresh = queue_reply(
            conn,
            phone=PHONE,
            kind="auto",
            payload={"type": "text", "to": PHONE, "text": {"body": "a"}},
            phone_number_id=PHONE_NUMBER_ID,
            now=now - 10,
        )
        stale = queue_reply(
            conn,
            phone=PHONE,
            kind="auto",
            payload={"type": "text", "to": PHONE, "text": {"body": "b"}},
            phone_number_id=PHONE_NUMBER_ID,
            now=now - 3600,
        )
    sender = RecordingSender()
    service = build_service(store, sender, app_secret=APP_SECRET, verify_token=VERIFY_TOKEN)

    async def run():
        await service.start()
        await service.dispatcher.drain()
        await service.stop()

    asyncio.run(run())
    states = dict(store.query("SELECT reply_id, state FROM replies"))
    assert states == {fresh: "accepted", stale: "failed"}
    assert [p["text"]["body"] for _, p in sender.sent] == ["a"]
    store.close()


def test_a_failing_language_lookup_never_loses_the_message(tmp_path):
    def broken(phone):
        raise KeyError(phone)

    h = Harness(tmp_path, language_of=broken)
    try:
        wamid = h.say("Rabatt")
        assert h.store.query("SELECT count(*) FROM inbound_messages WHERE wamid = ?", (wamid,))[0][0] == 1
        assert h.store.query("SELECT count(*) FROM autoreply_log")[0][0] == 0
        assert h.store.query("SELECT count(*) FROM service_windows")[0][0] == 1
    finally:
        h.close()


def test_rule_changes_from_another_connection_apply_at_once(harness):
    assert "WILLKOMMEN10" in _reply_text(harness, "Rabatt")
    other = open_store(harness.store.target)  # e.g. the rule editor in a notebook kernel
    save_rule(other, Rule("rabatt", "rabatt", reply_text="Neu: HERBST20", priority=50))
    harness.clock.advance(61)
    assert _reply_text(harness, "Rabatt") == "Neu: HERBST20"

    delete_rule(other, "rabatt")
    harness.clock.advance(61)
    assert harness.outcome(harness.say("Rabatt"))["outcome"] == "no_match"
    other.close()


def _reply_text(harness, text):
    harness.outcome(harness.say(text))
    return harness.sender.sent[-1][1]["text"]["body"]


def test_rule_languages_follow_the_customer(tmp_path):
    customers = pd.DataFrame({"phone": [PHONE, "+447700900123"], "language": ["de", "EN"]})
    h = Harness(tmp_path, language_of=language_lookup(customers))
    try:
        save_rule(
            h.store,
            Rule("discount_en", "rabatt, discount", reply_text="Your code: WELCOME10", priority=1, languages=("en",)),
        )
        assert "WILLKOMMEN10" in _reply_text(h, "Rabatt")
        h.outcome(h.say("discount?", wa_id="447700900123"))
        assert h.sender.sent[-1][1]["to"] == "+447700900123"
        assert h.sender.sent[-1][1]["text"]["body"] == "Your code: WELCOME10"
    finally:
        h.close()


class FlakySender(RecordingSender):
    """Fails the first ``failures`` sends with the given error, then works."""

    def __init__(self, error, failures=1):
        super().__init__()
        self.error, self.failures, self.calls = error, failures, 0

    async def send_message(self, phone_number_id, payload):
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return await super().send_message(phone_number_id, payload)


def test_transient_error_retried_within_budget(tmp_path):
    h = Harness(tmp_path, sender=FlakySender(ServerError("(#131000) Something went wrong", 131000)))
    try:
        result = h.outcome(h.say("Rabatt"))
        assert (
            result["state"] == "accepted" and h.sender.calls == 2 and result["latency_ms"] >= 500
        )  # one 0.5 s back-off
    finally:
        h.close()


def test_outcome_unknown_is_not_retried(tmp_path):
    h = Harness(tmp_path, sender=FlakySender(OutcomeUnknownError("no answer within 10s")))
    try:
        result = h.outcome(h.say("Rabatt"))
        assert result["state"] == "failed" and h.sender.calls == 1  # a retry could deliver the reply twice
    finally:
        h.close()


class HeldSender(RecordingSender):
    """Sends only once the test lets it (a Cloud API that answers slowly)."""

    def __init__(self):
        super().__init__()
        self.release = threading.Event()

    async def send_message(self, phone_number_id, payload):
        while not self.release.is_set():
            await asyncio.sleep(0.01)
        return await super().send_message(phone_number_id, payload)


def test_webhook_answers_before_the_reply_is_sent(tmp_path):
    h = Harness(tmp_path, sender=HeldSender())
    try:
        wamid = h.say("Rabatt")  # returns with 200 while the reply is still held
        queued = h.store.query(
            "SELECT r.state FROM replies r JOIN autoreply_log l USING (reply_id) WHERE l.wamid = ?", (wamid,)
        )
        assert queued[0][0] == "queued"  # recorded durably before the 200, sent afterwards
        h.sender.release.set()
        assert h.outcome(wamid)["state"] == "accepted"
    finally:
        h.close()
