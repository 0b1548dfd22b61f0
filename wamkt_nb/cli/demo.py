"""``wamkt demo``: sample data in a workspace, then the dashboards served by Voila."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from ..data.sample import generate
from ..workspace import save_customer_data, workspace_dir

DASHBOARDS = Path(__file__).resolve().parents[2] / "dashboards"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="generate sample data and serve the dashboards with Voila")
    p.add_argument("--customers", type=int, default=5_000, help="sample size (default 5,000)")
    p.add_argument("--port", type=int, default=8866)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--workspace", type=Path, default=None, help="folder for data and database")
    p.add_argument("--seed", type=int, default=42)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    directory = args.workspace or workspace_dir()
    data = generate(args.customers, seed=args.seed)
    save_customer_data(data, directory)
    print(f"sample data: {data} in {directory}", flush=True)
    env = dict(os.environ, WAMKT_WORKSPACE=str(directory.resolve()))
    url = f"http://{args.host}:{args.port}/"
    print(f"dashboards: {url}", flush=True)
    cmd = [
        sys.executable, "-m", "voila", str(DASHBOARDS), "--no-browser",
        f"--port={args.port}", f"--Voila.ip={args.host}",
    ]
    return subprocess.call(cmd, env=env)
