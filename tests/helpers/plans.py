"""Campaign plans shaped like the dry-run report, for the ledger, sender and widget tests."""

from __future__ import annotations

import time

import pandas as pd


def zone_where_it_is(hour: int, at: float | None = None) -> str:
    """An IANA zone where the local clock shows ``hour`` o'clock at ``at`` (default now): tests put
    recipients at noon (never in quiet hours) or at night, whatever the time the suite runs at."""
    utc_hour = time.gmtime(time.time() if at is None else at).tm_hour
    offset = (hour - utc_hour + 12) % 24 - 12  # -12 .. +11 hours from UTC
    return "Etc/GMT" + (f"{-offset:+d}" if offset else "")  # Etc/GMT signs are inverted (POSIX)


NOW = 1_780_000_000.0


def make_plan(
    n: int | pd.DataFrame,
    *,
    category: str = "utility",
    excluded: int = 0,
    template: str | None = None,
    planned_at: float = NOW,
) -> pd.DataFrame:
    """A campaign plan shaped like the dry-run report (docs/contracts.md).

    ``n`` is a count (made-up phones) or a customers frame; ``template`` sends that approved
    template (positional name + order number) instead of free-form text.
    """
    if isinstance(n, int):
        people = [(f"c{i}", f"+49151{i:07d}", f"Kunde {i}") for i in range(n)]
    else:
        people = list(zip(n["customer_id"].astype(str), n["phone"], n["first_name"].fillna("Kunde"), strict=True))
    rows = []
    for i, (cid, phone, first) in enumerate(people):
        out = "excluded" if i < excluded else "send"
        if template:
            payload = {
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": phone,
                "type": "template",
                "template": {
                    "name": template,
                    "language": {"code": "de"},
                    "components": [
                        {
                            "type": "body",
                            "parameters": [{"type": "text", "text": first}, {"type": "text", "text": f"#{i}"}],
                        }
                    ],
                },
            }
        else:
            payload = {
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": phone,
                "type": "text",
                "text": {"body": f"Hallo {first}", "preview_url": False},
            }
        rows.append(
            {
                "customer_id": cid,
                "phone": phone,
                "name": first,
                "outcome": out,
                "reason": "opted_out" if out == "excluded" else "",
                "category": category,
                "message_type": "template" if template else "text",
                "body": f"Hallo {first}",
                "payload": payload,
                "planned_at": pd.Timestamp(planned_at, unit="s", tz="UTC"),
                "arm": "",
                "cost": 0.0,
                "timezone": zone_where_it_is(12),  # the sender checks quiet hours at send time
            }
        )
    return pd.DataFrame(rows)
