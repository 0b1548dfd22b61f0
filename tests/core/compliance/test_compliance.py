"""Compliance: every reason code, quiet hours in the recipient's zone, the tier, and the race-free 24 h cap."""

from __future__ import annotations

import multiprocessing as mp

import numpy as np
import pandas as pd
import pytest

from wamkt_nb.compliance import (
    Policy,
    apply_daily_limit,
    check_rules,
    planned_times,
    recipient_zones,
    release_marketing,
    reserve_marketing,
    zone_for_phone,
)
from wamkt_nb.store import open_store

pytestmark = pytest.mark.both_stores

NOW = pd.Timestamp("2026-11-25 17:00", tz="UTC").timestamp()  # 18:00 in Berlin
DAY = 86_400.0


def people(**extra) -> pd.DataFrame:
    base = {
        "customer_id": ["ok", "noopt", "out", "us", "idle", "capped", "hold"],
        "phone": [
            "+4915100000001",
            "+4915100000002",
            "+4915100000003",
            "+12125550100",
            "+4915100000005",
            "+4915100000006",
            "+4915100000007",
        ],
        "opted_in": [True, False, True, True, True, True, True],
        "interaction_recency": [
            "active_7d",
            "active_7d",
            "active_7d",
            "active_7d",
            "inactive_90d",
            "active_7d",
            "active_7d",
        ],
        "arm": ["A", "A", "A", "A", "A", "A", "holdout"],
    }
    return pd.DataFrame(base | extra)


def add_campaign(store, campaign_id, category="marketing"):
    store.execute(
        "INSERT INTO campaigns (campaign_id, name, category, created_at) VALUES (?, ?, ?, ?)",
        (campaign_id, campaign_id, category, NOW - 3 * DAY),
    )


def add_send(store, campaign_id, phone, state, at):
    store.execute(
        "INSERT INTO sends (campaign_id, recipient_key, customer_id, phone, state, message_type,"
        " accepted_at, updated_at) VALUES (?, ?, ?, ?, ?, 'template', ?, ?)",
        (campaign_id, f"{campaign_id}:{phone}", phone, phone, state, at, at),
    )


def test_each_exclusion_has_its_reason(store):
    store.execute("INSERT INTO consent VALUES ('+4915100000003', 0, ?, 'keyword')", (NOW - 100,))
    add_campaign(store, "other")
    add_send(store, "other", "+4915100000006", "delivered", NOW - 3600)
    result = check_rules(
        people(), category="marketing", message_type="template", now=NOW, store=store, campaign_id="this"
    )
    assert result.reason.tolist() == [
        "",
        "no_opt_in",
        "opted_out",
        "us_marketing",
        "inactive_90d",
        "marketing_cap_24h",
        "holdout",
    ]


def test_rules_depend_on_category_and_policy(store):
    store.execute("INSERT INTO consent VALUES ('+4915100000003', 0, ?, 'keyword')", (NOW - 100,))
    util = check_rules(people(), category="utility", message_type="template", now=NOW, store=store)
    assert util.reason.tolist() == ["", "no_opt_in", "", "", "", "", "holdout"]
    keen = check_rules(
        people(),
        category="marketing",
        message_type="template",
        now=NOW,
        store=store,
        policy=Policy(include_inactive=True),
    )
    assert keen.reason.iloc[4] == ""


def test_consent_by_keyword_overrides_the_import_flag(store):
    store.execute("INSERT INTO consent VALUES ('+4915100000002', 1, ?, 'keyword')", (NOW - 100,))
    result = check_rules(people(), category="marketing", message_type="template", now=NOW, store=store)
    assert result.reason.iloc[1] == ""


def test_free_form_text_needs_an_open_service_window(store):
    store.execute("INSERT INTO service_windows VALUES ('+4915100000001', ?)", (NOW - 3600,))
    store.execute("INSERT INTO service_windows VALUES ('+4915100000007', ?)", (NOW - 2 * DAY,))
    aud = people(arm=["A"] * 7)
    result = check_rules(aud, category="service", message_type="text", now=NOW, store=store)
    assert result.reason.iloc[0] == "" and result.window_open.iloc[0]
    assert result.reason.iloc[6] == "outside_service_window"
    assert result.reason.iloc[1] == "outside_service_window"  # service replies need no opt-in


def test_cap_reads_other_campaigns_only_and_expires_after_24h(store):
    add_campaign(store, "old")
    add_campaign(store, "util", "utility")
    add_send(store, "old", "+4915100000001", "read", NOW - DAY - 60)  # more than 24 h ago
    add_send(store, "util", "+4915100000002", "delivered", NOW - 60)  # not marketing
    add_send(store, "old", "+4915100000005", "failed", NOW - 60)  # never reached them
    assert reserve_marketing(store, "+4915100000003", "this", NOW - 60)  # our own reservation
    aud = people(opted_in=[True] * 7, interaction_recency=["active_7d"] * 7, arm=["A"] * 7)
    result = check_rules(aud, category="marketing", message_type="template", now=NOW, store=store, campaign_id="this")
    assert (result.reason.iloc[[0, 1, 2, 4]] == "").all()
    other = check_rules(aud, category="marketing", message_type="template", now=NOW, store=store, campaign_id="next")
    assert other.reason.iloc[2] == "marketing_cap_24h"


