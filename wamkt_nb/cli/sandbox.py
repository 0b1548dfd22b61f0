"""``wamkt sandbox --port N``: the local Cloud API as a standalone server.

``--webhook`` must be an http(s) URL that passes Meta's verification handshake; when it does
not, the command says so in one line (the URL's secrets masked) instead of starting.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import httpx

from ..clock import SimulatedClock, SystemClock
from ..data.sample import generate
from ..redact import redact_url, redact_urls
from ..sandbox import Sandbox, SandboxConfig
from ..sandbox.webhooks import WebhookError
from ..workspace import load_customer_data
from . import CliError, port_number, whole_number


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=port_number, default=8765)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--workspace", type=Path, default=None, help="folder with customer data (default: sample)")
    p.add_argument("--customers", type=whole_number(1), default=None, help="use a seeded sample of this many customers")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--throughput", type=float, default=80.0, help="messages per second per number (default 80)")
    p.add_argument("--pair-interval", type=float, default=6.0, help="seconds between messages to one user (0: off)")
    p.add_argument(
        "--tier",
        default="TIER_2K",
        help="the business portfolio's messaging limit: TIER_250, TIER_2K, TIER_10K, TIER_100K or TIER_UNLIMITED",
    )
    p.add_argument(
        "--portfolio-number",
        action="append",
        dest="portfolio_numbers",
        default=[],
        help="id of another phone number of the portfolio (repeat); all share the messaging limit",
    )
    p.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second (3600: 1 h/s)")
    p.add_argument("--webhook", default=None, help="callback URL for status and inbound webhooks")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.webhook:
        _check_url(args.webhook)
    if args.workspace is not None and not args.workspace.expanduser().is_dir():
        raise CliError(f"--workspace {args.workspace} is not a folder: give the folder wamkt load saved to")
    if args.customers:
        customers = generate(args.customers, seed=args.seed)
    else:
        customers = load_customer_data(args.workspace)
    try:
        config = SandboxConfig(
            access_token=os.environ.get("WAMKT_SANDBOX_TOKEN", "sandbox-token"),
            app_secret=os.environ.get("WAMKT_SANDBOX_APP_SECRET", "sandbox-app-secret"),
            throughput_per_second=args.throughput,
            pair_interval=args.pair_interval,
            messaging_tier=args.tier,
            portfolio_phone_number_ids=tuple(args.portfolio_numbers),
        )
    except ValueError as exc:
        raise CliError(str(exc)) from None
    clock = SystemClock() if args.speed == 1.0 else SimulatedClock(time.time(), args.speed)
    sandbox = Sandbox(customers=customers, clock=clock, config=config, freeze_gc_every=1.0)
    if args.webhook:
        try:
            sandbox.set_webhook(args.webhook, os.environ.get("WAMKT_VERIFY_TOKEN", ""))
        except WebhookError as exc:
            raise CliError(
                f"{redact_urls(str(exc))}: is the receiver running (wamkt serve) and "
                "WAMKT_VERIFY_TOKEN the same for both?"
            ) from None
    print(
        f"sandbox: http://{args.host}:{args.port}  phone_number_id={config.phone_number_id}  "
        f"waba_id={config.waba_id}  customers={len(sandbox.engine.customers):,}",
        flush=True,
    )
    print(
        "token and app secret: $WAMKT_SANDBOX_TOKEN / $WAMKT_SANDBOX_APP_SECRET (defaults: sandbox-token, "
        "sandbox-app-secret)",
        flush=True,
    )
    sandbox.serve_forever(args.port, args.host)
    return 0


def _check_url(url: str) -> None:
    """An http(s) URL with a host, or a CliError naming it (secrets masked)."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise CliError(f"--webhook {redact_url(url)} is not a valid URL ({redact_urls(str(exc))})") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise CliError(
            f"--webhook {redact_url(url)} must be an http:// or https:// URL with a host, "
            "e.g. http://127.0.0.1:8000/webhook"
        )
