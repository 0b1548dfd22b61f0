"""A simulated customer's fate is a function of (seed, customer, message): not of the order in which
concurrent sends reach the sandbox, nor of what the other customers got. A scenario on a fixed seed
gives the same results on every run, however the machine is loaded."""

from __future__ import annotations

import orjson
import pandas as pd

from wamkt_nb.clock import ManualClock
from wamkt_nb.cloudapi import template_message
from wamkt_nb.data.sample import generate
from wamkt_nb.sandbox import BehaviourParams, Sandbox, SandboxConfig

START = pd.Timestamp("2026-11-20 14:00", tz="UTC").timestamp()
DATA = generate(400, seed=5, now="2026-11-20")


def _fates(phones: list[str], seed: int = 7) -> pd.DataFrame:
    """Send one template to ``phones`` in that order, play three days; each customer's outcome."""
    cfg = SandboxConfig(messaging_tier="TIER_UNLIMITED", throughput_per_second=10_000, seed=seed)
    sb = Sandbox(
        customers=DATA, clock=ManualClock(START), config=cfg, params=BehaviourParams(variant_read_uplift={"B": 0.5})
    )
    try:
        for phone in phones:
            body = template_message(
                phone,
                "rabatt_aktion",
                "de",
                {"first_name": "Anna", "discount": "10 %"},
                callback_data=f"cmp:{phone}:{'AB'[int(phone[-1]) % 2]}",
            )
            assert sb.engine.send(sb.phone_number_id, orjson.dumps(body))[0] == 200
        sb.advance(3 * 86_400)
        messages = sb.messages_frame().set_index("customer_id")
        fates = messages[["status", "read_at", "error_code"]].sort_index()
        orders = sb.conversions_frame().set_index("customer_id")[["amount", "at"]]
        replies = pd.Series(sb.engine.counters).get("inbound", 0)
        return fates.join(orders, how="left").assign(replies=replies, blocked=sb.engine.counters["blocked"])
    finally:
        sb.stop()


def test_the_order_of_arrival_changes_no_customers_fate():
    phones = list(DATA.customers.phone.astype(str))
    forward = _fates(phones)
    assert forward["status"].eq("read").sum() > 50 and forward["amount"].notna().any()
    pd.testing.assert_frame_equal(forward, _fates(phones[::-1]))
    # half the customers, in another order: those get exactly what they got among all
    half = phones[::2][::-1]
    alone = _fates(half)
    pd.testing.assert_frame_equal(
        alone[["status", "read_at", "amount"]], forward.loc[alone.index, ["status", "read_at", "amount"]]
    )


def test_another_seed_gives_other_fates():
    phones = list(DATA.customers.phone.astype(str))
    assert not _fates(phones)["read_at"].equals(_fates(phones, seed=8)["read_at"])
