"""Per-arm counts from a real ledger (hand-computed), the evaluation table and each verdict."""

from __future__ import annotations

import time

import pandas as pd
import pytest
from helpers.plans import make_plan, zone_where_it_is
from statsmodels.stats.proportion import proportion_confint, proportions_ztest

from wamkt_nb.abtest import AbTestError, arm_counts, evaluate, experiments
from wamkt_nb.abtest.charts import intervals_figure
from wamkt_nb.analytics.export import figure_bytes
from wamkt_nb.campaigns.sender import CampaignRunner, SendOptions
from wamkt_nb.cloudapi import AsyncCloudClient
from wamkt_nb.compliance import reserve_marketing
from wamkt_nb.currency import CurrencyError, ExchangeRates
from wamkt_nb.data.sample import generate
from wamkt_nb.ledger import create_campaign
from wamkt_nb.sandbox import Sandbox
from wamkt_nb.store import open_store
from wamkt_nb.webhooks.consent import record_consent

T0 = 1_700_000_000.0
H = 3_600.0
ARMS = {
    "c0": "A",
    "c1": "A",
    "c2": "A",
    "c3": "A",
    "c4": "B",
    "c5": "B",
    "c6": "B",
    "c7": "B",
    "c8": "holdout",
    "c9": "holdout",
}


def phone(cid: str) -> str:
    return f"+4915100000{int(cid[1:]):02d}"


@pytest.fixture
def store(store_target):
    plan = pd.DataFrame(
        {
            "customer_id": list(ARMS),
            "phone": [phone(c) for c in ARMS],
            "outcome": "send",
            "reason": "",
            "category": "marketing",
            "message_type": "text",
            "body": "Hi",
            "payload": [{"type": "text"}] * 10,
            "planned_at": T0,
            "arm": list(ARMS.values()),
        }
    )
    plan.loc[plan["customer_id"] == "c9", ["outcome", "reason"]] = ["excluded", "no_opt_in"]
    plan.loc[plan["customer_id"] == "c7", ["outcome", "reason"]] = ["excluded", "opted_out"]
    s = open_store(store_target)  # the experiment's SQL on SQLite and on PostgreSQL
    create_campaign(s, plan, name="spring", now=T0, campaign_id="cmp-1", experiment_key="spring-sale")
    create_campaign(s, plan.assign(arm=None), name="plain", now=T0 + 1, campaign_id="cmp-2")
    sent, dlv = T0 + 60, T0 + 70
    updates = {  # customer: (state, sent_at, delivered_at, read_at)
        "c0": ("read", sent, dlv, dlv + 100),
        "c1": ("delivered", sent, dlv, None),
        "c2": ("failed", None, None, None),  # c3 stays planned: never attempted, not counted
        "c4": ("read", sent, dlv, dlv + 5),
        "c5": ("read", sent, dlv, dlv + 50),
        "c6": ("delivered", sent, dlv, None),
    }
    for cid, (state, s_at, d_at, r_at) in updates.items():
        s.execute(
            "UPDATE sends SET state = ?, sent_at = ?, delivered_at = ?, read_at = ?, accepted_at = ?"
            " WHERE recipient_key = ?",
            (state, s_at, d_at, r_at, T0 + 1 if state != "failed" else None, f"cmp-1:{cid}"),
        )
    inbound = [("c1", dlv + 1 * H), ("c0", dlv + 25 * H), ("c4", dlv - 10), ("c5", dlv + 23 * H)]
    for i, (cid, at) in enumerate(inbound):
        s.execute(
            "INSERT INTO inbound_messages (wamid, wa_id, phone, type, text, timestamp, payload_json,"
            " received_at) VALUES (?, ?, ?, 'text', 'JA', ?, '{}', ?)",
            (f"in{i}", phone(cid)[1:], phone(cid), at, at),
        )
    orders = [
        ("o1", "c0", sent + 48 * H, 30.0),
        ("o2", "c2", T0 + 8 * 24 * H, 99.0),
        ("o3", "c6", sent + H, 10.0),
        ("o4", "c6", sent + 2 * H, 15.0),
        ("o5", "c8", T0 + 24 * H, 50.0),
        ("o6", "c9", T0 + H, 70.0),
        ("o0", "c4", sent - H, 20.0),
    ]  # before the message: not attributed
    s.executemany("INSERT INTO conversions (order_id, customer_id, at, amount) VALUES (?, ?, ?, ?)", orders)
    yield s
    s.close()


