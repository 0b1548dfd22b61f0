"""The real ``wamkt`` command, as a subprocess, on expected failures: exit 2, one line, no secret.

Each case is named after the defect of issue #17 it guards against (a traceback, a password or
token printed, folders created silently).
"""

from __future__ import annotations

import gzip
import os

import pytest
from helpers.cli import SECRET, assert_one_clear_line, wamkt

from wamkt_nb.redact import redact_url, redact_urls


@pytest.fixture
def receiver_env() -> dict[str, str]:
    return {"WAMKT_APP_SECRET": "app-secret", "WAMKT_VERIFY_TOKEN": "verify-token"}


def test_serve_db_under_a_regular_file_is_one_line_not_a_traceback(tmp_path, receiver_env):
    (tmp_path / "FILE").write_text("x")
    done = wamkt("serve", "--db", str(tmp_path / "FILE" / "x.db"), cwd=tmp_path, **receiver_env)
    assert_one_clear_line(done, "wamkt serve: --db", "is a file, not a folder")


def test_serve_db_in_a_missing_folder_refuses_instead_of_creating_it(tmp_path, receiver_env):
    target = tmp_path / "nonexistent" / "dir" / "x.db"
    done = wamkt("serve", "--db", str(target), cwd=tmp_path, **receiver_env)
    assert_one_clear_line(done, "does not exist; create it first")
    assert not (tmp_path / "nonexistent").exists()


def test_serve_db_that_is_a_folder_names_a_file_to_use(tmp_path, receiver_env):
    done = wamkt("serve", "--db", str(tmp_path), cwd=tmp_path, **receiver_env)
    assert_one_clear_line(done, "is a folder: name a file in it")


def test_serve_without_secrets_says_which_to_set(tmp_path):
    done = wamkt("serve", cwd=tmp_path)
    assert_one_clear_line(done, "set WAMKT_APP_SECRET and WAMKT_VERIFY_TOKEN")


def test_sandbox_unreachable_webhook_is_one_line_without_the_token(tmp_path):
    url = f"http://127.0.0.1:9/webhook?token={SECRET}&hub.verify_token={SECRET}"
    done = wamkt("sandbox", "--customers", "20", "--port", "0", "--webhook", url, cwd=tmp_path)
    line = assert_one_clear_line(done, "not reachable", "is the receiver running")
    assert "token=***" in line


def test_sandbox_malformed_webhook_url_is_one_line_without_the_password(tmp_path):
    done = wamkt("sandbox", "--customers", "20", "--webhook", f"htp://user:{SECRET}@[::1", cwd=tmp_path)
    assert_one_clear_line(done, "--webhook htp://***@[::1")


def test_sandbox_missing_workspace_folder_is_one_line(tmp_path):
    done = wamkt("sandbox", "--workspace", str(tmp_path / "nowhere"), cwd=tmp_path)
    assert_one_clear_line(done, "is not a folder")


def test_load_crm_url_with_a_password_never_prints_it(tmp_path):
    done = wamkt(
        "load",
        "--crm-url",
        f"http://user:{SECRET}@127.0.0.1:9/customers?api_key={SECRET}",
        "--crm-retries",
        "0",
        "--quiet",
        cwd=tmp_path,
    )
    assert_one_clear_line(done, "CRM unreachable", "http://***@127.0.0.1:9/customers?api_key=***")


def test_load_crm_url_that_is_not_a_url_is_one_line(tmp_path):
    done = wamkt("load", "--crm-url", f"http://user:{SECRET}@[::1", "--quiet", cwd=tmp_path)
    assert_one_clear_line(done, "is not a valid URL")


@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("missing.csv", None, "no such file"),
        ("garbage.csv", bytes(range(256)) * 20, "is not a text table"),
        ("deep.json", b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        ("header.csv", b'"name\nwith a line break",x\nA,1\n', "no phone column"),
    ],
)
def test_load_unreadable_files_are_one_line(tmp_path, name, content, expected):
    if content is not None:
        (tmp_path / name).write_bytes(content)
    done = wamkt("load", str(tmp_path / name), cwd=tmp_path)
    assert_one_clear_line(done, "wamkt load: could not load", expected, "nothing saved")


def test_load_into_a_workspace_under_a_file_is_one_line(tmp_path):
    (tmp_path / "FILE").write_text("x")
    (tmp_path / "k.csv").write_text("phone,name\n+4915112345678,A\n")
    done = wamkt("load", str(tmp_path / "k.csv"), "--workspace", str(tmp_path / "FILE" / "ws"), cwd=tmp_path)
    assert_one_clear_line(done, "Not a directory", "check the path")


def test_load_bad_mapping_argument_is_one_line(tmp_path):
    (tmp_path / "k.csv").write_text("phone,name\n+4915112345678,A\n")
    done = wamkt("load", str(tmp_path / "k.csv"), "--map", "phone", cwd=tmp_path)
    assert_one_clear_line(done, "--map needs FIELD=COLUMN")


