"""A Voila server on a real notebook and checks of the page headless Chromium rendered."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from . import ROOT
from .processes import free_port, stop_process, wait_for_port

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def voila_server(notebook: Path, env: dict[str, str] | None = None, log: Path | None = None) -> Iterator[str]:
    """Serve ``notebook`` with the real ``voila`` command; yield its URL."""
    port = free_port()
    out = open(log, "wb") if log else subprocess.DEVNULL
    proc = subprocess.Popen(
        [sys.executable, "-m", "voila", str(notebook), "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1"],
        cwd=ROOT,
        env=dict(os.environ, **(env or {})),
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, proc=proc)
        yield f"http://127.0.0.1:{port}/"
    finally:
        stop_process(proc)
        if log:
            out.close()


def open_dashboard(page, url: str, selector: str, timeout_ms: int = 120_000):
    """Load a Voila page, wait until its cells rendered and ``selector`` is visible; return that locator."""
    page.goto(url, timeout=timeout_ms)
    page.locator("#rendered_cells").wait_for(state="visible", timeout=timeout_ms)
    found = page.locator(selector).first
    found.wait_for(state="visible", timeout=timeout_ms)
    return found


SECRETS = {
    "WAMKT_ACCESS_TOKEN": "EAAGtesttokenDoNotShow123",
    "WAMKT_APP_SECRET": "appsecretDoNotShow456",
    "WAMKT_VERIFY_TOKEN": "verifyDoNotShow789",
}
"""Known secret values the browser tests give their Voila servers: none may reach a page."""


def check_clean(page, phones: Iterable[str]) -> None:
    """No error box, no traceback, and in the whole page HTML no full phone number of ``phones``
    (E.164, with or without the plus) and no value of ``SECRETS``."""
    html = page.content()
    assert page.locator(".wamkt-error").count() == 0
    assert "Traceback" not in html and page.locator(".jp-OutputArea-output .ansi-red-fg").count() == 0
    leaked = [p for p in phones if p in html or p[1:] in html]
    assert not leaked, f"{len(leaked)} full phone numbers in the page"
    assert not [name for name, secret in SECRETS.items() if secret in html], "a secret in the page"


COLOURS = """(el) => {
  const text = getComputedStyle(el).color;
  let node = el;
  while (node) {
    const bg = getComputedStyle(node).backgroundColor;
    if (bg && bg !== 'transparent' && !/rgba\\(.*,\\s*0\\)$/.test(bg)) return [text, bg];
    node = node.parentElement;
  }
  return [text, 'rgb(255, 255, 255)'];
}"""
"""JavaScript for ``locator.evaluate``: the text colour of an element and the first opaque background
behind it, as CSS colour strings (for contrast checks)."""
