"""``wamkt serve``: the webhook receiver with keyword auto-replies and the tracked links' redirect
``/l/{token}``, standalone (uvicorn); with ``--worker`` also the campaign worker (``wamkt worker``) on the
same event loop, one process for a team.

``--db`` names a database file in a folder that exists (a typo must not create folders); the
default is ``WAMKT_DATABASE_URL`` (the team store), else the workspace's database, created with its folder.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import signal

import pandas as pd
import uvicorn

from ..autoreply import language_lookup
from ..data.stored import customer_column
from ..serving.service import service_from_settings
from ..settings import load_settings
from . import CliError, finite_number, port_number, whole_number
from .worker import add_worker_arguments, run_worker, worker_store


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default=None, help="address to bind (default: settings webhook_host)")
    p.add_argument("--port", type=port_number, default=None, help="port (default: settings webhook_port)")
    p.add_argument("--path", type=url_path, default="/webhook", help="URL path of the webhook (default /webhook)")
    p.add_argument("--max-body", type=whole_number(1), default=None, help="largest accepted body in bytes")
    p.add_argument(
        "--cooldown", type=finite_number(0), default=None, help="seconds between auto-replies to one customer"
    )
    p.add_argument(
        "--worker",
        action="store_true",
        help="also run `wamkt worker` in this process (then --sandbox BASE_URL or --live is needed)",
    )
    worker_options = p.add_argument_group("worker (with --worker)")
    add_worker_arguments(worker_options, required=False)
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
    if args.worker and not (args.base_url or args.live):
        raise CliError("--worker needs where to send: --sandbox BASE_URL or --live")
    store = worker_store(args)
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
    print(f"webhook: http://{host}:{port}{args.path}  database: {store.where}", flush=True)
    print(f"tracked links: http://{host}:{port}/l/<token>  (public base: {settings.links_base})", flush=True)
    config = uvicorn.Config(service.asgi_app(args.path), host=host, port=port, log_level="warning", access_log=False)
    _freeze_startup_objects()
    try:
        if args.worker:
            return asyncio.run(_with_worker(_Server(config), args))
        uvicorn.Server(config).run()
    finally:
        store.close()
    return 0


def _freeze_startup_objects() -> None:
    """Move what the process holds after startup (modules, settings, the service) out of the cyclic
    GC's reach: it lives as long as the process, and every full collection scanned it again (about
    0.1 s per collection on a loaded machine, a tenth of the receiver's CPU in bench/autoreply.py)."""
    gc.collect()
    gc.freeze()


class _Server(uvicorn.Server):
    """uvicorn leaving SIGTERM/SIGINT to :func:`_with_worker`, which stops the worker too."""

    @contextlib.contextmanager
    def capture_signals(self):
        yield


async def _with_worker(server: uvicorn.Server, args: argparse.Namespace) -> int:
    """The receiver and the worker on one loop; SIGTERM/SIGINT stop both (the worker lets its
    requests in flight finish)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    worker = asyncio.ensure_future(run_worker(args, stop=stop))
    receiver = asyncio.ensure_future(server.serve())
    stopped = asyncio.ensure_future(stop.wait())
    await asyncio.wait({worker, receiver, stopped}, return_when=asyncio.FIRST_COMPLETED)
    stop.set()
    server.should_exit = True
    await receiver
    return await worker
