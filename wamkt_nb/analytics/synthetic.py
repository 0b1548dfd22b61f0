"""A synthetic ledger written straight into the store, vectorised: for the benchmark at a million rows
and for dashboard tests that need realistic figures without playing campaigns through the sandbox.

Twenty or more campaigns (every fourth unsegmented) at 80 msg/s with statuses, failures with Meta codes,
replies within minutes and orders within a week; segments read a little better than unsegmented.
"""

from __future__ import annotations

from itertools import repeat

import numpy as np
import pandas as pd

from ..ledger.campaigns import import_campaigns
from ..ledger.sends import IMPORT_COLUMNS as SEND_IMPORT_COLUMNS
from ..ledger.sends import import_sends
from ..ledger.states import AT_LEAST
from ..store import Store
from ..store.bulk import copy_rows

SEGMENTS = np.array(["unsegmented", "frequent_buyers", "high_order_value", "active_7d"])


def write_ledger(store: Store, customers: pd.DataFrame, rows: int, now: float, seed: int = 7) -> None:
    """``rows`` sends over at least 20 campaigns (more when one campaign would need more recipients
    than there are customers), with statuses, replies and orders, written in bulk one campaign at a
    time (``COPY`` on PostgreSQL), so ten million rows never sit in memory at once."""
    rng = np.random.default_rng(seed)
    ids = customers["customer_id"].astype(str).to_numpy(dtype=object)
    phones = customers["phone"].to_numpy(dtype=object)
    n_campaigns = max(20, -(-rows // max(len(ids), 1)))
    per = rows // n_campaigns
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
    for c in range(n_campaigns):
        sends = _campaign_sends(rng, f"bench{c:02d}", float(starts[c]), 0.05 * (c % 4), ids, phones, per)
        sends["billable"] = np.where(sends["delivered_at"].notna(), 1, np.nan)
        sends["message_type"], sends["updated_at"] = "template", now
        import_sends(store, _tuples(sends, SEND_IMPORT_COLUMNS))
        _answers(store, rng, sends[sends["delivered_at"].notna()], f"{c}.")


def _campaign_sends(
    rng: np.random.Generator, campaign_id: str, start: float, lift: float, ids: np.ndarray, phones: np.ndarray, per: int
) -> pd.DataFrame:
    """One campaign's ledger rows at 80 msg/s: statuses, failures with Meta codes, read times."""
    who = rng.choice(len(ids), size=min(per, len(ids)), replace=False)
    n = len(who)
    out = start + np.arange(n) / 80.0
    u = rng.random(n)
    state = np.select(
        [u < 0.02, u < 0.05, u < 0.30 - lift, u < 0.38], ["excluded", "failed", "delivered", "sent"], "read"
    )
    delivered = np.isin(state, AT_LEAST["delivered"])
    customer_ids = ids[who]
    return pd.DataFrame(
        {
            "campaign_id": campaign_id,
            "recipient_key": campaign_id + ":" + pd.Series(customer_ids, dtype=object),
            "customer_id": customer_ids,
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


_INTEGER_COLUMNS = {"error_code", "billable"}


def _tuples(frame: pd.DataFrame, columns: tuple[str, ...]) -> list[tuple]:
    """Rows of ``columns`` as tuples, NaN as None and integer columns as ints (``COPY`` parses text)."""
    values = []
    for name in columns:
        column = frame[name]
        if name in _INTEGER_COLUMNS:
            values.append([None if v != v else int(v) for v in column.tolist()])
        elif column.dtype.kind == "f":
            arr = column.to_numpy()
            cells = arr.astype(object)
            cells[np.isnan(arr)] = None
            values.append(cells.tolist())
        else:
            values.append(column.tolist())
    return list(zip(*values, strict=True))


def _answers(store: Store, rng: np.random.Generator, reached: pd.DataFrame, prefix: str) -> None:
    """Replies (12 % of delivered answer, mostly within minutes) and orders (4 % buy within a week)."""
    replied = reached[rng.random(len(reached)) < 0.12]
    reply_at = replied["delivered_at"].to_numpy() + rng.exponential(240, len(replied))
    copy_rows(
        store,
        "inbound_messages",
        ("wamid", "wa_id", "phone", "type", "text", "timestamp", "payload_json", "received_at"),
        zip(
            (f"wamid.b{prefix}{i}" for i in range(len(replied))),
            replied["phone"].str[1:],
            replied["phone"],
            repeat("text"),
            repeat("JA"),
            reply_at.tolist(),
            repeat("{}"),
            reply_at.tolist(),
            strict=False,
        ),
    )
    bought = reached[rng.random(len(reached)) < 0.04]
    at = bought["delivered_at"].to_numpy() + rng.uniform(600, 6 * 86_400, len(bought))
    copy_rows(
        store,
        "conversions",
        ("order_id", "customer_id", "phone", "at", "amount", "source"),
        zip(
            (f"o{prefix}{i}" for i in range(len(bought))),
            bought["customer_id"].astype(str),
            bought["phone"],
            at.tolist(),
            np.round(rng.lognormal(3.8, 0.5, len(bought)), 2).tolist(),
            repeat("shop"),
            strict=False,
        ),
    )
