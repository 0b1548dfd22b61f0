"""``wamkt load``: customers (and orders, interactions) from files or a CRM into the workspace.

The same loaders as the data loader widget; prints the counts per file, writes the rejects
next to the data as CSV, and exits 1 when nothing could be loaded.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..data.crm import CrmConfig, load_crm_customers
from ..data.loaders import LoadResult, load_customers, load_interactions, load_orders, to_customer_data
from ..data.readers import LoadError
from ..workspace import save_customer_data, workspace_dir


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("load", help="load customers/orders/interactions from files or a CRM into the workspace")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("customers", nargs="?", type=Path, help="customer file (CSV, Excel, Parquet, JSON, NDJSON)")
    src.add_argument("--crm-url", help="CRM REST endpoint listing customers (token from WAMKT_CRM_TOKEN)")
    p.add_argument("--crm-auth", choices=("bearer", "api_key", "none"), default="bearer")
    p.add_argument("--orders", type=Path)
    p.add_argument("--interactions", type=Path)
    p.add_argument("--region", default="DE", help="default phone region for numbers without +country code")
    p.add_argument("--map", action="append", default=[], metavar="FIELD=COLUMN",
                   help="explicit column mapping for the customer source, e.g. --map phone=Handy")
    p.add_argument("--workspace", type=Path, default=None)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    directory = args.workspace or workspace_dir()
    try:
        mapping = dict(item.split("=", 1) for item in args.map)
    except ValueError:
        print("--map needs FIELD=COLUMN")
        return 2
    try:
        if args.crm_url:
            config = CrmConfig(args.crm_url, token=os.environ.get("WAMKT_CRM_TOKEN") or None, auth=args.crm_auth)
            customers = load_crm_customers(config, mapping, args.region)
        else:
            customers = load_customers(args.customers, mapping, args.region)
        _report(customers, directory)
        orders = interactions = None
        if args.orders:
            orders = load_orders(args.orders, customers.rows, default_region=args.region)
            _report(orders, directory)
        if args.interactions:
            interactions = load_interactions(args.interactions, customers.rows, default_region=args.region)
            _report(interactions, directory)
    except LoadError as exc:
        print(f"could not load: {exc}")
        return 1
    if customers.loaded == 0:
        print("no customer could be loaded; nothing saved")
        return 1
    save_customer_data(to_customer_data(customers, orders, interactions), directory)
    print(f"saved to {directory}")
    return 0


def _report(result: LoadResult, directory: Path) -> None:
    counts = ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in result.summary().items())
    print(f"{result.kind} from {result.source}: {counts}")
    for note in result.notes:
        print(f"  {note}")
    if result.rejected:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"rejects_{result.kind}.csv"
        result.rejects.to_csv(path, index=False)
        print(f"  rejects with reasons: {path}")