def _as_dict(frame: pd.DataFrame) -> dict:
    return {r.arm: (r.users, r.successes, r.revenue) for r in frame.itertuples()}


def test_read_counts(store):
    assert _as_dict(arm_counts(store, "cmp-1", "read")) == {"A": (3, 1, 0.0), "B": (3, 2, 0.0)}


def test_reply_counts_only_inbound_within_24h_after_delivery(store):
    assert _as_dict(arm_counts(store, "cmp-1", "reply")) == {"A": (3, 1, 0.0), "B": (3, 1, 0.0)}
    assert _as_dict(arm_counts(store, "cmp-1", "reply", reply_hours=26))["A"] == (3, 2, 0.0)


def test_conversion_counts_with_attribution_window_and_holdout(store):
    counts = arm_counts(store, "cmp-1", "conversion")
    assert _as_dict(counts) == {"A": (3, 1, 30.0), "B": (3, 1, 25.0), "holdout": (1, 1, 50.0)}
    assert counts.set_index("arm").at["A", "rate"] == pytest.approx(1 / 3)
    wider = _as_dict(arm_counts(store, "cmp-1", "conversion", attribution_hours=9 * 24))
    assert wider["A"] == (3, 2, 129.0)


def test_conversion_revenue_in_the_reporting_currency(store):
    store.execute("UPDATE conversions SET currency = 'chf' WHERE order_id IN ('o3', 'o4')")  # arm B's 25
    rates = ExchangeRates("EUR", {"EUR": 1.0, "CHF": 2.0})
    assert _as_dict(arm_counts(store, "cmp-1", "conversion", rates=rates))["B"] == (3, 1, 50.0)
    in_chf = ExchangeRates("CHF", rates.value_in_eur)
    assert _as_dict(arm_counts(store, "cmp-1", "conversion", rates=in_chf))["A"] == (3, 1, 15.0)
    store.execute("UPDATE conversions SET currency = 'SEK' WHERE order_id = 'o3'")
    with pytest.raises(CurrencyError, match="no exchange rate for SEK"):
        arm_counts(store, "cmp-1", "conversion", rates=rates)


def test_experiments_lists_only_campaigns_with_a_key(store):
    frame = experiments(store)
    assert frame["campaign_id"].tolist() == ["cmp-1"]
    assert frame.at[0, "arms"] == ("A", "B", "holdout") and frame.at[0, "recipients"] == 10


def test_bad_metric(store):
    with pytest.raises(AbTestError, match="metric"):
        arm_counts(store, "cmp-1", "clicks")


def test_table_matches_statsmodels():
    ev = evaluate({"A": (500, 10_000), "B": (590, 10_000)})
    row = ev.table.set_index("arm").loc["B"]
    z, p = proportions_ztest([590, 500], [10_000, 10_000])
    assert row["z"] == pytest.approx(z) and row["p_value"] == pytest.approx(p)
    assert (row["rate_low"], row["rate_high"]) == pytest.approx(proportion_confint(590, 10_000, method="wilson"))
    assert row["p_adjusted"] == pytest.approx(p)  # one comparison: Holm changes nothing
    assert ev.verdict.kind == "winner" and ev.verdict.winner == "B"
    assert "+18.0% relative" in ev.verdict.reason and str(ev.verdict).startswith("Winner: B.")


def test_holm_across_arms_changes_the_call():
    counts = {"A": (500, 10_000), "B": (565, 10_000), "C": (505, 10_000), "D": (495, 10_000)}
    ev = evaluate(counts)
    b = ev.table.set_index("arm").loc["B"]
    assert b["p_value"] < 0.05 < b["p_adjusted"]
    assert ev.verdict.kind == "not enough data yet" and "Holm" not in ev.verdict.reason


