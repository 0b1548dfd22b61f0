"""The ``wamkt`` command: each subcommand is the module of its name in this package, whose
``register(parser)`` adds its options; :data:`COMMANDS` lists them with their one-line help.

Expected failures (a bad path, an unreachable URL, bad settings, an unreadable file: any
``WamktError`` or ``OSError``) end the command with one line on stderr that
says what to do, and exit code 2; URLs in that line have their secrets masked. A traceback
means a bug.
"""

from __future__ import annotations

import argparse
import importlib
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import WamktError
from ..redact import redact_urls

USAGE_ERROR = 2
INTERRUPTED = 130  # the shell's code for a command ended by Ctrl-C (SIGINT)


class CliError(WamktError):
    """A command's arguments or environment cannot work; the message says what to change."""


COMMANDS = {
    "ab": "plan an A/B test, or show an experiment's results and verdict",
    "calibrate": "check the simulated customers against the published figures",
    "demo": "play a campaign history through the sandbox and serve the dashboards",
    "load": "load customers/orders/interactions from files, a CRM or a SQL database into the workspace",
    "sandbox": "run the local WhatsApp Cloud API sandbox with simulated customers",
    "send": "send (or resume) a planned campaign through the sandbox or Meta",
    "serve": "receive WhatsApp webhooks and send keyword auto-replies",
    "worker": "send submitted campaigns when they are due (a long-running service)",
}
"""Subcommand (and module) name: its help in ``wamkt --help``. Listed here rather than found by
importing the modules, so that ``wamkt --help`` loads none of them."""


class _Commands(argparse._SubParsersAction):
    """The subcommands, each module imported (its options added) only when it is the one chosen:
    some load scipy, pandas or uvicorn, seconds of start-up that other commands do not need."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.loaded: set[str] = set()

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        name = values[0]
        if name in COMMANDS and name not in self.loaded:  # an unknown name is argparse's error below
            importlib.import_module(f"{__name__}.{name}").register(self._name_parser_map[name])
            self.loaded.add(name)
        super().__call__(parser, namespace, values, option_string)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wamkt", description="WhatsApp marketing toolkit for Jupyter.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", action=_Commands)
    for name, text in COMMANDS.items():
        sub.add_parser(name, help=text)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen subcommand; its return value is the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        return INTERRUPTED
    except WamktError as exc:
        return fail(args.command, str(exc))
    except OSError as exc:
        return fail(args.command, describe_os_error(exc))


def fail(command: str, message: str) -> int:
    """Print ``wamkt COMMAND: message`` as one line on stderr (secrets in URLs masked); exit code 2."""
    line = " ".join(redact_urls(message).split())
    print(f"wamkt {command}: {line}", file=sys.stderr, flush=True)
    return USAGE_ERROR


def describe_os_error(exc: OSError) -> str:
    """An OSError as "what: where; check ..." without the errno noise."""
    what = exc.strerror or type(exc).__name__
    where = f": {exc.filename}" if exc.filename is not None else ""
    hint = "; check the path and its permissions" if exc.filename is not None else ""
    return f"{what}{where}{hint}" if exc.strerror else f"{exc}{hint}"


def port_number(text: str) -> int:
    """argparse type: a TCP port 0-65535."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (0-65535)")
    return port


def whole_number(minimum: int) -> Callable[[str], int]:
    """argparse type: a whole number of at least ``minimum`` (a count, a size in bytes)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is less than {minimum}")
        return value

    return parse


def finite_number(minimum: float = 0.0) -> Callable[[str], float]:
    """argparse type: a finite number of at least ``minimum`` (seconds, days): nan and inf would
    make a wait endless or a comparison always false."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value) or value < minimum:
            raise argparse.ArgumentTypeError(f"{text} is not a finite number of at least {minimum:g}")
        return value

    return parse


def existing_parent(path: Path, option: str) -> Path:
    """``path`` whose folder exists (a file is not created in a folder that is not there: a typo
    would otherwise scatter data in new folders); a CliError saying what to do otherwise."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise CliError(f"{option} {path} is a folder: name a file in it, e.g. {path / 'wamkt.db'}")
    folder = path.parent
    for parent in (folder, *folder.parents):
        if parent.exists() and not parent.is_dir():
            raise CliError(f"{option} {path}: {parent} is a file, not a folder; choose another path")
    if not folder.is_dir():
        raise CliError(
            f"{option} {path}: the folder {folder} does not exist; create it first "
            f"(mkdir -p {folder}) or choose another path"
        )
    return path


if __name__ == "__main__":
    sys.exit(main())
