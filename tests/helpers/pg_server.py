"""A real, throw-away PostgreSQL server for the tests: initdb + pg_ctl in a temp dir on a free port.

Debian installs the server binaries in /usr/lib/postgresql/<version>/bin, off PATH, so they are
looked for there as well. PostgreSQL refuses to run as root: when the tests run as root (CI) the
data directory is handed to the ``postgres`` user and the binaries run through ``runuser``.
The server listens on 127.0.0.1 only, trusts local connections (a test server holding no data
worth a password) and uses the C locale, so text order is code-point order. Its data directory lies in
memory (``/dev/shm``) when there is room: each test copies a database of some 13 MB from a template,
which on a busy disk costs ten times what it costs in memory.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server could be started; the message says why."""


def find_binary(name: str) -> str:
    """``initdb``/``pg_ctl`` on PATH or in Debian's versioned directory (the newest version)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if candidates:
        return candidates[-1]
    raise PostgresUnavailable(
        f"{name} not found on PATH or in /usr/lib/postgresql/*/bin: install PostgreSQL "
        "(bash scripts/test.sh installs Debian's postgresql package)"
    )


@dataclass
class PostgresServer:
    root: Path
    port: int
    user: str
    _as_user: list[str]
    _pg_ctl: str

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str, template: str = "") -> str:
        """A new database ``name`` (a copy of ``template`` when given, which no one may be connected to)."""
        copy = f' TEMPLATE "{template}"' if template else ""
        with psycopg.connect(self.url(), autocommit=True) as con:
            con.execute(f'CREATE DATABASE "{name}"{copy}')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop ``name``, ending any connection a test left open to it."""
        with psycopg.connect(self.url(), autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        subprocess.run(
            self._as_user + [self._pg_ctl, "-D", str(self.data), "-m", "immediate", "stop"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(self.root, ignore_errors=True)


MEMORY_FOLDER = Path("/dev/shm")
"""Where the data directory goes when it has :data:`MEMORY_NEEDED` bytes free (a container's default
``/dev/shm`` of 64 MB has not, and the server then lives in the temp folder on disk)."""

MEMORY_NEEDED = 2 * 1024**3


def data_parent() -> str | None:
    """:data:`MEMORY_FOLDER` when it has room, else ``None`` (the default temp folder)."""
    try:
        roomy = shutil.disk_usage(MEMORY_FOLDER).free >= MEMORY_NEEDED and os.access(MEMORY_FOLDER, os.W_OK)
    except OSError:
        return None
    return str(MEMORY_FOLDER) if roomy else None


def start_postgres(port: int) -> PostgresServer:
    """Start a fresh server on 127.0.0.1:``port``; raise PostgresUnavailable with the reason."""
    initdb, pg_ctl = find_binary("initdb"), find_binary("pg_ctl")
    root = Path(tempfile.mkdtemp(prefix="wamkt-pg-", dir=data_parent()))
    as_user: list[str] = []
    user = pwd.getpwuid(os.getuid()).pw_name
    if os.getuid() == 0:
        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            raise PostgresUnavailable("running as root and there is no 'postgres' user to run the server") from None
        os.chown(root, pw.pw_uid, pw.pw_gid)
        as_user, user = ["runuser", "-u", "postgres", "--"], "postgres"
    data, log = root / "data", root / "server.log"

    def run(args: list[str], what: str) -> None:
        done = subprocess.run(as_user + args, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
        if done.returncode:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            if log.exists():
                tail += log.read_text(errors="replace").strip().splitlines()[-3:]
            shutil.rmtree(root, ignore_errors=True)
            raise PostgresUnavailable(f"{what} failed (exit {done.returncode}): {' | '.join(tail)}")

    run([initdb, "-D", str(data), "-U", user, "--auth=trust", "--locale=C", "--encoding=UTF8"], "initdb")
    options = f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={root} -c fsync=off"
    run([pg_ctl, "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start"], "pg_ctl start")
    return PostgresServer(root, port, user, as_user, pg_ctl)
