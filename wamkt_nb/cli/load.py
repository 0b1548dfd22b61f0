"""``wamkt load``: customers (and orders, interactions) from files, a CRM or a SQL query into the workspace.

The same loaders as the data loader widget; prints the counts per file, writes the rejects
next to the data as CSV (owner-only, formula cells defused), and exits 1 when no row could be
loaded; a source that cannot be read at all is one line on stderr and exit code 2 (130 after a
cancelled CRM fetch). A CRM fetch shows the widget's
progress line on stderr (rewritten in place on a terminal, every few seconds in a log); the first
Ctrl-C cancels it after the request in flight and saves nothing, a second one aborts at once.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from ..data.crm import (
    CRM_TOKEN_VARIABLE,
    PAGINATIONS,
    CrmConfig,
    CrmError,
    FetchCancelled,
    FetchProgress,
    describe_progress,
    fetch_table,
)
from ..data.loaders import LoadResult, load_customers, load_interactions, load_orders, to_customer_data
from ..data.privacy import workspace_id_key
from ..data.readers import LoadError
from ..data.sql_source import read_sql_table
from ..exports import save_table
from ..redact import redact_url
from ..workspace import save_customer_data, workspace_dir
from . import INTERRUPTED, CliError, fail, whole_number


def register(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("customers", nargs="?", type=Path, help="customer file (CSV, Excel, Parquet, JSON, NDJSON)")
    src.add_argument("--crm-url", help=f"CRM REST endpoint listing customers (token from {CRM_TOKEN_VARIABLE})")
    src.add_argument(
        "--sql",
        metavar="URL",
        help="database with the customers: sqlite:///file.db, duckdb:///file.duckdb, duckdb:// "
        "(query Parquet/CSV files directly) or postgresql://user:password@host/db",
    )
    p.add_argument("--query", help="with --sql: the SELECT returning one row per customer")
    p.add_argument("--crm-auth", choices=("bearer", "api_key", "none"), default="bearer")
    p.add_argument("--crm-pagination", choices=PAGINATIONS, default="auto", help="how the CRM pages (auto: recognise)")
    p.add_argument(
        "--crm-page-size",
        type=whole_number(1),
        default=CrmConfig.page_size,
        help="records per page to ask for, with --crm-pagination page",
    )
    p.add_argument(
        "--crm-retries", type=whole_number(0), default=CrmConfig.retries, help="retries of a CRM request on 429/5xx"
    )
    p.add_argument("--quiet", action="store_true", help="no CRM progress on stderr")
    p.add_argument("--orders", type=Path)
    p.add_argument("--interactions", type=Path)
    p.add_argument("--region", default="DE", help="default phone region for numbers without +country code")
    p.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="FIELD=COLUMN",
        help="explicit column mapping for the customer source, e.g. --map phone=Handy",
    )
    p.add_argument("--workspace", type=Path, default=None)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    directory = args.workspace or workspace_dir()
    try:
        mapping = dict(item.split("=", 1) for item in args.map)
    except ValueError:
        raise CliError("--map needs FIELD=COLUMN, e.g. --map phone=Handy") from None
    if bool(args.sql) != bool(args.query):
        raise CliError('--sql URL and --query "SELECT ..." go together')
    try:
        if args.sql:
            source = read_sql_table(args.sql, args.query)
        elif args.crm_url:
            config = CrmConfig(
                args.crm_url,
                token=os.environ.get(CRM_TOKEN_VARIABLE) or None,
                auth=args.crm_auth,
                pagination=args.crm_pagination,
                page_size=args.crm_page_size,
                retries=args.crm_retries,
            )
            cancel = threading.Event()
            progress = None if args.quiet else ProgressLine(sys.stderr)
            with _cancel_on_interrupt(cancel):
                source = fetch_table(config, on_progress=progress, cancel=cancel)
        else:
            source = args.customers
        # ids derived from phones are keyed by the target workspace (made only now), so reloads keep them
        customers = load_customers(source, mapping, args.region, id_key=workspace_id_key(directory))
        _report(customers, directory)
        orders = interactions = None
        if args.orders:
            orders = load_orders(args.orders, customers.rows, default_region=args.region)
            _report(orders, directory)
        if args.interactions:
            interactions = load_interactions(args.interactions, customers.rows, default_region=args.region)
            _report(interactions, directory)
    except FetchCancelled as exc:  # the first Ctrl-C: a clean stop, with the exit code of any Ctrl-C
        fail("load", f"{exc}; nothing saved")
        return INTERRUPTED
    except LoadError as exc:
        raise CliError(f"could not load: {exc}{_received(exc)}; nothing saved") from None
    if customers.loaded == 0:
        print("no customer could be loaded; nothing saved")
        return 1
    saved = save_customer_data(to_customer_data(customers, orders, interactions), directory)
    print(f"saved to {redact_url(saved)}")  # a team store's URL without its password
    return 0


def _report(result: LoadResult, directory: Path) -> None:
    counts = ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in result.summary().items())
    print(f"{result.kind} from {result.source}: {counts}")
    for note in result.notes:
        print(f"  {note}")
    if result.rejected:
        path = save_table(result.rejects, directory / f"rejects_{result.kind}.csv")
        print(f"  rejects with reasons: {path}")


def _received(exc: LoadError) -> str:
    """What a failed CRM fetch had received."""
    partial = exc.partial if isinstance(exc, CrmError) else None
    if partial is None or not partial.records:
        return ""
    return f" ({len(partial.records):,} records from {partial.pages:,} pages received)"


class ProgressLine:
    """CRM fetch progress on a stream: rewritten in place on a terminal, a line every few seconds otherwise."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.every = 0.2 if self.tty else 5.0
        self.shown_at = float("-inf")

    def __call__(self, progress: FetchProgress) -> None:
        now = time.monotonic()
        if not (progress.done or progress.waiting or now - self.shown_at >= self.every):
            return
        self.shown_at = now
        line = f"CRM {describe_progress(progress)}"
        if self.tty:
            self.stream.write(f"\r\x1b[K{line}" + ("\n" if progress.done else ""))
            self.stream.flush()
        else:
            print(line, file=self.stream, flush=True)


@contextmanager
def _cancel_on_interrupt(cancel: threading.Event) -> Iterator[None]:
    """The first Ctrl-C sets ``cancel`` (a clean stop, counts reported); the next one interrupts as usual."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)

    def interrupted(signum: int, frame: object) -> None:
        cancel.set()
        signal.signal(signal.SIGINT, previous)
        print("\ncancelling after the request in flight (Ctrl-C again to stop at once)", file=sys.stderr, flush=True)

    signal.signal(signal.SIGINT, interrupted)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
