"""``wamkt send CAMPAIGN --sandbox|--live [--resume]``: send a planned campaign headless.

The same :class:`~wamkt_nb.campaigns.sender.CampaignRunner` as the notebook widget; progress goes
to stdout. SIGINT/SIGTERM stop after the requests in flight; ``--resume`` continues later.
Exit code 0 when the campaign is complete; 3 when rows are left (paused, planned for later, or
``needs review``: outcomes unknown, to be settled by a later ``--resume``); 2 on bad input.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import orjson
import pandas as pd

from .. import ledger
from ..campaigns.pacing import describe_rate
from ..campaigns.send_api import SEND_APIS, set_campaign_api
from ..campaigns.sender import CampaignRunner, Progress, SendOptions, UnknownPolicy
from ..cloudapi import AsyncCloudClient, InvalidURLError, check_base_url
from ..ledger.states import HELD_LABEL
from ..redact import redact_url
from ..settings import Secret, Settings, load_settings
from ..store import Store
from . import COMMANDS, CliError, finite_number, whole_number
from ._submit import request_worker, submit_and_watch

SETTLE_SECONDS = 15.0
"""How long ``--sandbox`` without ``--base-url`` waits at the end for its status webhooks."""


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("campaign", help="campaign id in the ledger (created from a dry-run plan)")
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--submit",
        action="store_true",
        help="hand the campaign to a running `wamkt worker` and watch it (Ctrl-C leaves it "
        "running); again after --pause to resume",
    )
    where.add_argument("--pause", action="store_true", help="ask the worker to pause the campaign")
    where.add_argument("--cancel", action="store_true", help="ask the worker to cancel what is not sent yet")
    where.add_argument(
        "--sandbox", action="store_true", help="send to a sandbox: --base-url of a running one, else an embedded one"
    )
    where.add_argument("--live", action="store_true", help="send through Meta's Cloud API (needs a token)")
    p.add_argument("--resume", action="store_true", help="continue a campaign that was started before")
    p.add_argument("--plan", type=Path, help="create the campaign first from a plan file (.json records or .pkl)")
    p.add_argument("--name", help="campaign name when created from --plan")
    p.add_argument("--db", type=Path, help="SQLite ledger (default: the workspace database)")
    p.add_argument("--base-url", help="API base URL (e.g. http://127.0.0.1:8900 for a standalone sandbox)")
    p.add_argument(
        "--api",
        choices=SEND_APIS,
        default=None,
        help="send through Cloud API /messages or the Marketing Messages API /marketing_messages "
        "(marketing campaigns only); stored with the campaign (default: as stored, else messages)",
    )
    p.add_argument(
        "--retry-held",
        action="store_true",
        help="retry a message Meta holds back (131049) once, no sooner than 24 h later and only "
        "if the 24 h marketing cap allows it then (stored with the campaign)",
    )
    p.add_argument(
        "--phone-number-id",
        action="append",
        dest="phone_number_ids",
        help="sending number (repeat for several); default from settings",
    )
    p.add_argument("--pace", default=None, help="safe (30/min, default) | standard (80/s) | max (1000/s) | msg/s")
    p.add_argument(
        "--confirm-high-rate", action="store_true", help="allow more than 50 msg/s per number (restriction risk)"
    )
    p.add_argument("--concurrency", type=whole_number(1), default=8, help="requests in flight (workers)")
    p.add_argument("--max-attempts", type=whole_number(1), default=5)
    p.add_argument(
        "--unknown-policy",
        choices=[u.value for u in UnknownPolicy],
        default=UnknownPolicy.WAIT_THEN_RESEND.value,
        help="lost responses: wait for a status webhook then resend, or never resend",
    )
    p.add_argument(
        "--unknown-wait",
        type=finite_number(0),
        default=60.0,
        help="seconds to wait for a webhook before resending an unknown outcome",
    )
    p.add_argument("--start-at", help="send nothing before this UTC time (ISO 8601)")
    p.add_argument(
        "--due-only",
        action="store_true",
        help="send what is due now and exit; rows planned for later stay for a --resume",
    )
    p.add_argument("--timeout", type=finite_number(0.1), default=10.0, help="seconds per request")
    p.add_argument("--quiet", action="store_true", help="print only the final summary")
    p.set_defaults(run=run)


def main(argv: list[str] | None = None) -> int:
    """``wamkt send ...`` on its own, without loading the other subcommands (scripts, tests)."""
    parser = argparse.ArgumentParser(prog="wamkt")
    register(parser.add_subparsers(dest="command", required=True).add_parser("send", help=COMMANDS["send"]))
    args = parser.parse_args(argv)
    return int(args.run(args) or 0)


def _read_plan(path: Path) -> pd.DataFrame:
    """The dry run's plan from ``--plan`` (.json records or .pkl); a file that is not one is a
    CliError naming it (unpickling a wrong file can raise anything)."""
    what = "is not a campaign plan (.json records or .pkl from the dry run)"
    try:
        plan = pd.read_pickle(path) if path.suffix == ".pkl" else pd.DataFrame(orjson.loads(path.read_bytes()))
    except OSError as exc:
        raise CliError(f"--plan {path}: {exc.strerror or exc}; check the path") from None
    except Exception as exc:
        raise CliError(f"--plan {path} {what}: {type(exc).__name__}: {exc}") from None
    if not isinstance(plan, pd.DataFrame):
        raise CliError(f"--plan {path} {what}: it holds a {type(plan).__name__}")
    return plan


def _sandbox(args: argparse.Namespace, settings: Settings, workspace: Any) -> tuple[str, Secret, tuple[str, ...], Any]:
    """Base URL, token and numbers of a running sandbox (``--base-url``), or of the workspace's
    embedded one (also returned), whose status webhooks go to a receiver writing into its store."""
    from ..sandbox import SandboxConfig  # noqa: PLC0415 (the sandbox loads uvicorn: only when a send runs)

    if args.base_url:
        token = os.environ.get("WAMKT_SANDBOX_TOKEN") or settings.access_token or SandboxConfig().access_token
        token = token if isinstance(token, Secret) else Secret(token)
        return args.base_url, token, settings.phone_number_ids or (SandboxConfig().phone_number_id,), None
    sandbox = workspace.sandbox
    print(f"embedded sandbox: {sandbox.base_url} (status webhooks to {redact_url(workspace.receiver.url)})", flush=True)
    return sandbox.base_url, sandbox.access_token, (sandbox.phone_number_id,), sandbox


async def _await_statuses(store: Store, campaign_id: str, sandbox: Any, timeout: float = SETTLE_SECONDS) -> None:
    """Before the embedded sandbox stops: let it post the statuses of what it accepted (sent,
    delivered or failed), so the ledger and the error breakdown are not left at ``accepted``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        counts = ledger.state_counts(store, campaign_id)
        if counts["accepted"] + counts["unknown"] == 0:
            return
        await asyncio.to_thread(sandbox.wait_idle, 0.5)
        await asyncio.sleep(0.1)


