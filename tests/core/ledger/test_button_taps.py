"""Per-button taps on SQLite and PostgreSQL: inbound ``button`` messages answering a campaign's sends
are counted per payload (the label when the business set none), other messages and other
campaigns' taps are not."""

import pytest
from helpers.plans import NOW, make_plan
from helpers.webhook_payloads import inbound, status

from wamkt_nb import ledger
from wamkt_nb.analytics import button_taps
from wamkt_nb.ledger import Outcome
from wamkt_nb.webhooks.record import record_batch
from wamkt_nb.webhooks.updates import parse_payload

pytestmark = pytest.mark.both_stores


def sent(store, name: str, n: int) -> list[tuple[str, str]]:
    """A campaign of ``n`` messages, all accepted and delivered: (wamid, phone) of each."""
    cid = ledger.create_campaign(store, make_plan(n), name=name, now=NOW, campaign_id=name)
    rows = ledger.planned_sends(store, cid)
    ledger.claim(store, [(r.send_id, 1, "pn1") for r in rows], NOW + 1)
    ledger.record_outcomes(
        store, [Outcome(r.send_id, 1, "accepted", NOW + 2, wamid=f"wamid.{name}.{i}") for i, r in enumerate(rows)]
    )
    for i, r in enumerate(rows):
        delivered = status(f"wamid.{name}.{i}", "delivered", ts=NOW + 3, callback=None, recipient=r.phone.lstrip("+"))
        record_batch(store, parse_payload(delivered), NOW + 4)
    assert ledger.state_counts(store, cid)["delivered"] == n
    return [(f"wamid.{name}.{i}", r.phone) for i, r in enumerate(rows)]


def tap(store, n: int, to: tuple[str, str], payload: str, label: str) -> None:
    wamid, phone = to
    body = inbound(
        phone.lstrip("+"),
        wamid=f"wamid.tap{n}",
        ts=NOW + 100 + n,
        type="button",
        button={"payload": payload, "text": label},
        context={"from": "4930123456", "id": wamid},
    )
    body["entry"][0]["changes"][0]["value"]["messages"][0].pop("text")
    record_batch(store, parse_payload(body), NOW + 200 + n)


def test_taps_are_counted_per_button_and_campaign(store):
    poll, other = sent(store, "poll", 4), sent(store, "other", 2)
    tap(store, 1, poll[0], "SHOES", "Schuhe")
    tap(store, 2, poll[1], "SHOES", "Schuhe")
    tap(store, 3, poll[1], "SHOES", "Schuhe")  # the same customer twice
    tap(store, 4, poll[2], "Jacken", "Jacken")  # no payload set: Meta returns the label
    tap(store, 5, other[0], "STOP", "Keine Werbung")
    record_batch(store, parse_payload(inbound(poll[3][1].lstrip("+"), "Danke", wamid="wamid.text")), NOW + 300)

    rows = ledger.button_tap_rows(store, "poll")
    assert [(r[1], r[2], r[3], r[4]) for r in rows] == [("SHOES", "Schuhe", 3, 2), ("Jacken", "Jacken", 1, 1)]
    everything = button_taps(store)
    assert set(zip(everything["campaign_id"], everything["payload"], strict=True)) == {
        ("poll", "SHOES"),
        ("poll", "Jacken"),
        ("other", "STOP"),
    }
    poll_taps = button_taps(store, "poll").set_index("payload")
    assert poll_taps.loc["SHOES", "tap_rate"] == 2 / 4 and poll_taps.loc["SHOES", "button"] == "Schuhe"
    assert button_taps(store, "nobody-tapped").empty
