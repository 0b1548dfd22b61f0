"""The sandbox's core, without HTTP: accept or refuse a send, then play the message's life in simulated time.

Every accepted message gets its fate decided once (seeded), as events on a time-ordered queue:
status updates, the customer's reply, a conversion. ``run_due`` plays the events whose time has
come and hands the webhook ``changes`` to a sink (the emitter).
"""

from __future__ import annotations

import base64
import heapq
import itertools
import random
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import orjson

from ..clock import Clock
from ..links.urls import tracked_links
from ..pricing.card import free_in_window
from . import behaviour as bm
from .config import SandboxConfig
from .customers import SimCustomer
from .draws import NamedDraws
from .errors import SandboxError, unknown_object, webhook_error
from .limits import PairLimiter, PerUserLimit, PortfolioLimit, TokenBucket
from .marketing_api import ENDPOINT as MARKETING_ENDPOINT
from .marketing_api import check_marketing_send, lite_pricing
from .media import MediaStore
from .quality import QualityMonitor
from .requestlog import RequestLog
from .templates import TemplateStore
from .validate import Outgoing, validate_message

Sink = Callable[[list[dict[str, Any]]], None]
Clicker = Callable[[list[tuple[str, str]]], None]
"""Follows links as (url, client) pairs, client "person" or "preview" (see ``sandbox.clicks``)."""


def make_wamid(wa_id: str, n: int) -> str:
    """An id shaped like Meta's (``wamid.`` + base64 of the recipient and a counter)."""
    raw = f"\x15\x02\x00\x11\x18\x0c{wa_id}\x15\x02\x00\x12\x18\x12{n:018X}\x00".encode()
    return "wamid." + base64.b64encode(raw).decode()


