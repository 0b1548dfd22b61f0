"""A real ``jupyter server`` process hosting this checkout's Jupyter server extension (``wamkt_nb.serving``)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from helpers import ROOT
from helpers.processes import free_port, stop_process, wait_for_port


@contextmanager
def jupyter_server_with_extension(
    folder: Path, token: str, env: dict[str, str], base_url: str = "/"
) -> Iterator[tuple[int, subprocess.Popen]]:
    """Start ``jupyter server`` on a free 127.0.0.1 port under ``base_url`` with the login ``token`` and
    the extension enabled; yield its port and process once it listens. It runs in ``folder``, which holds its
    config, runtime and data folders and its log ``server.log``; its environment is this process's
    with ``env`` (the extension's ``WAMKT_*`` settings) on top and this checkout first on the path."""
    port = free_port()
    environment = dict(
        os.environ,
        **env,
        PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
        JUPYTER_CONFIG_DIR=str(folder / "cfg"),
        JUPYTER_RUNTIME_DIR=str(folder / "rt"),
        JUPYTER_DATA_DIR=str(folder / "data"),
    )
    with open(folder / "server.log", "wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyter_server",
                "--no-browser",
                "--allow-root",
                f"--port={port}",
                "--ServerApp.ip=127.0.0.1",
                f"--IdentityProvider.token={token}",
                f"--ServerApp.base_url={base_url}",
                "--ServerApp.jpserver_extensions=wamkt_nb.serving=True",
            ],
            cwd=folder,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for_port(port, proc=proc)
            yield port, proc
        finally:
            stop_process(proc, timeout=30)
