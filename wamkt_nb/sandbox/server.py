"""The sandbox to embed (in a background thread on 127.0.0.1) or run standalone.

``with Sandbox(customers=data, clock=clock) as sb:`` gives a base URL and ``sb.settings()`` that
point any Cloud API client at it; the same object answers inspection calls in-process.
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
import secrets
import socket
import threading
import time
from dataclasses import asdict, fields, replace
from typing import Any

import orjson
import pandas as pd
import uvicorn

from ..clock import Clock, SystemClock
from ..data.schema import CONVERSION_COLUMNS, CustomerData
from ..graph_versions import CURRENT_VERSION
from ..settings import Secret, Settings, load_settings
from ..store import Store
from .app import SandboxApp
from .behaviour import BehaviourParams
from .clicks import LinkClicker
from .config import SandboxConfig
from .customers import build_customers
from .engine import Engine
from .errors import SandboxError
from .faults import Faults
from .media import MediaStore
from .protocol import SandboxHttpProtocol
from .templates import TemplateStore
from .webhooks import WebhookEmitter, verify_callback

log = logging.getLogger(__name__)


STANDALONE_GC_YOUNG = 20_000
"""Allocations between collections of the youngest generation in a standalone server (CPython: 700).
A request's and a message's objects die young; at 700 a collection catches many alive and moves
them on to older generations, scanned again. Measured on the engine driven like bench/sandbox.py:
GC time per request 16 -> 12 µs, all CPU per request down about 12 %."""


class Sandbox:
    """A local, wire-faithful WhatsApp Cloud API with simulated customers.

    ``customers``: CustomerData or a features DataFrame; the caller loads them (the CLI and the facade
    from the workspace), so the sandbox stands alone.
    ``clock``: SystemClock (default), SimulatedClock (fast-forward) or ManualClock (tests).
    ``freeze_gc_every``: seconds between ``gc.freeze()`` calls; only for a standalone process.
    """

    def __init__(
        self,
        customers: CustomerData | pd.DataFrame,
        clock: Clock | None = None,
        config: SandboxConfig | None = None,
        params: BehaviourParams | None = None,
        faults: Faults | None = None,
        templates: list[dict[str, Any]] | None = None,
        tick: float = 0.01,
        freeze_gc_every: float | None = None,
    ) -> None:
        if config is None:
            config = SandboxConfig(access_token=secrets.token_urlsafe(24), app_secret=secrets.token_hex(16))
        self.config = config
        self.clock = clock or SystemClock()
        self.params = params or BehaviourParams()
        self.faults = faults or Faults()
        self._customer_source = customers
        self.templates = TemplateStore(templates, self.config.template_review_seconds, self.config.promotional_words)
        cfg = self.config
        self.emitter = WebhookEmitter(
            cfg.waba_id,
            lambda: self.config.app_secret,
            self.faults,
            cfg.webhook_batch_size,
            cfg.webhook_batch_wait,
            cfg.webhook_max_attempts,
            cfg.webhook_retry_base,
            cfg.webhook_timeout,
        )
        self.media = MediaStore(self.clock.now, cfg)
        self.clicker = LinkClicker(cfg.webhook_timeout)
        self.engine = Engine(
            cfg,
            self.params,
            self.clock,
            self._build_customers(),
            self.templates,
            self.emitter.push,
            media=self.media,
            clicker=self.clicker,
        )
        self._verify_token = Secret("")
        self._tick = tick
        self._freeze_gc_every = freeze_gc_every
        self._server: uvicorn.Server | None = None
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self.base_url: str | None = None

    def __repr__(self) -> str:
        state = self.base_url or "not started"
        return f"Sandbox({state}, customers={len(self.engine.customers):,}, clock={self.clock!r})"

    def _build_customers(self) -> dict:
        cfg = self.config
        return build_customers(
            self._customer_source,
            self.clock.now(),
            cfg.seed,
            cfg.not_on_whatsapp_rate,
            cfg.marketing_stopped_rate,
            cfg.username_share,
        )

    # -- identity ---------------------------------------------------------------------------------

    @property
    def access_token(self) -> Secret:
        return Secret(self.config.access_token)

    @property
    def app_secret(self) -> Secret:
        return Secret(self.config.app_secret)

    @property
    def verify_token(self) -> Secret:
        return self._verify_token

    @property
    def phone_number_id(self) -> str:
        return self.config.phone_number_id

    @property
    def waba_id(self) -> str:
        return self.config.waba_id

    def settings(self, base: Settings | None = None, **overrides: Any) -> Settings:
        """Settings that point a Cloud API client (and the webhook receiver) at this sandbox; the
        rest (database, pacing, currency) from ``base``."""
        if self.base_url is None:
            raise RuntimeError("start the sandbox first (Sandbox.start())")
        values = dict(
            access_token=self.access_token,
            app_secret=self.app_secret,
            verify_token=self._verify_token,
            phone_number_ids=self.config.phone_numbers,
            waba_id=self.waba_id,
            base_url=self.base_url,
            api_version=CURRENT_VERSION,
            sandbox=True,
        )
        return (base or Settings()).replace(**(values | overrides))

    # -- lifecycle --------------------------------------------------------------------------------

    def start(self, port: int = 0, host: str = "127.0.0.1") -> str:
        """Serve on ``host:port`` (a free port by default) in a background thread; returns the base URL."""
        if self._server is not None:
            return self.base_url  # type: ignore[return-value]
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
        sock.setblocking(False)
        config = uvicorn.Config(
            SandboxApp(self),
            log_level="warning",
            lifespan="off",
            access_log=False,
            http=SandboxHttpProtocol,
            loop="uvloop",
            timeout_graceful_shutdown=1,
            backlog=2048,
            proxy_headers=False,
            server_header=False,
        )
        self._server = uvicorn.Server(config)
        self._stopping.clear()
        serve = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="wamkt-sandbox-http", daemon=True
        )
        ticker = threading.Thread(target=self._run_clock, name="wamkt-sandbox-clock", daemon=True)
        self._threads = [serve, ticker]
        serve.start()
        ticker.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not serve.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the sandbox server did not start")
            time.sleep(0.005)
        self._socket = sock
        self.base_url = f"http://{host}:{sock.getsockname()[1]}"
        return self.base_url

    def serve_forever(self, port: int, host: str = "127.0.0.1") -> None:
        """Standalone: serve until interrupted (Ctrl-C)."""
        self.start(port, host)
        try:
            while self._threads[0].is_alive():
                self._threads[0].join(0.5)
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop the HTTP server, the clock thread and the webhook emitter."""
        self._stopping.set()
        if self._server is not None:
            self._server.should_exit = True
        for t in self._threads:
            t.join(10)
        self._threads = []
        self._server = None
        self.base_url = None
        self.emitter.close()

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run_clock(self) -> None:
        frozen_at = time.monotonic()
        if self._freeze_gc_every:  # standalone server only (process-wide), see STANDALONE_GC_YOUNG
            gc.set_threshold(STANDALONE_GC_YOUNG, *gc.get_threshold()[1:])
        while not self._stopping.wait(self._tick):
            try:
                self.engine.run_due()
            except Exception:  # keep simulated time running; the log says what went wrong
                log.exception("sandbox: playing due events failed")
            if self._freeze_gc_every and time.monotonic() - frozen_at >= self._freeze_gc_every:
                # Standalone server only (process-wide): messages kept for inspection are long-lived, so
                # moving them out of the cyclic GC's reach avoids full collections of 100+ ms under load.
                gc.freeze()
                frozen_at = time.monotonic()

    # -- time -------------------------------------------------------------------------------------

    def run_due(self) -> int:
        """Play everything due by the clock's now (the clock thread does this every ``tick``)."""
        return self.engine.run_due()

    def advance(self, seconds: float) -> int:
        """Move a ManualClock/SimulatedClock forward and play what became due, in time order."""
        if not hasattr(self.clock, "advance"):
            raise TypeError(f"the sandbox clock {self.clock!r} cannot be advanced; use ManualClock or SimulatedClock")
        if not seconds >= 0 or seconds == float("inf"):  # NaN fails the first test
            raise ValueError(f"seconds must be a finite number >= 0, not {seconds}")
        target = self.clock.now() + seconds
        ran = 0
        while (at := self.engine.next_event_at()) is not None and at <= target:
            ran += self.engine.run_due(at)
        self.clock.advance(target - self.clock.now())  # type: ignore[attr-defined]
        return ran + self.engine.run_due()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Play what is due and wait until every webhook batch was sent (or given up)."""
        self.engine.run_due()
        return self.emitter.wait_idle(timeout)

    # -- webhooks ---------------------------------------------------------------------------------

    def set_webhook(self, url: str | None, verify_token: str | Secret = "") -> None:
        """Register the callback URL after Meta's GET verification handshake (None: stop posting)."""
        token = verify_token.reveal() if isinstance(verify_token, Secret) else str(verify_token)
        if url:
            verify_callback(url, token, self.config.webhook_timeout)
        self._verify_token = Secret(token)
        self.emitter.url = url or None

    # -- inspection -------------------------------------------------------------------------------

    def received(self) -> list[dict[str, Any]]:
        """Every ``/messages`` request: time, body, HTTP status and the answer."""
        return self.engine.received_log()

    def emitted(self) -> list[dict[str, Any]]:
        """Every webhook batch: payload, attempt, callback URL and the receiver's HTTP status."""
        return self.emitter.records()

    def counters(self) -> dict[str, int]:
        with self.engine.lock:
            out = dict(self.engine.counters)
        out.update({f"webhook_{k}": v for k, v in self.emitter.counters.items()})
        out.update({f"link_{k}": v for k, v in self.clicker.counters.items()})
        return out

    def messages_frame(self) -> pd.DataFrame:
        """One row per accepted message with its current status and times."""
        with self.engine.lock:
            return pd.DataFrame(list(self.engine.messages.values()))

    def conversions_frame(self) -> pd.DataFrame:
        """Simulated orders; the first seven columns match the store's ``conversions`` table."""
        cols = [*CONVERSION_COLUMNS, "wamid", "callback_data", "template"]
        with self.engine.lock:
            return pd.DataFrame(list(self.engine.conversions), columns=cols)

    def save_conversions(self, store: Store) -> int:
        """Write the simulated orders into the store's ``conversions`` table (idempotent); returns the rows offered."""
        orders = self.conversions_frame()[list(CONVERSION_COLUMNS)]
        store.executemany(
            f"INSERT INTO conversions ({', '.join(CONVERSION_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(CONVERSION_COLUMNS))}) ON CONFLICT DO NOTHING",
            orders.itertuples(index=False, name=None),
        )
        return len(orders)

    def uploaded_media(self) -> list[dict[str, Any]]:
        """Every stored upload: id, MIME type, size, sha256, file name, upload time (not the bytes)."""
        return self.media.all()

    def customers_frame(self) -> pd.DataFrame:
        """The simulated customers' live state (window, opt-out, counts)."""
        with self.engine.lock:
            return pd.DataFrame([c.state() for c in self.engine.customers.values()])

    def inject_inbound(self, who: str, text: str, reply_to: str | None = None) -> str:
        """Customer ``who`` (phone, wa_id or customer_id) writes ``text`` now; returns its wamid."""
        return self.engine.inject_inbound(who, text, reply_to=reply_to)

    def set_template_status(
        self, name_or_id: str, status: str, reason: str | None = None, language: str = "de"
    ) -> dict[str, Any]:
        """Change a template's status (e.g. ``PAUSED`` for low quality); emits the status webhook."""
        found = self.templates.find(name_or_id, language)
        return self.engine.set_template_status(found["id"] if found else name_or_id, status, reason)

    def set_faults(self, **rates: float) -> Faults:
        """Change fault rates live, e.g. ``set_faults(error_500=0.1, duplicate_webhook=0.2)``; the
        fault sequences restart from the seed, so the same calls give the same faults."""
        current = self.faults.to_dict()
        unknown = set(rates) - set(current)
        if unknown:
            raise ValueError(f"unknown fault {sorted(unknown)[0]!r}; known: {', '.join(sorted(current))}")
        checked = Faults(**{k: type(current[k])(v) for k, v in (current | rates).items()})  # validates
        for name in rates:
            setattr(self.faults, name, getattr(checked, name))
        self.faults.restart()
        return self.faults

    def configure(self, **changes: Any) -> SandboxConfig:
        """Change limits live, e.g. ``configure(throughput_per_second=1000, pair_interval=0)``."""
        known = {f.name for f in fields(SandboxConfig)} - {"access_token", "app_secret"}
        typed = {}
        for name, value in changes.items():
            if name not in known:
                raise ValueError(f"unknown sandbox setting {name!r}")
            current = getattr(self.config, name)
            if name == "api_date" and isinstance(value, str):  # JSON carries the day as ISO text
                value = _iso_day(value)
            if isinstance(current, bool) != isinstance(value, bool) and current is not None:
                expected = "true or false" if isinstance(current, bool) else f"a {type(current).__name__}"
                raise ValueError(f"{name} must be {expected}, not {value!r}"[:200])
            typed[name] = value if current is None or value is None else type(current)(value)
        replace(self.config, **typed).validate()  # check before the running sandbox sees it
        for name, value in typed.items():
            setattr(self.config, name, value)
        return self.config

    def reset(self) -> None:
        """Forget messages, uploaded media, logs, counters and customers' state; keep config, faults and the webhook."""
        self.engine.reset(self._build_customers())
        self.media.clear()
        self.emitter.clear()

    def phone_number_fields(self, phone_number_id: str | None = None) -> dict[str, Any]:
        """What ``GET /{phone_number_id}`` answers; every number of the portfolio shows its shared limit."""
        cfg = self.config
        return {
            "id": phone_number_id or cfg.phone_number_id,
            "display_phone_number": cfg.display_phone_number,
            "verified_name": cfg.verified_name,
            "quality_rating": cfg.quality_rating,
            "throughput": {"level": cfg.throughput_level},
            "messaging_limit_tier": cfg.messaging_tier,
            "whatsapp_business_manager_messaging_limit": cfg.messaging_tier,
            "code_verification_status": "VERIFIED",
            "name_status": "APPROVED",
            "platform_type": "CLOUD_API",
        }

    def inspect_route(self, method: str, parts: list[str], query: dict[str, list[str]], body: bytes) -> Any:
        """The ``/_sandbox/...`` routes of the HTTP server (same data as the methods above)."""
        route = "/".join(parts)
        data = orjson.loads(body) if body else {}
        if not isinstance(data, dict):
            raise SandboxError(100, f"The request body must be a JSON object, not {type(data).__name__}")
        limit = int(query.get("limit", ["1000"])[0])
        if limit < 1:  # a slice [-0:] or [-(-1):] would answer (nearly) everything
            raise SandboxError(100, f"limit must be 1 or more, not {limit}")
        if method == "GET":
            if route == "received":
                return self.received()[-limit:]
            if route == "emitted":
                return self.emitted()[-limit:]
            if route == "counters":
                return self.counters()
            if route == "customers":
                return self.customers_frame().head(limit).to_dict("records")
            if route == "conversions":
                return self.conversions_frame().to_dict("records")
            if route == "messages":
                return self.messages_frame().tail(limit).to_dict("records")
            if route == "faults":
                return self.faults.to_dict()
            if route == "media":
                return self.uploaded_media()
            if route == "config":
                return {k: v for k, v in asdict(self.config).items() if k not in ("access_token", "app_secret")}
        if method == "POST":
            if route == "reset":
                self.reset()
                return {"success": True}
            if route == "inbound":
                return {"id": self.inject_inbound(str(data["from"]), str(data["text"]), data.get("reply_to"))}
            if route == "faults":
                return self.set_faults(**data).to_dict()
            if route == "config":
                self.configure(**data)
                return {"success": True}
            if route == "webhook":
                self.set_webhook(data.get("url"), str(data.get("verify_token", "")))
                return {"success": True}
            if len(parts) == 2 and parts[0] == "templates":
                return self.set_template_status(
                    parts[1], str(data["status"]), data.get("reason"), str(data.get("language", "de"))
                )
            if route == "advance":
                return {"ran": self.advance(float(data["seconds"]))}
        raise SandboxError(100, f"Unknown sandbox route {method} /_sandbox/{route}", http_status=404)


def open_cloud_api(settings: Settings | None = None, **sandbox_kwargs: Any) -> tuple[Settings, Sandbox | None]:
    """Settings to send with: Meta's when a token is configured, else a started embedded sandbox's,
    built from ``sandbox_kwargs`` (the :class:`Sandbox` arguments, ``customers`` among them).

    Returns ``(settings, sandbox)``; ``sandbox`` is None for the real API, otherwise stop it when done.
    """
    settings = settings or load_settings()
    if not settings.sandbox:
        return settings, None
    sandbox = Sandbox(**sandbox_kwargs)
    sandbox.start()
    return sandbox.settings(settings), sandbox


def _iso_day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"api_date must be a date (YYYY-MM-DD), not {text[:40]!r}") from None
