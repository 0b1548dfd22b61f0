"""An A/B campaign played end to end in the embedded sandbox: ledger arms, holdout, planted uplift."""

from __future__ import annotations

import pandas as pd
import pytest

from wamkt_nb.abtest import HOLDOUT, arm_counts, assign_arms, evaluate_campaign, ledger_arms
from wamkt_nb.data.features import build_features
from wamkt_nb.data.sample import generate
from wamkt_nb.messages import MessageSpec, Param, template_from_text
from wamkt_nb.sandbox import BehaviourParams
from wamkt_nb.scenarios.ab_play import play_in_sandbox
from wamkt_nb.store import open_store

NOW = pd.Timestamp("2026-11-24 14:00", tz="UTC")
BODY = "Hallo {{first_name}}, {{discount}} Rabatt {}für dich! Antworte JA für deinen Code."


@pytest.mark.slow
def test_planted_uplift_holdout_and_conversions_reach_the_ledger(tmp_path):
    data = generate(2000, seed=21, now=NOW.normalize())  # about 430 per arm: the planted uplift shows (p < 0.001)
    audience = build_features(data, NOW).assign(discount="10 %")
    arms = assign_arms(audience["customer_id"], "play-test", ["A", "B"], holdout=0.2)
    audience["arm"] = arms.to_numpy()
    example = {"first_name": "Anna", "discount": "10 %"}
    templates = [
        template_from_text(name, "de", "MARKETING", BODY.format(extra), examples=example)
        for name, extra in (("rabatt_aktion", ""), ("rabatt_aktion_b", "nur "))
    ]
    params = {"first_name": Param("first_name"), "discount": Param("discount", fallback="10 %")}
    messages = {arm: MessageSpec(template={"*": t}, params=params) for arm, t in zip("AB", templates, strict=True)}
    with open_store(tmp_path / "w.db") as store:
        result = play_in_sandbox(
            store,
            data,
            audience,
            messages,
            name="play",
            experiment_key="play-test",
            now=NOW.timestamp(),
            params=BehaviourParams(variant_read_uplift={"rabatt_aktion_b": 0.5}),
            templates=templates,
            spec={"metric": "read", "arms": ["A", "B"], "shares": {"A": 0.4, "B": 0.4, "holdout": 0.2}},
        )
        assert ledger_arms(store, result.campaign_id).sort_index().equals(arms.sort_index())
        held = store.read_frame("SELECT state, reason, wamid FROM sends WHERE arm = 'holdout'")
        assert len(held) == (arms == HOLDOUT).sum()
        assert (held["state"] == "excluded").all()
        # eligible members are held back as 'holdout'; the others keep their compliance reason, the same
        # reasons (and about the same share) as in the message arms, so both sides count alike
        assert set(held["reason"]) - {"holdout"} <= {"no_opt_in", "inactive_90d", "us_marketing"}
        messaged = store.read_frame("SELECT state FROM sends WHERE arm IN ('A', 'B')")
        assert abs((held["reason"] == "holdout").mean() - (messaged["state"] != "excluded").mean()) < 0.1
        assert held["wamid"].isna().all()  # the holdout got nothing
        orders = store.query("SELECT COUNT(*) FROM conversions WHERE source = 'sandbox'")[0][0]
        assert orders == result.sandbox_counters["conversions"] > 0

        counts, evaluation = evaluate_campaign(store, result.campaign_id)  # metric "read" from the design
        rates = counts.set_index("arm")["rate"]
        assert rates["B"] > rates["A"]
        assert evaluation.verdict.winner == "B" and not evaluation.srm.alert
        conversion = arm_counts(store, result.campaign_id, "conversion").set_index("arm")
        assert conversion.at[HOLDOUT, "users"] == (held["reason"] == "holdout").sum()
        assert conversion.at[HOLDOUT, "successes"] == 0  # nobody bought without a message in the sandbox