def _line(p: Progress) -> str:
    c = p.counts
    eta = f"{p.eta_seconds:,.0f}s" if p.eta_seconds is not None else "-"
    accepted = c["accepted"] + c["sent"] + c["delivered"] + c["read"]
    return (
        f"[{p.status}] {p.done:,}/{p.total:,} final · accepted+ {accepted:,}"
        f" · failed {p.failed_ours:,} · {HELD_LABEL} {p.held:,} · unknown {c['unknown']:,}"
        f" · planned {c['planned']:,}"
        f" · {p.rate:,.1f} msg/s · ETA {eta}"
    )


def run(args: argparse.Namespace) -> int:
    """Send (expected failures, all ``WamktError``, end as one line via :func:`wamkt_nb.cli.main`);
    with ``--submit``/``--pause``/``--cancel`` (or the ``worker`` setting and neither ``--sandbox`` nor
    ``--live``) hand the campaign to ``wamkt worker`` instead."""
    settings = load_settings()
    if args.pause or args.cancel:
        return request_worker(args, "pause" if args.pause else "cancel")
    if args.submit or not (args.sandbox or args.live):
        if not (args.submit or settings.worker):
            raise CliError("say where to send: --sandbox or --live, or --submit to a running wamkt worker")
        return asyncio.run(submit_and_watch(args, option_values(args, settings), _line))
    return asyncio.run(_run(args))