def test_control_wins_when_every_variant_is_worse():
    ev = evaluate({"A": (600, 10_000), "B": (480, 10_000)})
    assert ev.verdict.kind == "winner" and ev.verdict.winner == "A"
    assert "beats every variant" in ev.verdict.reason


def test_no_difference_once_the_planned_size_is_reached():
    ev = evaluate({"A": (500, 10_000), "B": (510, 10_000)}, planned_per_arm=9_000)
    assert ev.verdict.kind == "no difference" and "planned 9,000" in ev.verdict.reason


def test_no_difference_when_intervals_rule_out_the_mde():
    ev = evaluate({"A": (5_000, 100_000), "B": (5_050, 100_000)}, mde=0.01)
    assert ev.verdict.kind == "no difference" and "rule out" in ev.verdict.reason
    ev = evaluate({"A": (50, 1_000), "B": (51, 1_000)}, mde=0.01)
    assert ev.verdict.kind == "not enough data yet"


def test_peeking_before_the_planned_size_needs_sequential():
    counts = {"A": (100, 2_000), "B": (180, 2_000)}
    early = evaluate(counts, planned_per_arm=8_000)
    assert early.verdict.kind == "not enough data yet" and "2,000 of 8,000" in early.verdict.reason
    seq = evaluate(counts, planned_per_arm=8_000, sequential=True, mde=0.02)
    assert seq.verdict.kind == "winner" and "always-valid" in seq.verdict.reason
    weak = evaluate({"A": (100, 2_000), "B": (125, 2_000)}, planned_per_arm=8_000, sequential=True, mde=0.02)
    assert weak.verdict.kind == "not enough data yet"


def test_a_finished_test_short_of_its_plan_says_how_underpowered_it_is():
    counts = {"A": (50, 73), "B": (70, 88)}
    over = evaluate(counts, planned_per_arm=248, final=True)
    assert over.verdict.kind == "underpowered" and over.verdict.winner is None
    assert over.verdict.headline == "Underpowered: needs 248 per arm, has 73"
    assert "B +11.05 pp" in over.verdict.reason
    assert evaluate(counts, planned_per_arm=248).verdict.kind == "not enough data yet"  # still running: wait
    done = evaluate({"A": (500, 1_000), "B": (600, 1_000)}, planned_per_arm=248, final=True)
    assert done.verdict.kind == "winner" and done.verdict.winner == "B"  # the plan was reached


def test_a_finished_test_short_of_its_plan_still_names_a_significant_winner():
    """Analysed once at its end, the fixed-horizon test is valid short of the plan: a significant B
    wins (the verdict says the sample was smaller); the same counts while running must wait."""
    counts = {"A": (300, 533), "B": (363, 533)}
    over = evaluate(counts, planned_per_arm=540, final=True)
    assert (over.verdict.kind, over.verdict.winner) == ("winner", "B")
    assert "ended with 533 users in its smallest arm of the 540 planned" in over.verdict.reason
    assert evaluate(counts, planned_per_arm=540).verdict.kind == "not enough data yet"


def test_too_few_users_and_srm():
    assert evaluate({"A": (1, 50), "B": (20, 50)}).verdict.kind == "not enough data yet"
    srm = evaluate({"A": (500, 10_000), "B": (700, 10_700)})
    assert srm.srm.alert and srm.verdict.kind == "sample ratio mismatch"
    assert evaluate({"A": (500, 10_000), "B": (700, 10_700)}, shares={"A": 0.483, "B": 0.517}).verdict.kind == "winner"