class Engine:
    """State, limits and the event queue of one sandbox account; thread-safe."""

    def __init__(
        self,
        config: SandboxConfig,
        params: bm.BehaviourParams,
        clock: Clock,
        customers: dict[str, SimCustomer],
        templates: TemplateStore,
        sink: Sink,
        log_limit: int = 100_000,
        media: MediaStore | None = None,
        clicker: Clicker | None = None,
    ) -> None:
        self.config = config
        self.clicker = clicker
        self._media_type = media.mime_type if media is not None else None  # checks sends' media ids
        self.params = params
        self.clock = clock
        self.customers = customers
        self._by_user_id = _by_user_id(customers)
        self.templates = templates
        self.sink = sink
        self.lock = threading.RLock()
        self.received = RequestLog(log_limit)
        self.messages: dict[str, dict[str, Any]] = {}
        self.conversions: list[dict[str, Any]] = []
        self.counters: Counter[str] = Counter()
        self._events: list[tuple[float, int, Callable[..., None], tuple[Any, ...]]] = []
        self._seq = itertools.count()
        self._wamids = itertools.count(1)
        self._contacts: dict[tuple[str, bool, bool | None], dict[str, Any]] = {}
        self._metadatas: dict[tuple[str, str], dict[str, str]] = {}
        self._reset_limits()

    def _reset_limits(self) -> None:
        self._messages_to: Counter[str] = Counter()
        self._leaves_at: dict[str, float] = {}
        self._throughput: dict[str, TokenBucket] = {}
        """Each business number's own throughput bucket (Meta's limit is per number)."""
        self._pair = PairLimiter(self.config.pair_interval, self.config.pair_burst)
        self._tier = PortfolioLimit()
        self._marketing = PerUserLimit()
        self.quality = QualityMonitor(self.config.quality_rules)

    def reset(self, customers: dict[str, SimCustomer]) -> None:
        """Forget messages, logs, counters and events; start over with ``customers``."""
        with self.lock:
            self.customers = customers
            self._by_user_id = _by_user_id(customers)
            self._contacts.clear()
            self.received.clear()
            self.messages.clear()
            self.conversions.clear()
            self.counters.clear()
            self._events.clear()
            self._reset_limits()

    # -- sending -----------------------------------------------------------------------------------

    def send(self, phone_number_id: str, raw: bytes, endpoint: str = "messages") -> tuple[int, bytes]:
        """Handle ``POST /{phone_number_id}/messages`` (or ``/marketing_messages``): (HTTP status, response JSON bytes).

        The log keeps raw bytes (one untracked object per request), so a long run adds no GC work.
        """
        now = self.clock.now()
        try:
            body = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            body = raw[:200].decode("utf-8", "replace")
        with self.lock:
            try:
                result = self._send(phone_number_id, body, now, endpoint)
                status = 200
            except SandboxError as err:
                result, status = err.envelope(), err.http_status
                self.counters[f"error_{err.code}"] += 1
            answer = orjson.dumps(result)
            self.counters["requests"] += 1
            self.received.append(now, phone_number_id, raw, status, answer)
        return status, answer

    def received_log(self) -> list[dict[str, Any]]:
        """The request log decoded: time, phone number id, body, HTTP status, response."""
        with self.lock:
            rows = list(self.received)
        return [
            {
                "at": at,
                "phone_number_id": pnid,
                "body": _decode(raw),
                "http_status": status,
                "response": orjson.loads(answer),
            }
            for at, pnid, raw, status, answer in rows
        ]

    def _send(self, phone_number_id: str, body: Any, now: float, endpoint: str = "messages") -> dict[str, Any]:
        cfg = self.config
        if phone_number_id not in cfg.phone_numbers:
            raise unknown_object("post", phone_number_id)
        if isinstance(body, str):
            raise SandboxError(100, f"Request body is not valid JSON: {body[:80]!r}")
        msg = validate_message(body, self.templates, cfg.display_phone_number, self._media_type)
        addressed = self._customer(msg.wa_id)
        if addressed is not None:  # a BSUID send reaches the same customer (and limits) as a phone send
            msg.wa_id = addressed.key
        if endpoint == MARKETING_ENDPOINT:
            check_marketing_send(body, msg)
        bucket = self._throughput.get(phone_number_id)
        if bucket is None or bucket.rate != cfg.throughput_per_second:
            bucket = self._throughput[phone_number_id] = TokenBucket(cfg.throughput_per_second)
        if not bucket.take(now):
            raise SandboxError(
                130429, "Cloud API message throughput has been reached.", http_status=cfg.throughput_http_status
            )
        self._pair.interval, self._pair.burst = cfg.pair_interval, cfg.pair_burst
        if not self._pair.take(msg.wa_id, now):
            raise SandboxError(
                131056,
                "Message failed to send because there were too many messages sent from "
                "this phone number to the same phone number in a short period of time.",
            )
        return self._accept(msg, now, phone_number_id, endpoint)

    def _accept(self, msg: Outgoing, now: float, phone_number_id: str, endpoint: str) -> dict[str, Any]:
        wamid = make_wamid(msg.wa_id, next(self._wamids))
        customer = self.customers.get(msg.wa_id)
        record = {
            "wamid": wamid,
            "wa_id": msg.wa_id,
            "customer_id": customer.customer_id if customer else None,
            "by_user_id": msg.by_user_id,
            "kind": msg.kind,
            "category": msg.category,
            "template": msg.template_name,
            "text": msg.text,
            "callback_data": msg.callback_data,
            "accepted_at": now,
            "status": "accepted",
            "error_code": None,
            "phone_number_id": phone_number_id,
            "endpoint": endpoint,
        }
        self.messages[wamid] = record
        self.counters["accepted"] += 1
        key = self._message_key(msg.wa_id)
        rng = NamedDraws(key)
        # A customer's messages leave in the order they were accepted (Meta's per-user limits count
        # them in that order), each a short random delay after the request or the one before.
        leaves = max(now + rng.uniform(*self.params.sent_delay), self._leaves_at.get(msg.wa_id, 0.0))
        self._leaves_at[msg.wa_id] = leaves
        self._schedule(leaves, Engine._decide, (msg, record, rng, key))
        # Meta answers a BSUID send with contacts[].user_id and no wa_id (docs/cloud-api.md).
        contact = {"input": msg.to, "user_id": msg.to} if msg.by_user_id else {"input": msg.to, "wa_id": msg.wa_id}
        response: dict[str, Any] = {"messaging_product": "whatsapp", "contacts": [contact], "messages": [{"id": wamid}]}
        if msg.is_template and endpoint != MARKETING_ENDPOINT:  # Meta's /marketing_messages example has none
            response["messages"][0]["message_status"] = "accepted"
        return response

    # -- the message's life --------------------------------------------------------------------------

    def _schedule(self, at: float, action: Callable[..., None], args: tuple[Any, ...] = ()) -> None:
        """Call ``action(self, *args)`` at ``at``: an Engine function and its arguments, no closure or
        bound method per event (events wait in the queue for hours of simulated time)."""
        heapq.heappush(self._events, (at, next(self._seq), action, args))

    def run_due(self, now: float | None = None) -> int:
        """Play every event due by ``now`` (default: the clock); returns how many ran."""
        now = self.clock.now() if now is None else now
        changes: list[dict[str, Any]] = []
        clicks: list[tuple[str, str]] = []
        ran = 0
        with self.lock:
            self._changes, self._clicks = changes, clicks
            while self._events and self._events[0][0] <= now:
                at, _, action, args = heapq.heappop(self._events)
                self._at = at
                action(self, *args)
                ran += 1
            for t in self.templates.review_due(now):
                changes.append(_template_change(t, now))
        if changes:
            self.sink(changes)
        if clicks and self.clicker is not None:  # HTTP outside the lock: the redirect may be served in-process
            self.clicker(clicks)
        return ran

    def next_event_at(self) -> float | None:
        with self.lock:
            return self._events[0][0] if self._events else None

    def _metadata(self, phone_number_id: str | None = None) -> dict[str, str]:
        """``value.metadata`` of a webhook, one read-only dict per (display number, phone number id)."""
        key = (self.config.display_phone_number, phone_number_id or self.config.phone_number_id)
        metadata = self._metadatas.get(key)
        if metadata is None:
            metadata = self._metadatas[key] = {"display_phone_number": key[0], "phone_number_id": key[1]}
        return metadata

    def _status(
        self,
        record: dict[str, Any],
        status: str,
        pricing: dict[str, Any] | None = None,
        error: tuple[int, str] | None = None,
    ) -> None:
        at, by_user_id, wa_id = self._at, record["by_user_id"], record["wa_id"]
        item: dict[str, Any] = {"id": record["wamid"], "status": status, "timestamp": str(int(at))}
        customer = self.customers.get(wa_id)
        value: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "metadata": self._metadata(record.get("phone_number_id")),
        }
        # Sent to a phone: the phone is ours to see; sent to a BSUID: only if Meta may share it.
        phone = not by_user_id or (customer is not None and customer.shares_phone)
        if phone:
            item["recipient_id"] = customer.wa_id if customer is not None and customer.wa_id else wa_id
        user_id = customer.user_id if customer is not None else (wa_id if by_user_id else None)
        if user_id and (status != "failed" or by_user_id):  # failed: only for a BSUID send
            item["recipient_user_id"] = user_id
        if customer is not None and status != "failed":
            value["contacts"] = [self._contact(customer, status in ("delivered", "read"), phone)]
        if record["callback_data"] is not None:
            item["biz_opaque_callback_data"] = record["callback_data"]
        if pricing is not None:
            item["pricing"] = pricing
        if error is not None:
            item["errors"] = [webhook_error(*error)]
            record["error_code"] = error[0]
        record["status"] = status
        record[status + "_at"] = at
        self.counters["status_" + status] += 1
        value["statuses"] = [item]
        self._changes.append({"field": "messages", "value": value})

    def _contact(self, customer: SimCustomer, username: bool = True, phone: bool | None = None) -> dict[str, Any]:
        """The customer's ``contacts[]`` entry (see :func:`_contact`), built once per variant: every
        webhook about a customer carries one, and its identity never changes. Read-only: it is shared."""
        key = (customer.key, username, phone)
        contact = self._contacts.get(key)
        if contact is None:
            contact = self._contacts[key] = _contact(customer, username, phone)
        return contact

    def _scale(self, now: float) -> None:
        """Meta's automatic scaling of the portfolio's limit; an upgrade waits ``limit_upgrade_hours``."""
        cfg = self.config
        if not cfg.automatic_scaling:
            return
        waiting = self._tier.upgrade_at
        higher = self._tier.upgrade(
            cfg.messaging_tier, now, cfg.quality_rating != "RED", cfg.limit_upgrade_hours * 3600
        )
        if higher is not None:
            cfg.messaging_tier = higher
            self.counters["limit_upgrades"] += 1
        elif self._tier.upgrade_at is not None and waiting is None:
            self._schedule(self._tier.upgrade_at, Engine._scale_at_event)

    def _scale_at_event(self) -> None:
        self._scale(self._at)

    def _fail(self, record: dict[str, Any], code: int, details: str) -> None:
        self._status(record, "failed", error=(code, details))

    def _message_key(self, wa_id: str) -> str:
        """The seed of the customer's next message's draws: (seed, customer, how many messages the
        customer got before), so a customer's fate does not depend on which other customers'
        requests or events came first (concurrent sends arrive in any order). The message's button
        taps draw from a second stream of the same key (made only for a message with buttons to tap), so
        buttons leave the other draws as they were."""
        nth = self._messages_to[wa_id]
        self._messages_to[wa_id] += 1
        return f"{self.config.seed}:{wa_id}:message {nth}"

    def _decide(self, msg: Outgoing, record: dict[str, Any], rng: NamedDraws, key: str) -> None:
        """Sent or failed, and if sent: delivered, read, reply and conversion, each at its time."""
        cfg, p, now = self.config, self.params, self._at
        if msg.media_error is not None:
            return self._fail(record, 131053, msg.media_error)
        customer = self.customers.get(msg.wa_id)
        if customer is None or not customer.on_whatsapp or customer.blocked:
            return self._fail(record, 131026, "Message Undeliverable.")
        window = customer.window_open(now, cfg.service_window_hours)
        if not msg.is_template and not window:
            return self._fail(
                record,
                131047,
                "Message failed to send because more than 24 hours have passed "
                "since the customer last replied to this number.",
            )
        marketing = msg.category == "marketing"
        if marketing and customer.marketing_stopped:
            return self._fail(
                record,
                131050,
                "Unable to deliver the message. This recipient has chosen to stop "
                "receiving marketing messages on WhatsApp from your business.",
            )
        if marketing and cfg.block_us_marketing and (msg.wa_id.startswith("1") or msg.wa_id.startswith("US.")):
            return self._fail(record, 131049, "Marketing template messages are not delivered to +1 (US) numbers.")
        if marketing and not self._marketing.admit(msg.wa_id, now, cfg.marketing_per_user_24h):
            return self._fail(
                record,
                131049,
                "In order to maintain a healthy ecosystem engagement, the message failed to be delivered.",
            )
        if not window and not self._tier.admit(msg.wa_id, now, cfg.tier_limit):
            return self._fail(
                record,
                cfg.tier_exceeded_code,
                f"The business portfolio's messaging limit {cfg.messaging_tier} is reached: "
                "too many unique users in 24 hours.",
            )
        if not window:
            self._scale(now)
        pricing = _pricing(msg, window, now)
        if record["endpoint"] == MARKETING_ENDPOINT:
            pricing = lite_pricing(pricing)
        self._status(record, "sent", pricing)
        customer.counts["received"] = customer.counts.get("received", 0) + 1
        if rng.random() >= bm.delivery_probability(msg.media_kind, p):
            return
        t_delivered = now + rng.uniform(*p.delivered_delay)
        emit = rng.random() >= p.delivered_webhook_missing
        self._schedule(t_delivered, Engine._delivered, (msg, record, pricing, emit))
        links = tracked_links(msg.text)
        if links and p.fetch_link_previews:
            self._schedule(t_delivered, Engine._preview, (links,))
        read_uplift = bm.variant_key_uplift(p.variant_read_uplift, msg.template_name, msg.callback_data)
        scores = customer.scores(p)
        p_read = bm.read_probability(
            customer.features, msg.text, customer.local_hour(t_delivered), p, read_uplift, scores
        )
        mood = self._mood(msg.wa_id, now)
        if (rng.random() if mood is None else mood) >= p_read:
            return
        t_read = t_delivered + rng.expovariate(1.0 / p.read_delay_mean)
        self._schedule(t_read, Engine._read, (customer, record, pricing))
        if links and rng.random() < bm.click_probability(p):
            url = rng.choice(links)
            self._schedule(t_read + rng.uniform(*p.click_delay), Engine._click, (url,))
        if msg.button_urls or msg.coupon_code:
            self._buttons(msg, record, t_read, NamedDraws(f"{key}:buttons"))
        p_reply = (
            bm.tap_probability(msg.category, p)
            if msg.quick_replies
            else bm.reply_probability(customer.features, msg.text, msg.category, p)
        )
        if rng.random() < p_reply:
            self._schedule(t_read + bm.sample_reply_delay(rng, p), Engine._reply, (customer, msg, record, rng))
        if rng.random() < bm.block_probability(customer.features, msg.category, p):
            self._schedule(t_read + rng.uniform(30.0, 600.0), Engine._block, (customer, msg))
            return
        uplift = bm.variant_key_uplift(p.variant_uplift, msg.template_name, msg.callback_data)
        p_order = bm.conversion_probability(customer.features, msg.category, p, uplift, scores)
        if (rng.random() < p_order) if mood is None else (mood < p_read * p_order):
            amount = bm.sample_order_value(customer.features, rng, p)
            self._schedule(t_read + rng.uniform(*p.conversion_delay), Engine._convert, (customer, record, amount))

    def _buttons(self, msg: Outgoing, record: dict[str, Any], t_read: float, taps: NamedDraws) -> None:
        """A reader follows a URL button (a click when its address is a tracked link; Meta reports
        no URL taps) or copies the coupon code (Meta reports nothing: only counted here)."""
        p = self.params
        tracked = [url for url in msg.button_urls if tracked_links(url)]
        if tracked and taps.random() < bm.click_probability(p):
            url = taps.choice(tracked)
            self._schedule(t_read + taps.uniform(*p.click_delay), Engine._click, (url,))
        if msg.coupon_code and taps.random() < bm.copy_code_probability(p):
            self._schedule(t_read + taps.uniform(*p.click_delay), Engine._copy_code, (record,))

    def _copy_code(self, record: dict[str, Any]) -> None:
        self.counters["coupon_copies"] += 1
        record["coupon_copied_at"] = self._at

    def _mood(self, wa_id: str, now: float) -> float | None:
        """The customer's shared draw for messages sent at ``now`` (``BehaviourParams.shared_draws_days``
        and ``shared_draws_strata``), or None for independent draws from the message's stream.

        One uniform u decides both: read if u < read chance, order if u < read chance × order chance
        (so P(order | read) is the order chance, as with two draws). Period k of a block of
        ``strata`` periods takes u = (slot + v) / strata, the slots a random order of 0..strata-1
        per customer and block, v uniform: every u is uniform, and over a block each slice of
        [0, 1) comes once (Latin hypercube sampling)."""
        days, strata = self.params.shared_draws_days, max(1, self.params.shared_draws_strata)
        if days <= 0:
            return None
        period = int(now // (days * 86_400.0))
        block, slot = divmod(period, strata)
        slots = random.Random(f"{self.config.seed}:{wa_id}:block {block}").sample(range(strata), strata)
        return (slots[slot] + random.Random(f"{self.config.seed}:{wa_id}:{period}").random()) / strata

    def _delivered(self, msg: Outgoing, record: dict[str, Any], pricing: dict[str, Any], emit: bool) -> None:
        if msg.template_name:
            self.quality.delivered(msg.template_name, self._at)
        if emit:
            self._status(record, "delivered", pricing)
        else:
            record["delivered_at"] = self._at

    def _block(self, customer: SimCustomer, msg: Outgoing) -> None:
        """The customer blocks the business: nothing reaches them any more, and quality suffers."""
        customer.blocked = True
        self.counters["blocked"] += 1
        self._negative(msg)

    def _negative(self, msg: Outgoing) -> None:
        """A block or STOP after a template: rate the number and maybe pause the template."""
        if msg.template_name is None or msg.template_language is None:
            return
        verdict = self.quality.negative(msg.template_name, self._at)
        self.config.quality_rating = self.quality.rating(self._at)
        template = self.templates.find(msg.template_name, msg.template_language)
        if template is None:
            return
        score = self.quality.rating(self._at, msg.template_name)
        previous = self.templates.set_quality(template["id"], score, self._at)
        if previous is not None:
            self._changes.append(_quality_change(template, previous, score, self._at))
        if verdict is None:
            return
        changed = self.templates.set_status(template["id"], verdict, "LOW_QUALITY")
        self._changes.append(_template_change(changed, self._at))
        if verdict == "PAUSED":
            self._schedule(self._at + self.quality.pause_seconds(msg.template_name), Engine._unpause, (template["id"],))

    def _unpause(self, template_id: str) -> None:
        if (self.templates.get(template_id) or {}).get("status") == "PAUSED":
            self._changes.append(_template_change(self.templates.set_status(template_id, "APPROVED"), self._at))

    def _read(self, customer: SimCustomer, record: dict[str, Any], pricing: dict[str, Any]) -> None:
        customer.counts["read"] = customer.counts.get("read", 0) + 1
        self._status(record, "read", pricing)

    def _preview(self, links: list[str]) -> None:
        """The messaging app fetches each link's preview when the message arrives."""
        self._clicks.extend((url, "preview") for url in links)

    def _click(self, url: str) -> None:
        self.counters["link_clicks"] += 1
        self._clicks.append((url, "person"))

    def _reply(self, customer: SimCustomer, msg: Outgoing, record: dict[str, Any], rng: NamedDraws) -> None:
        context = {"from": self.config.display_phone_number, "id": record["wamid"]}
        if msg.buttons:
            bid, title = rng.choice(msg.buttons)
            content = {
                "type": "interactive",
                "interactive": {"type": "button_reply", "button_reply": {"id": bid, "title": title}},
            }
        elif msg.quick_replies:
            payload, label = rng.choice(msg.quick_replies)
            content = {"type": "button", "button": {"payload": payload, "text": label}}
        else:
            content = {"type": "text", "text": {"body": bm.sample_reply_text(rng, self.params)}}
        self._inbound(customer, content, context)
        if content.get("text", {}).get("body", "").strip().upper() == "STOP":
            self._negative(msg)

    def _convert(self, customer: SimCustomer, record: dict[str, Any], amount: float) -> None:
        customer.counts["orders"] = customer.counts.get("orders", 0) + 1
        self.counters["conversions"] += 1
        self.conversions.append(
            {
                "order_id": f"SBX-{len(self.conversions) + 1:07d}",
                "customer_id": customer.customer_id,
                "phone": customer.phone,
                "at": self._at,
                "amount": amount,
                "currency": "EUR",
                "source": "sandbox",
                "wamid": record["wamid"],
                "callback_data": record["callback_data"],
                "template": record["template"],
            }
        )

    def _inbound(self, customer: SimCustomer, content: dict[str, Any], context: dict[str, str] | None) -> str:
        wamid = make_wamid(customer.key, next(self._wamids))
        message: dict[str, Any] = {"from": customer.wa_id} if customer.shares_phone else {}
        message.update({"from_user_id": customer.user_id, "id": wamid, "timestamp": str(int(self._at))})
        if context:
            message["context"] = context
        message.update(content)
        customer.last_inbound_at = self._at
        customer.counts["replies"] = customer.counts.get("replies", 0) + 1
        self.counters["inbound"] += 1
        self._changes.append(
            {
                "field": "messages",
                "value": {
                    "messaging_product": "whatsapp",
                    "metadata": self._metadata(),
                    "contacts": [self._contact(customer)],
                    "messages": [message],
                },
            }
        )
        text = content.get("text", {}).get("body", "") if content.get("type") == "text" else ""
        if text.strip().upper() == "STOP" and not customer.marketing_stopped:
            customer.marketing_stopped = True
            self._changes.append(
                {
                    "field": "user_preferences",
                    "value": {
                        "messaging_product": "whatsapp",
                        "metadata": self._metadata(),
                        "contacts": [self._contact(customer)],
                        "user_preferences": [
                            {
                                **_ids(customer),
                                "detail": "User requested to stop marketing messages",
                                "category": "marketing_messages",
                                "value": "stop",
                                "timestamp": int(self._at),
                            }
                        ],
                    },
                }
            )
        return wamid

    def inject_inbound(self, who: str, text: str, at: float | None = None, reply_to: str | None = None) -> str:
        """A customer (phone, wa_id or customer_id) writes ``text`` now; returns the inbound wamid."""
        with self.lock:
            customer = self.find_customer(who)
            at = self.clock.now() if at is None else at
            changes: list[dict[str, Any]] = []
            self._changes, self._at = changes, at
            context = {"from": self.config.display_phone_number, "id": reply_to} if reply_to else None
            wamid = self._inbound(customer, {"type": "text", "text": {"body": text}}, context)
        self.sink(changes)
        return wamid

    def set_template_status(self, template_id: str, status: str, reason: str | None = None) -> dict[str, Any]:
        """Pause, disable or re-approve a template and emit ``message_template_status_update``."""
        if status not in ("APPROVED", "PAUSED", "DISABLED", "REJECTED", "PENDING"):
            raise ValueError(f"unknown template status {status!r}")
        if self.templates.get(template_id) is None:
            raise KeyError(f"no template with id {template_id!r}")
        template = self.templates.set_status(template_id, status, reason)
        self.sink([_template_change(template, self.clock.now())])
        return template

    def _customer(self, key: str) -> SimCustomer | None:
        """The customer filed under ``key`` (phone digits or BSUID), or whose BSUID ``key`` is."""
        return self.customers.get(key) or self._by_user_id.get(key)

    def find_customer(self, who: str) -> SimCustomer:
        customer = self._customer(str(who).lstrip("+"))
        if customer is not None:
            return customer
        for c in self.customers.values():
            if c.customer_id == who:
                return c
        raise KeyError(f"no simulated customer with phone or id {who!r}")


def _by_user_id(customers: dict[str, SimCustomer]) -> dict[str, SimCustomer]:
    return {c.user_id: c for c in customers.values() if c.user_id}


def _ids(customer: SimCustomer, phone: bool | None = None) -> dict[str, str]:
    """The customer's identifiers as Meta puts them in webhooks: the phone only when it may be shared
    (``phone``; default: unless the customer is a username user)."""
    shared = customer.shares_phone if phone is None else phone
    ids = {"wa_id": customer.wa_id} if shared and customer.wa_id else {}
    return {**ids, "user_id": customer.user_id}


def _contact(customer: SimCustomer, username: bool = True, phone: bool | None = None) -> dict[str, Any]:
    """A ``contacts[]`` entry: profile (name, username if any), then the identifiers."""
    profile: dict[str, str] = {"name": customer.name}
    if username and customer.username:
        profile["username"] = customer.username
    return {"profile": profile, **_ids(customer, phone)}


def _decode(raw: bytes) -> Any:
    try:
        return orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        return raw[:200].decode("utf-8", "replace")


def _pricing(msg: Outgoing, window: bool, at: float) -> dict[str, Any]:
    """Per-message pricing at ``at`` (epoch seconds): templates are billable by category; non-template
    messages are free; a utility template inside an open window is free while Meta's dated rule
    (``pricing.card.META_FREE_IN_WINDOW``) says so, so the webhook's ``billable`` and the rate card agree."""
    if not msg.is_template:
        return {"billable": False, "pricing_model": "PMP", "type": "free_customer_service", "category": "service"}
    if window and msg.category == "utility" and free_in_window(msg.category, at):
        return {"billable": False, "pricing_model": "PMP", "type": "free_customer_service", "category": "utility"}
    return {"billable": True, "pricing_model": "PMP", "type": "regular", "category": msg.category}


def _template_change(t: dict[str, Any], at: float) -> dict[str, Any]:
    """``message_template_status_update``; ``time`` becomes the entry's trigger time (``entry[].time``)."""
    value: dict[str, Any] = {
        "event": t["status"],
        "message_template_id": int(t["id"]),
        "message_template_name": t["name"],
        "message_template_language": t["language"],
        "reason": t.get("rejected_reason") or "NONE",
        "message_template_category": t.get("category"),
    }
    return {"field": "message_template_status_update", "value": value, "time": int(at)}


def _quality_change(t: dict[str, Any], previous: str, score: str, at: float) -> dict[str, Any]:
    """``message_template_quality_update`` as Meta documents it (docs/cloud-api.md)."""
    value = {
        "previous_quality_score": previous,
        "new_quality_score": score,
        "message_template_id": int(t["id"]),
        "message_template_name": t["name"],
        "message_template_language": t["language"],
    }
    return {"field": "message_template_quality_update", "value": value, "time": int(at)}