def option_values(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    """The send options given on the command line (the same for a send here and a submission)."""
    return dict(
        pace=args.pace or settings.pace,
        confirm_high_rate=args.confirm_high_rate,
        concurrency=args.concurrency,
        max_attempts=args.max_attempts,
        unknown_policy=UnknownPolicy(args.unknown_policy),
        unknown_wait=args.unknown_wait,
        start_at=ledger.to_epoch(args.start_at, None) if args.start_at else None,
    )


def _checked_base_url(args: argparse.Namespace, settings: Settings) -> None:
    """Refuse an unusable API address before anything is opened or sent (the message hides the URL)."""
    given = (("--base-url", args.base_url), ("the base_url setting", settings.base_url if args.live else None))
    for option, url in given:
        if url:
            try:
                check_base_url(url)
            except InvalidURLError as exc:
                raise CliError(f"{option}: {exc}") from None


async def _run(args: argparse.Namespace) -> int:
    # the client, the sandbox and the facade (pandas, uvicorn) load only when a send runs, not for
    # every ``wamkt`` command line
    from ..facade import Workspace  # noqa: PLC0415 (lazy: see above)

    settings = load_settings()
    _checked_base_url(args, settings)
    with ExitStack() as stack:
        workspace = stack.enter_context(Workspace(settings.replace(sandbox=not args.live), database=args.db))
        store = workspace.store
        if args.plan is not None and ledger.find_campaign(store, args.campaign) is None:
            ledger.create_campaign(
                store,
                _read_plan(args.plan),
                name=args.name or args.campaign,
                now=time.time(),
                campaign_id=args.campaign,
            )
        info = ledger.campaign_info(store, args.campaign)
        if args.api is not None:
            set_campaign_api(store, args.campaign, args.api)
        if args.retry_held:
            ledger.set_held_retry(store, args.campaign)
        if info["started_at"] is not None and not args.resume and info["status"] != "planned":
            raise CliError(
                f"campaign {args.campaign!r} was started before ({info['status']}); add --resume to continue it"
            )
        if args.live:
            if not settings.access_token:
                raise CliError("--live needs an access token (WAMKT_ACCESS_TOKEN or wamkt.toml)")
            base_url, token = args.base_url or settings.base_url, settings.access_token
            numbers, embedded = settings.phone_number_ids, None
        else:
            base_url, token, numbers, embedded = _sandbox(args, settings, workspace)
        numbers = tuple(args.phone_number_ids or numbers)
        options = SendOptions(
            phone_number_ids=numbers,
            max_rate=settings.max_rate if args.live else None,
            wait_for_later=not args.due_only,
            progress_interval=1.0,
            **option_values(args, settings),
        )
        async with AsyncCloudClient(
            settings, base_url=base_url, access_token=token, timeout=args.timeout, max_connections=args.concurrency
        ) as client:
            runner = CampaignRunner(store, client, args.campaign, options)

            def report(p: Progress) -> None:
                if not args.quiet:
                    print(_line(p), flush=True)
                if p.status == "paused" and p.message:  # account or connection problem: nobody to resume
                    print(p.message, flush=True)
                    runner.stop()

            runner.on_progress = report
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, runner.stop)
            print(
                f"sending {args.campaign} through /{runner.api}"
                f" to {'Meta' if args.live else redact_url(base_url)}"
                f" from {len(numbers)} number(s) at {describe_rate(options.rate)} each",
                flush=True,
            )
            progress = await runner.run()
            if embedded is not None:
                await _await_statuses(store, args.campaign, embedded)
                progress = runner.progress(progress.status)
        print(_line(progress), flush=True)
        if progress.status == "needs_review":
            print(f"needs review: {progress.message}; then: wamkt send {args.campaign} --resume", flush=True)
        resends = ledger.resend_report(store, args.campaign)
        print(
            f"resent after unknown outcome: {resends['resent_after_unknown']}, "
            f"confirmed duplicates: {resends['confirmed_duplicates']}",
            flush=True,
        )
        errors = progress.errors_frame()
        if not errors.empty:
            print(errors.to_string(index=False), flush=True)
        return 0 if progress.status == "complete" else 3