def test_reservation_is_exclusive_for_24h_idempotent_and_releasable(store):
    phone = "+4915100000001"
    assert reserve_marketing(store, phone, "c1", NOW)
    assert reserve_marketing(store, phone, "c1", NOW + 10)  # the same campaign asking again
    assert not reserve_marketing(store, phone, "c2", NOW + 3600)
    assert not release_marketing(store, phone, "c2")  # not c2's to give back
    assert release_marketing(store, phone, "c1")
    assert reserve_marketing(store, phone, "c2", NOW + 3600)
    assert not reserve_marketing(store, phone, "c1", NOW + DAY)  # 23 h after c2's
    assert reserve_marketing(store, phone, "c1", NOW + 3600 + DAY)


def test_reservation_refuses_when_the_ledger_shows_a_recent_marketing_send(store):
    add_campaign(store, "legacy")
    add_send(store, "legacy", "+4915100000009", "sent", NOW - 600)
    assert not reserve_marketing(store, "+4915100000009", "c1", NOW)
    assert reserve_marketing(store, "+4915100000009", "legacy", NOW)


def _race(path: str, campaign: str, phones: list[str], start, out) -> None:
    with open_store(path) as s:
        start.wait()
        out.put((campaign, [p for p in phones if reserve_marketing(s, p, campaign, NOW)]))


def test_two_processes_never_both_reserve_the_same_customer(tmp_path):
    path = str(tmp_path / "race.db")
    open_store(path).close()
    phones = [f"+49151{i:08d}" for i in range(300)]
    ctx = mp.get_context("spawn")
    start, out = ctx.Event(), ctx.Queue()
    procs = [
        ctx.Process(target=_race, args=(path, c, phones if c == "a" else phones[::-1], start, out)) for c in ("a", "b")
    ]
    for p in procs:
        p.start()
    start.set()
    won = dict(out.get(timeout=60) for _ in procs)
    for p in procs:
        p.join(30)
    assert not set(won["a"]) & set(won["b"])
    assert sorted(won["a"] + won["b"]) == sorted(phones)


def test_zone_from_phone_when_timezone_is_missing_or_invalid():
    aud = pd.DataFrame(
        {
            "phone": ["+4915112345678", "+12125551234", "+14155551234", "+919812345678"],
            "timezone": [None, "Not/AZone", None, "Asia/Kolkata"],
        }
    )
    assert recipient_zones(aud).tolist() == ["Europe/Berlin", "America/New_York", "America/Los_Angeles", "Asia/Kolkata"]
    assert zone_for_phone("not a number") == "UTC"


def test_quiet_hours_move_sends_to_the_morning_in_local_time():
    aud = pd.DataFrame(
        {
            "phone": ["+4915112345678", "+919812345678", "+12125551234"],
            "timezone": ["Europe/Berlin", "Asia/Kolkata", "America/New_York"],
        }
    )
    zones = recipient_zones(aud)
    planned, quiet = planned_times(aud, zones, NOW, mode="now")  # Berlin 18h, Kolkata 22:30, NY 12h
    assert quiet.tolist() == [False, True, False]
    local = pd.Timestamp(planned[1], unit="s", tz="UTC").tz_convert("Asia/Kolkata")
    assert (local.day, local.hour, local.minute) == (26, 8, 0)
    assert planned[0] == NOW and planned[2] == NOW


def test_best_hour_and_active_windows_in_local_time():
    aud = pd.DataFrame(
        {
            "phone": ["+4915112345678"] * 4,
            "timezone": ["Europe/Berlin"] * 4,
            "most_active_hour": [21.0, 9.0, np.nan, 3.0],
        }
    )
    planned, _ = planned_times(aud, recipient_zones(aud), NOW, mode="best_hour")
    local = [pd.Timestamp(p, unit="s", tz="UTC").tz_convert("Europe/Berlin") for p in planned]
    assert [(t.day, t.hour) for t in local] == [(25, 21), (26, 9), (25, 20), (25, 20)]  # 3 h is quiet


def test_daily_limit_pushes_the_rest_to_later_days():
    planned = np.array([5.0, 1, 3, 2, 4, 6])
    counts = np.array([1, 1, 0, 1, 1, 1], bool)
    days = apply_daily_limit(planned, counts, limit=2, used_today=1)
    assert days.tolist() == [2, 0, 0, 1, 1, 2]  # earliest planned first: 1, 3 | 4, 0 | 5
    assert apply_daily_limit(planned, counts, None).sum() == 0
