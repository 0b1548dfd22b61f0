"""The real ``wamkt`` command lists every subcommand without importing any, and a subcommand's
``--help`` shows all its options while loading only what that subcommand needs.

What a command imported is read from Python's import profile (``PYTHONPROFILEIMPORTTIME``) on
its stderr, which lists the modules loaded by import statements (not by ``importlib``).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import re
import subprocess

import pytest
from helpers.cli import wamkt

from wamkt_nb import cli

SUBCOMMAND_MODULES = sorted(info.name for info in pkgutil.iter_modules(cli.__path__) if not info.name.startswith("_"))
WITHOUT_SCIPY = ("load", "sandbox", "send", "serve", "worker")
"""Subcommands that use no statistics: scipy (about a second to import) must not load for them;
the others (A/B tests, the played histories) do load it."""


def imported(done: subprocess.CompletedProcess) -> set[str]:
    """Every module the command imported (its import profile lines on stderr)."""
    lines = (line for line in done.stderr.splitlines() if line.startswith("import time:"))
    return {line.rsplit("|", 1)[1].strip() for line in lines}


def test_help_lists_every_subcommand_without_importing_one(tmp_path):
    done = wamkt("--help", cwd=tmp_path, PYTHONPROFILEIMPORTTIME="1")
    assert done.returncode == 0, done.stderr
    listed = re.findall(r"^ {4}(\w+)", done.stdout, re.M)
    assert listed == SUBCOMMAND_MODULES
    text = " ".join(done.stdout.split())  # argparse wraps the help lines
    for name in SUBCOMMAND_MODULES:
        assert f"{name} {cli.COMMANDS[name]}" in text
    modules = imported(done)
    assert "wamkt_nb.cli" in modules
    assert not {"scipy", "pandas", "uvicorn", "httpx"} & modules


@pytest.mark.parametrize("name", SUBCOMMAND_MODULES)
def test_subcommand_help_shows_all_its_options(tmp_path, monkeypatch, name):
    monkeypatch.setenv("COLUMNS", "100")  # the same line wrapping here and in the subprocess
    expected = argparse.ArgumentParser(prog=f"wamkt {name}")
    importlib.import_module(f"wamkt_nb.cli.{name}").register(expected)
    done = wamkt(name, "--help", cwd=tmp_path, COLUMNS="100", PYTHONPROFILEIMPORTTIME="1")
    assert done.returncode == 0, done.stderr
    assert done.stdout == expected.format_help()
    assert ("scipy" in imported(done)) == (name not in WITHOUT_SCIPY)


def test_a_subcommand_parses_its_options_as_before():
    """The options are added when the subcommand is chosen, so parsing them works as before."""
    args = cli.build_parser().parse_args(["worker", "--sandbox", "http://127.0.0.1:1", "--once", "--poll", "2"])
    assert (args.command, args.base_url, args.once, args.poll) == ("worker", "http://127.0.0.1:1", True, 2.0)
    assert args.run is importlib.import_module("wamkt_nb.cli.worker").run