def test_holdout_is_compared_but_never_the_winner():
    counts = pd.DataFrame({"arm": ["A", "B", "holdout"], "users": [5_000, 5_000, 1_000], "successes": [400, 300, 20]})
    ev = evaluate(counts)
    table = ev.table.set_index("arm")
    assert table.at["holdout", "diff"] == pytest.approx(0.02 - 0.08)
    assert pd.isna(table.at["holdout", "p_adjusted"])
    assert ev.verdict.winner == "A" and set(ev.srm.observed) == {"A", "B"}
    assert "Messaging at all: A 8.00% vs holdout 2.00%" in ev.verdict.reason
    fig = intervals_figure(ev, "conversion")
    assert len(fig.axes) == 2 and figure_bytes(fig)[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    "counts, kwargs, match",
    [
        ({"A": (1, 10)}, {}, "one arm"),
        ({"A": (1, 10), "B": (2, 10)}, {"control": "Z"}, "control arm 'Z'"),
        ({"A": (11, 10), "B": (2, 10)}, {}, "arm A: 11 successes"),
        (pd.DataFrame({"arm": ["A"], "users": [3]}), {}, "missing"),
    ],
)
def test_bad_counts(counts, kwargs, match):
    with pytest.raises(AbTestError, match=match):
        evaluate(counts, **kwargs)


async def test_holdout_members_are_excluded_at_send_time_like_the_message_arms(tmp_path):
    """After the plan, another campaign takes one customer of each side (24 h marketing cap) and a
    holdout member answers STOP. The real sender (embedded sandbox, real HTTP) excludes the message
    row, and evaluates the holdout members at their planned time with the same checks: both sides
    lose the same kind of people, so the arms are compared on equal terms."""
    data = generate(12, seed=8)
    people = data.customers.head(8)
    phones = list(people["phone"])
    now = time.time()
    plan = make_plan(people, category="marketing", template="order_shipped", planned_at=now)
    plan["arm"] = ["A"] * 4 + ["holdout"] * 4
    with open_store(tmp_path / "w.db") as store:
        cid = create_campaign(store, plan, name="ab", now=now, experiment_key="ab")
        assert reserve_marketing(store, phones[1], "other", now) and reserve_marketing(store, phones[5], "other", now)
        with store.transaction() as conn:
            record_consent(conn, phones[6], False, now, "keyword")
        with Sandbox(customers=data) as sandbox:
            sandbox.configure(pair_interval=0.0, messaging_tier="TIER_UNLIMITED")
            async with AsyncCloudClient(sandbox.settings()) as client:
                progress = await CampaignRunner(
                    store,
                    client,
                    cid,
                    SendOptions(phone_number_ids=(sandbox.phone_number_id,), pace=50, pair_interval=0.0),
                ).run()
            got = {"+" + w for w in sandbox.messages_frame()["wa_id"]}
        assert progress.status == "complete" and got == {phones[0], phones[2], phones[3]}
        rows = {r["phone"]: r for r in store.query("SELECT phone, state, reason, held_at FROM sends")}
        assert [(rows[p]["state"], rows[p]["reason"]) for p in phones[4:]] == [
            ("excluded", "holdout"),
            ("excluded", "marketing_cap_24h"),
            ("excluded", "opted_out"),
            ("excluded", "holdout"),
        ]
        assert (rows[phones[1]]["state"], rows[phones[1]]["reason"]) == ("excluded", "marketing_cap_24h")
        assert all(rows[p]["held_at"] is not None for p in (phones[4], phones[7]))
        assert store.query("SELECT count(*) FROM marketing_reservations WHERE campaign_id = ?", (cid,))[0][0] == 3
        users = arm_counts(store, cid, "conversion").set_index("arm")["users"].to_dict()
        assert users == {"A": 3, "holdout": 2}

        # a holdout member due in their quiet hours waits for the morning, like a message would
        night = plan.assign(customer_id=plan["customer_id"] + "n", timezone=zone_where_it_is(23))
        late = create_campaign(store, night.iloc[4:5], name="night", now=now)
        async with AsyncCloudClient(base_url="http://127.0.0.1:9", access_token="unused") as client:  # nothing is sent
            await CampaignRunner(store, client, late, SendOptions(phone_number_ids=("1",), wait_for_later=False)).run()
        state, reason, held_at, planned_at = store.query(
            "SELECT state, reason, held_at, planned_at FROM sends WHERE campaign_id = ?", (late,)
        )[0]
        assert (state, reason, held_at) == ("excluded", "holdout", None) and planned_at > now + 8 * 3600
