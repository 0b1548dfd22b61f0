"""A promotional template, its message spec and a small audience: inputs of the dry-run tests."""

from __future__ import annotations

import pandas as pd

from wamkt_nb.messages import MessageSpec, Param, template_from_text

PROMO = template_from_text(
    "rabatt_aktion",
    "de",
    "MARKETING",
    "Hallo {{first_name}}, {{discount}} Rabatt für dich! Antworte JA für deinen Code.",
    examples={"first_name": "Anna", "discount": "10 %"},
)
SPEC = MessageSpec(
    template={"de": PROMO}, params={"first_name": Param("first_name"), "discount": Param("discount", fallback="10 %")}
)


def small(n=6, **extra):
    base = {
        "customer_id": [f"c{i}" for i in range(n)],
        "phone": [f"+4915100000{i:03d}" for i in range(n)],
        "name": [None] + [f"Name{i} Muster" for i in range(1, n)],
        "discount": ["15 %"] * n,
        "first_name": [None] + [f"Name{i}" for i in range(1, n)],
        "language": ["de"] * n,
        "timezone": ["Europe/Berlin"] * n,
        "opted_in": [True] * n,
        "most_active_hour": [20.0] * n,
        "read_rate": [0.5] * n,
        "reply_rate": [0.1] * n,
    }
    return pd.DataFrame(base | extra)