@pytest.mark.parametrize(
    "url, expected",
    [
        ("http://user:pw@host/x?page=2&token=abc", "http://***@host/x?page=2&token=***"),
        (
            "https://crm.example/api?access_token=a&apiKey=b&client_secret=c&signature=d&q=1",
            "https://crm.example/api?access_token=***&apiKey=***&client_secret=***&signature=***&q=1",
        ),
        ("http://h/cb?hub.verify_token=v&hub.challenge=1", "http://h/cb?hub.verify_token=***&hub.challenge=1"),
        ("https://app.example/#access_token=xyz&state=1", "https://app.example/#access_token=***&state=1"),
        ("htp://user:pw@[::1", "htp://***@[::1"),
        ("http://127.0.0.1:8000/webhook", "http://127.0.0.1:8000/webhook"),
    ],
)
def test_redact_url_masks_userinfo_and_secret_parameters(url, expected):
    assert redact_url(url) == expected


def test_redact_urls_masks_every_url_in_a_message():
    message = f"callback http://a:{SECRET}@h/x?token={SECRET} failed; see https://ok.example/p?password={SECRET}"
    assert SECRET not in redact_urls(message) and "http://***@h/x?token=***" in redact_urls(message)


def test_load_of_a_fifo_says_it_is_not_a_regular_file_instead_of_no_such_file(tmp_path):
    os.mkfifo(tmp_path / "customers.csv")
    done = wamkt("load", str(tmp_path / "customers.csv"), cwd=tmp_path)
    assert_one_clear_line(done, "could not load", "is not a regular file", "nothing saved")


def test_load_of_a_gzip_file_says_to_decompress_it(tmp_path):
    (tmp_path / "customers.csv.gz").write_bytes(gzip.compress(b"phone,name\n+4915112345678,A\n"))
    done = wamkt("load", str(tmp_path / "customers.csv.gz"), cwd=tmp_path)
    assert_one_clear_line(done, "could not load", "gzip-compressed", "nothing saved")


@pytest.mark.parametrize(
    "args, expected",
    [
        (["serve", "--max-body", "-5"], "--max-body: -5 is less than 1"),  # was: every webhook answered 413
        (["serve", "--cooldown", "nan"], "--cooldown: nan is not a finite number"),
        (["serve", "--path", "webhook"], "--path: 'webhook' must start with '/'"),  # was: a 404 for everything
        (["sandbox", "--customers", "-5"], "--customers: -5 is less than 1"),  # was: a ValueError traceback
        (["demo", "--no-serve", "--customers", "0"], "--customers: 0 is less than 1"),
        (["demo", "--no-serve", "--days", "nan"], "--days: nan is not a finite number"),  # was: a traceback
        (["demo", "--port", "99999"], "--port: 99999 is not a port number"),
        (["calibrate", "--rounds", "-1"], "--rounds: -1 is less than 1"),  # was: a KeyError traceback
        (["calibrate", "--customers", "50"], "--customers: 50 is less than 100"),  # was: exit 1, a failed figure's code
        (["send", "--sandbox", "c1", "--timeout", "0"], "--timeout: 0 is not a finite number of at least 0.1"),
        (["send", "--sandbox", "c1", "--concurrency", "0"], "--concurrency: 0 is less than 1"),
        (["load", "k.csv", "--crm-page-size", "0"], "--crm-page-size: 0 is less than 1"),
    ],
)
def test_impossible_numbers_and_paths_in_arguments_are_refused_before_anything_runs(
    tmp_path, receiver_env, args, expected
):
    done = wamkt(*args, cwd=tmp_path, **receiver_env)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert expected in done.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "ws").exists()


@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("plan.json", bytes(range(256)) * 4, "is not a campaign plan"),  # was: "str is not valid UTF-8: surrogates..."
        ("plan.json", b"[" * 2_000 + b"]" * 2_000, "is not a campaign plan"),  # was: "depth limit exceeded"
        ("plan.json", b'"just text"', "is not a campaign plan"),
        ("plan.pkl", b"garbage", "is not a campaign plan"),  # was: "invalid literal for int() with base 10"
        ("folder", None, "check the path"),  # was: "[Errno 21] Is a directory"
    ],
)
def test_send_plan_that_is_not_a_plan_names_the_file(tmp_path, name, content, expected):
    if content is None:
        (tmp_path / name).mkdir()
    else:
        (tmp_path / name).write_bytes(content)
    done = wamkt(
        "send", "c1", "--sandbox", "--plan", str(tmp_path / name), "--db", str(tmp_path / "w.db"), cwd=tmp_path
    )
    assert_one_clear_line(done, f"wamkt send: --plan {tmp_path / name}", expected)


def test_load_region_in_lower_case_is_read_and_an_unknown_region_is_refused(tmp_path):
    """--region de rejected every local number as 'unknown country code'; --region XX did the same
    silently instead of saying the region is unknown."""
    (tmp_path / "k.csv").write_text("phone,name\n015112345678,A\n+4915112345679,B\n")
    done = wamkt("load", str(tmp_path / "k.csv"), "--region", "de", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "loaded 2, rejected 0" in done.stdout
    done = wamkt("load", str(tmp_path / "k.csv"), "--region", "XX", cwd=tmp_path)
    assert_one_clear_line(done, "could not load: unknown phone region 'XX'", "nothing saved")
