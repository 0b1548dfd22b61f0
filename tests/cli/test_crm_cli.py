"""``wamkt load --crm-url`` against the fake CRM on 127.0.0.1: progress on stderr, Ctrl-C, errors."""

from __future__ import annotations

import io
import os
import signal
import threading
import time

import pytest
from helpers.crm_server import TOKEN, crm, fresh_crm  # noqa: F401 (crm, fresh_crm: fixtures)  # noqa: F401 (crm, fresh_crm: fixtures)

from wamkt_nb.cli import main
from wamkt_nb.cli.load import ProgressLine
from wamkt_nb.data.crm import FetchProgress
from wamkt_nb.workspace import load_customer_data

CRM_CUSTOMERS = N = 1_000


@pytest.fixture(autouse=True)
def _token(monkeypatch):
    monkeypatch.setenv("WAMKT_CRM_TOKEN", TOKEN)


def test_progress_goes_to_stderr_and_the_customers_are_saved(crm, tmp_path, capsys):
    ws = tmp_path / "ws"
    argv = [
        "load",
        "--crm-url",
        crm.base + "/page/customers",
        "--crm-pagination",
        "page",
        "--crm-page-size",
        "100",
        "--workspace",
        str(ws),
    ]
    assert main(argv) == 0
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert lines[0].startswith("CRM page 1 · 0 records · ") and "/page/customers" in lines[0]
    assert lines[-1].startswith(f"CRM 10 of 10 pages · {N:,} records · ") and "elapsed" in lines[-1]
    assert TOKEN not in captured.err + captured.out
    assert "customers from CRM http://127.0.0.1:" in captured.out and "saved to" in captured.out
    assert len(load_customer_data(ws).customers) > 0 and crm.hits["/page/customers"] == 10


def test_quiet_leaves_stderr_empty(crm, tmp_path, capsys):
    assert main(["load", "--crm-url", crm.base + "/page/customers", "--quiet", "--workspace", str(tmp_path)]) == 0
    assert capsys.readouterr().err == ""


def test_an_error_says_what_was_received_and_saves_nothing(crm, tmp_path, capsys):
    crm.fail_from = 3
    ws = tmp_path / "ws"
    argv = [
        "load",
        "--crm-url",
        crm.base + "/page/customers",
        "--crm-pagination",
        "page",
        "--crm-retries",
        "0",
        "--workspace",
        str(ws),
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err.splitlines()[-1]
    assert (
        "could not load: CRM answered HTTP 500" in err and "(200 records from 2 pages received); nothing saved" in err
    )
    assert not ws.exists()


def test_first_ctrl_c_cancels_cleanly(crm, tmp_path, capsys):
    crm.delay = 0.02  # 100 pages of 10: two seconds at least
    ws = tmp_path / "ws"

    def interrupt_after_three_pages() -> None:
        deadline = time.monotonic() + 60
        while crm.hits["/page/customers"] < 3 and time.monotonic() < deadline:
            time.sleep(0.005)
        os.kill(os.getpid(), signal.SIGINT)

    previous = signal.getsignal(signal.SIGINT)
    threading.Thread(target=interrupt_after_three_pages, daemon=True).start()
    argv = [
        "load",
        "--crm-url",
        crm.base + "/page/customers",
        "--crm-pagination",
        "page",
        "--crm-page-size",
        "10",
        "--workspace",
        str(ws),
    ]
    assert main(argv) == 130  # as for any Ctrl-C
    assert signal.getsignal(signal.SIGINT) is previous  # the handler is put back
    captured = capsys.readouterr()
    assert "cancelling after the request in flight" in captured.err
    last = captured.err.splitlines()[-1]
    assert "wamkt load: CRM fetch cancelled before page" in last and "nothing saved" in last
    assert not ws.exists() and crm.hits["/page/customers"] < 100


def test_progress_line_on_a_terminal_is_rewritten_in_place():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    line = ProgressLine(stream)
    line(FetchProgress(0, 0, 0, 0.0, "crm.example/c"))
    line(FetchProgress(1, 10, 0, 0.01, "crm.example/c"))  # too soon after the first: skipped
    line(FetchProgress(2, 20, 0, 0.5, "crm.example/c", done=True))
    assert stream.getvalue() == (
        "\r\x1b[KCRM page 1 · 0 records · 0 records/s · 0:00 elapsed · crm.example/c"
        "\r\x1b[KCRM 2 pages · 20 records · 40 records/s · 0:00 elapsed · crm.example/c\n"
    )
