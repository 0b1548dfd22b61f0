"""A synthetic ledger written straight into SQLite, vectorised: for the benchmark at a million rows
and for dashboard tests that need realistic figures without playing campaigns through the sandbox.

Twenty campaigns (every fourth unsegmented) at 80 msg/s with statuses, failures with Meta codes,
replies within minutes and orders within a week; segments read a little better than unsegmented.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..ledger.campaigns import import_campaigns
from ..ledger.sends import IMPORT_COLUMNS as SEND_IMPORT_COLUMNS
from ..ledger.sends import import_sends
from ..ledger.states import AT_LEAST
from ..store import Store

SEGMENTS = np.array(["unsegmented", "frequent_buyers", "high_order_value", "active_7d"])


def write_ledger(store: Store, customers: pd.DataFrame, rows: int, now: float, seed: int = 7) -> None:
    """``rows`` sends over 20 campaigns, with statuses, replies and orders, written in bulk."""
    rng = np.random.default_rng(seed)
    n_campaigns = 20
    per = rows // n_campaigns
    ids = customers["customer_id"].to_numpy(dtype=object)
    phones = customers["phone"].to_numpy(dtype=object)
    starts = now - np.sort(rng.uniform(2, 90, n_campaigns))[::-1] * 86_400
    campaigns = [
        (
            f"bench{c:02d}",
            f"Campaign {c + 1}",
            "marketing",
            "complete",
            float(starts[c]),
            None if SEGMENTS[c % 4] == "unsegmented" else str(SEGMENTS[c % 4]),
        )
        for c in range(n_campaigns)
    ]
    import_campaigns(store, campaigns)
    cols = []
    for c in range(n_campaigns):
        who = rng.choice(len(ids), size=min(per, len(ids)), replace=False)
        n = len(who)
        out = starts[c] + np.arange(n) / 80.0  # 80 msg/s
        u = rng.random(n)
        lift = 0.05 * (c % 4)
        state = np.select(
            [u < 0.02, u < 0.05, u < 0.30 - lift, u < 0.38], ["excluded", "failed", "delivered", "sent"], "read"
        )
        delivered = np.isin(state, AT_LEAST["delivered"])
        cols.append(
            pd.DataFrame(
                {
                    "campaign_id": f"bench{c:02d}",
                    "customer_id": ids[who],
                    "phone": phones[who],
                    "state": state,
                    "error_code": np.where(state == "failed", rng.choice([131026, 131049, 131050, 131047], n), np.nan),
                    "accepted_at": np.where(state != "excluded", out, np.nan),
                    "sent_at": np.where(np.isin(state, AT_LEAST["sent"]), out + 1, np.nan),
                    "delivered_at": np.where(delivered, out + 3, np.nan),
                    "read_at": np.where(state == "read", out + 3 + rng.exponential(3600, n), np.nan),
                    "failed_at": np.where(state == "failed", out + 5, np.nan),
                }
            )
        )
    ledger = pd.concat(cols, ignore_index=True)
    ledger["recipient_key"] = ledger["campaign_id"] + ":" + ledger["customer_id"].astype(str)
    ledger["billable"] = np.where(ledger["delivered_at"].notna(), 1, np.nan)
    ledger["message_type"], ledger["updated_at"] = "template", now
    columns = list(SEND_IMPORT_COLUMNS)
    import_sends(
        store, ledger[columns].astype(object).where(ledger[columns].notna(), None).itertuples(index=False, name=None)
    )
    # Replies: 12 % of delivered answer, mostly within minutes; orders: 4 % buy within a week.
    reached = ledger[ledger["delivered_at"].notna()]
    replied = reached.sample(frac=0.12, random_state=seed)
    reply_at = replied["delivered_at"].to_numpy() + rng.exponential(240, len(replied))
    with store.transaction() as db:
        db.executemany(
            "INSERT INTO inbound_messages (wamid, wa_id, phone, type, text, timestamp, payload_json, received_at)"
            " VALUES (?,?,?,'text','JA',?,'{}',?)",
            zip(
                (f"wamid.b{i}" for i in range(len(replied))),
                replied["phone"].str[1:],
                replied["phone"],
                reply_at.tolist(),
                reply_at.tolist(),
                strict=True,
            ),
        )
        bought = reached.sample(frac=0.04, random_state=seed + 1)
        at = bought["delivered_at"].to_numpy() + rng.uniform(600, 6 * 86_400, len(bought))
        db.executemany(
            "INSERT INTO conversions (order_id, customer_id, phone, at, amount, source) VALUES (?,?,?,?,?,'shop')",
            zip(
                (f"o{i}" for i in range(len(bought))),
                bought["customer_id"].astype(str),
                bought["phone"],
                at.tolist(),
                np.round(rng.lognormal(3.8, 0.5, len(bought)), 2).tolist(),
                strict=True,
            ),
        )
