"""``wamkt serve``: the webhook receiver with keyword auto-replies, standalone (uvicorn).

``--db`` names a database file in a folder that exists (a typo must not create folders); the
default, the workspace's database, is created with its folder.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import pandas as pd
import uvicorn

from ..autoreply import language_lookup
from ..data.stored import customer_column
from ..settings import load_settings
from ..store import open_store
from ..serving.service import service_from_settings
from ..workspace import database_path
from . import CliError, existing_parent, finite_number, port_number, whole_number


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="receive WhatsApp webhooks and send keyword auto-replies")
    p.add_argument("--host", default=None, help="address to bind (default: settings webhook_host)")
    p.add_argument("--port", type=port_number, default=None, help="port (default: settings webhook_port)")
    p.add_argument("--db", type=Path, default=None, help="SQLite file (default: the workspace database)")
    p.add_argument("--path", type=url_path, default="/webhook", help="URL path of the webhook (default /webhook)")
    p.add_argument("--max-body", type=whole_number(1), default=None, help="largest accepted body in bytes")
    p.add_argument("--cooldown", type=finite_number(0), default=None, help="seconds between auto-replies to one customer")
    p.set_defaults(run=run)


def url_path(text: str) -> str:
    """argparse type: a URL path, which starts with '/' (else the printed URL runs into the port)."""
    if not text.startswith("/"):
        raise argparse.ArgumentTypeError(f"{text!r} must start with '/', e.g. /webhook")
    return text


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per reply otherwise
    settings = load_settings()
    if not settings.app_secret or not settings.verify_token:
        raise CliError("set WAMKT_APP_SECRET and WAMKT_VERIFY_TOKEN (every webhook would be refused)")
    store = open_store(existing_parent(args.db, "--db") if args.db else database_path())
    options = {}
    if args.max_body is not None:
        options["max_body_bytes"] = args.max_body
    if args.cooldown is not None:
        options["cooldown_seconds"] = args.cooldown
    languages = customer_column(store, "language")
    phones = customer_column(store, "phone")
    if languages is not None:  # the customers' languages, for rules limited to some languages
        options["language_of"] = language_lookup(pd.DataFrame({"phone": phones, "language": languages}))
    service = service_from_settings(settings, store, **options)
    host = args.host or settings.webhook_host
    port = args.port if args.port is not None else settings.webhook_port
    print(f"webhook: http://{host}:{port}{args.path}  database: {store.path}", flush=True)
    uvicorn.run(service.asgi_app(args.path), host=host, port=port, log_level="warning", access_log=False)
    store.close()
    return 0
