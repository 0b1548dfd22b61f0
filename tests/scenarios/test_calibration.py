"""The simulated customers reproduce the published figures (WhatsApp marketing guide, 2024) when a
seeded history is played through the real pipeline and measured by the dashboards' functions."""

from __future__ import annotations

import pytest

from wamkt_nb.cli import build_parser, main
from wamkt_nb.scenarios.calibration import measure, play_calibration
from wamkt_nb.store import open_store

CUSTOMERS = 2_000
Z = 3.5


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    store = open_store(tmp_path_factory.mktemp("calibration") / "wamkt.db")
    try:
        run = play_calibration(store, CUSTOMERS, seed=42, rounds=1, log=lambda line: None)
        yield measure(store, run)
    finally:
        store.close()


def test_every_figure_holds_within_its_sampling_error(report):
    """Each figure within ±3 points plus 3.5 binomial standard errors of this run.

    ``bench/calibration.py`` holds the figures to ±3 percentage points on 10,000 customers. This
    run has 2,000 and one comparison round (to finish in well under a minute), so every measured
    rate carries a sampling error: for a rate p over n messages SE = sqrt(p(1-p)/n), for the
    uplifts and the peak-hour lift (ratios of two rates) the delta-method SE the report prints.
    Read rates of a 400-message segment have SE ≈ 2.4 points; conversion uplifts on ~100 orders
    per segment have SE of 10-20 points, so a fixed ±3 would fail a correct model most of the
    time (the run's shared draws correlate a round's baseline and segment sends, so for the
    uplifts this independent-sample SE is an upper bound). 3.5 SE leaves a correct model a 0.05 %
    chance per figure (about 1 % over the 20 figures) to fail by bad luck, while a miscalibrated
    parameter that moves a read rate by 10 points still fails. The ±3 points on top are the
    calibration's own tolerance (its fit is to the 10,000-customer population, not to this smaller
    sample's segment mix).
    """
    checked = report[~report["figure"].str.startswith("cost reduction")]  # see the next test
    for row in checked.itertuples(index=False):
        tolerance = 0.03 + Z * (row.se if row.se == row.se else 0.0)
        low, high = row.low - tolerance, row.high + tolerance
        assert low <= row.measured <= high, (
            f"{row.figure}: measured {row.measured:.3f}, published {row.published}, "
            f"allowed {low:.3f}-{high:.3f} (n={row.n}, SE={row.se:.3f})"
        )


def test_cost_reduction_follows_from_the_conversion_uplift(report):
    """With one price per message, cost per conversion falls by 1 - 1/(1 + uplift): the published
    cost reductions yield to the uplifts (docs/figures.md); the report says so instead of failing.
    (3 points of slack: prices differ by the recipient's country, and segments' country mixes differ a little.)"""
    table = report.set_index("figure")
    for label in ("by purchase frequency", "by average order value", "by interaction frequency"):
        uplift = table.loc[f"conversion uplift, {label}", "measured"]
        reduction = table.loc[f"cost reduction, {label}", "measured"]
        assert reduction == pytest.approx(1 - 1 / (1 + uplift), abs=0.03)
        assert table.loc[f"cost reduction, {label}", "status"] in ("PASS", "YIELDS")


def test_reply_warning_fires_for_a_pure_promotion_only(report):
    row = report.set_index("figure").loc["reply rate under 5 % warns"]
    assert row["measured"] == 1.0, row["measured_by"]


def test_wamkt_calibrate_is_a_command(capsys):
    args = build_parser().parse_args(["calibrate", "--customers", "500", "--rounds", "2"])
    assert (args.customers, args.rounds, args.seed) == (500, 2, 42)
    with pytest.raises(SystemExit) as refused:  # exit 2, a usage error: 1 means a figure failed
        main(["calibrate", "--customers", "50"])
    assert refused.value.code == 2
    assert "50 is less than 100" in capsys.readouterr().err
