"""Benchmark: personalise + compliance + dry-run report for 1,000,000 recipients.

Prints the wall time of the vectorised path (``dry_run``) and the ratio against a per-row baseline:
a Python loop that renders each message with ``str.format`` and checks the rules row by row (the
way a simple campaign script does it) on the same recipients: a pilot on the first rows estimates
its time, then it runs on all of them when the estimate fits the budget (else the pilot is
extrapolated, and the output says so). Two figures each: the report alone (what the dry-run widget
shows) and the full plan with one request body per recipient.

Run: .venv/bin/python bench/dry_run.py [--n 1000000] [--baseline-budget 300] [--pilot-n 20000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from measure import timed_baseline

from wamkt_nb.campaigns.dryrun import dry_run
from wamkt_nb.cloudapi.payloads import template_message
from wamkt_nb.compliance import Policy, recently_marketed, zone_for_phone
from wamkt_nb.data.features import build_features
from wamkt_nb.data.sample import generate
from wamkt_nb.messages import MessageSpec, Param, template_from_text
from wamkt_nb.store import open_store

NOW = pd.Timestamp("2026-11-25 17:00", tz="UTC")
TEXT = "Hallo {first_name}, {discount} Rabatt für dich! Antworte JA für deinen Code."
TEMPLATE = template_from_text(
    "rabatt_aktion",
    "de",
    "MARKETING",
    "Hallo {{first_name}}, {{discount}} Rabatt für dich! Antworte JA für deinen Code.",
    examples={"first_name": "Anna", "discount": "10 %"},
)
SPEC = MessageSpec(template={"de": TEMPLATE}, params={"first_name": Param("first_name"), "discount": Param("discount")})
GREETING = {"de": "Hallo", "en": "Hi", "nl": "Hallo", "pt": "Olá"}


def audience(n: int) -> pd.DataFrame:
    data = generate(n, seed=11, now=NOW.normalize(), orders_per_customer=2, interactions_per_customer=3)
    features = build_features(data, NOW)
    features["discount"] = np.where(features["total_spend"] > 500, "20 %", "10 %")
    rng = np.random.default_rng(5)
    features.loc[rng.random(n) < 0.05, "timezone"] = None  # zone from the phone number for 5 %
    return features


def fill_store(store, features: pd.DataFrame) -> None:
    """Some history: opt-outs, open service windows and another campaign's marketing reservations."""
    phones = features["phone"].to_numpy(dtype=object)
    now = NOW.timestamp()
    rng = np.random.default_rng(9)
    pick = lambda k: phones[rng.choice(len(phones), k, replace=False)]  # noqa: E731
    with store.transaction() as conn:
        conn.executemany(
            "INSERT OR REPLACE INTO consent VALUES (?, 0, ?, 'keyword')",
            [(p, now - 3600) for p in pick(len(phones) // 100)],
        )
        conn.executemany(
            "INSERT OR REPLACE INTO service_windows VALUES (?, ?)", [(p, now - 1800) for p in pick(len(phones) // 50)]
        )
        conn.executemany(
            "INSERT OR REPLACE INTO marketing_reservations VALUES (?, 'other', ?)",
            [(p, now - 7200) for p in pick(len(phones) // 20)],
        )


def baseline(features: pd.DataFrame, store, payloads: bool) -> None:
    """Row by row: str.format, rule checks, local time, schedule, cost (and the request body)."""
    now = NOW.timestamp()
    opted_out = {r[0] for r in store.query("SELECT phone FROM consent WHERE marketing = 0")}
    windows = {
        r[0] for r in store.query("SELECT phone FROM service_windows WHERE last_inbound_at > ?", (now - 86_400,))
    }
    capped = recently_marketed(store, now, "bench")
    policy = Policy()
    used, free_left, rows = 0, 1_000, []
    for row in features.itertuples(index=False):
        first = (
            row.first_name
            if isinstance(row.first_name, str) and row.first_name.strip()
            else (row.name.split()[0] if isinstance(row.name, str) and row.name.strip() else None)
        )
        lang = (row.language or "de")[:2].lower()
        body = TEXT.format(first_name=first or GREETING.get(lang, "Hi"), discount=row.discount)
        reason = ""
        if not row.opted_in:
            reason = "no_opt_in"
        elif row.phone in opted_out:
            reason = "opted_out"
        elif row.phone.startswith("+1"):
            reason = "us_marketing"
        elif row.interaction_recency == "inactive_90d":
            reason = "inactive_90d"
        elif row.phone in capped:
            reason = "marketing_cap_24h"
        zone = ZoneInfo(row.timezone if isinstance(row.timezone, str) else zone_for_phone(row.phone))
        local = datetime.fromtimestamp(now, UTC).astimezone(zone)
        hour = row.most_active_hour
        if hour != hour or policy.in_quiet_hours(np.array([hour]))[0]:
            hour = 10 if local.hour < 12 else 20 if local.hour < 22 else 10
        target = local.replace(hour=int(hour), minute=0, second=0, microsecond=0)
        if target + timedelta(hours=1) <= local:
            target += timedelta(days=1)
        planned = max(target, local)
        outcome = "send" if not reason else "excluded"
        if outcome == "send" and row.phone not in windows:
            used += 1
            if used > policy.daily_limit:
                outcome, reason = "later", "tier_limit"
                planned += timedelta(days=1 + (used - policy.daily_limit - 1) // policy.daily_limit)
        cost = 0.0
        if outcome != "excluded":
            if free_left:
                free_left -= 1
            else:
                cost = 0.01
        payload = (
            template_message(
                row.phone, "rabatt_aktion", "de", {"first_name": first or "Hallo", "discount": row.discount}
            )
            if payloads and outcome != "excluded"
            else None
        )
        rows.append((row.customer_id, outcome, reason, body, planned, cost, payload))
    report = pd.DataFrame(rows, columns=["customer_id", "outcome", "reason", "body", "planned_at", "cost", "payload"])
    report.groupby(["outcome", "reason"]).size()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument(
        "--baseline-budget",
        type=float,
        default=300.0,
        help="run the per-row baseline on all recipients if the pilot estimates at most this many "
        "seconds, else extrapolate the pilot (0 = always in full)",
    )
    ap.add_argument("--pilot-n", type=int, default=20_000, help="recipients the baseline's pilot runs on")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    t = time.perf_counter()
    features = audience(args.n)
    print(f"data: {args.n:,} customers with features in {time.perf_counter() - t:.1f} s (not timed below)")
    with tempfile.TemporaryDirectory() as tmp, open_store(Path(tmp) / "bench.db") as store:
        fill_store(store, features)
        for payloads, label in (
            (False, "report (personalise + compliance + schedule + cost + funnel)"),
            (True, "full plan incl. one /messages request body per recipient"),
        ):
            times, cpus = [], []
            for _ in range(args.repeat):
                t, c = time.perf_counter(), time.process_time()
                report = dry_run(features, SPEC, now=NOW, store=store, campaign_id="bench", payloads=payloads)
                report.counts()
                report.summary()
                times.append(time.perf_counter() - t)
                cpus.append(time.process_time() - c)
            best, cpu = min(times), min(cpus)
            print(f"\n{label}")
            print(
                f"  vectorised: best {best:.2f} s wall of {args.repeat} (all: {', '.join(f'{x:.2f}' for x in times)})"
                f", {cpu:.2f} s CPU -> {args.n / best / 1e6:.2f} M recipients/s",
                flush=True,
            )
            timed = timed_baseline(
                lambda k, payloads=payloads: baseline(features.head(k), store, payloads),
                len(features),
                args.pilot_n,
                args.baseline_budget,
            )
            base, base_cpu = timed.wall, timed.cpu
            print(f"  per-row baseline: {base:.1f} s wall, {base_cpu:.1f} s CPU ({timed.note()})")
            print(f"  ratio: {base / best:.1f}x wall, {base_cpu / cpu:.1f}x CPU  (target >= 20x and < 5 s)")
        summary = report.summary()
        print(
            f"\nplan: send {summary['send']:,}, later {summary['later']:,}, excluded {summary['excluded']:,}; "
            f"cost {summary['cost']:,.2f} {summary['currency']} ({summary['rate_card']})"
        )
        print(report.counts()[["outcome", "reason", "recipients"]].to_string(index=False))
    print("(machine shared with other work: figures may be noisy)")


if __name__ == "__main__":
    main()
