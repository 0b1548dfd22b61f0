"""Evaluating an experiment: one table of per-arm statistics and a plain-language verdict."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import cast

import numpy as np
import pandas as pd

from ..ledger.states import HOLDOUT
from .bayes import chance_to_beat_control
from .cuped import cuped_table
from .errors import AbTestError
from .frequentist import (
    absolute_difference_interval,
    check_counts,
    harm_test,
    holm_adjust,
    relative_lift_interval,
    two_proportion_ztest,
    wilson_interval,
)
from .sequential import sequential_interval
from .srm import SrmResult, srm_check

VERDICTS = (
    "winner",
    "no difference",
    "not enough data yet",
    "underpowered",
    "sample ratio mismatch",
    "guardrail harmed",
)
GUARDRAIL_COLUMNS = ["guardrail", "arm", "users", "events", "rate", "control_rate", "diff", "p_one_sided", "harmed"]
COLUMNS = [
    "arm",
    "users",
    "successes",
    "rate",
    "rate_low",
    "rate_high",
    "diff",
    "diff_low",
    "diff_high",
    "lift",
    "lift_low",
    "lift_high",
    "z",
    "p_value",
    "p_adjusted",
    "chance_to_beat_control",
    "seq_low",
    "seq_high",
    "seq_p_value",
    "seq_p_adjusted",
]


def underpowered(needs: int, has: int) -> str:
    """How far a test is from its planned size, in the words the dashboard shows."""
    return f"underpowered: needs {needs:,} per arm, has {has:,}"


@dataclass(frozen=True)
class Verdict:
    """What to do with the experiment now, and why, in words an analyst can forward."""

    kind: str  # one of VERDICTS
    winner: str | None
    reason: str

    needs: int | None = None  # underpowered: users per arm the plan needs ...
    has: int | None = None  # ... and the smallest arm has

    @property
    def headline(self) -> str:
        if self.kind == "winner":
            return f"Winner: {self.winner}"
        if self.kind == "underpowered" and self.needs is not None and self.has is not None:
            text = underpowered(self.needs, self.has)
            return text[:1].upper() + text[1:]
        return self.kind[:1].upper() + self.kind[1:]

    def __str__(self) -> str:
        return f"{self.headline}. {self.reason}"


@dataclass(frozen=True)
class Evaluation:
    """Per-arm table (``COLUMNS``; comparisons are each arm vs control), SRM check and verdict."""

    control: str
    alpha: float
    table: pd.DataFrame
    srm: SrmResult
    verdict: Verdict
    cuped: pd.DataFrame | None = None  # plain vs CUPED per treatment (``cuped.CUPED_COLUMNS``), given units
    guardrails: pd.DataFrame | None = None  # per guardrail and treatment (``GUARDRAIL_COLUMNS``)


def _as_counts(counts: pd.DataFrame | Mapping[str, tuple[int, int]]) -> pd.DataFrame:
    if isinstance(counts, Mapping):
        counts = pd.DataFrame(
            [(arm, users, successes) for arm, (successes, users) in counts.items()],
            columns=["arm", "users", "successes"],
        )
    missing = {"arm", "users", "successes"} - set(counts.columns)
    if missing:
        raise AbTestError(f"counts need columns arm, users, successes; missing {sorted(missing)}")
    frame = counts[["arm", "users", "successes"]].copy()
    frame["arm"] = frame["arm"].astype(str)
    if frame["arm"].duplicated().any():
        raise AbTestError(f"each arm must appear once, got {frame['arm'].tolist()}")
    for row in frame.to_dict("records"):
        check_counts(int(row["successes"]), int(row["users"]), f"arm {row['arm']}")
    return frame.astype({"users": int, "successes": int}).reset_index(drop=True)


def _cell(rows: pd.DataFrame, arm: str, column: str) -> float:
    """One number of a per-arm table indexed by arm (pandas-stubs types a cell as any scalar)."""
    return cast(float, rows.at[arm, column])


def _pct(x: float) -> str:
    return f"{x:.2%}" if x == x else "n/a"


def evaluate(
    counts: pd.DataFrame | Mapping[str, tuple[int, int]],
    *,
    control: str | None = None,
    alpha: float = 0.05,
    shares: Mapping[str, float] | None = None,
    planned_per_arm: int | None = None,
    mde: float | None = None,
    sequential: bool = False,
    tau: float | None = None,
    min_users: int = 100,
    bayes_method: str = "integration",
    seed: int | None = 0,
    units: pd.DataFrame | None = None,
    guardrails: Mapping[str, pd.DataFrame | Mapping[str, tuple[int, int]]] | None = None,
    guardrail_margin: float = 0.0,
    final: bool = False,
) -> Evaluation:
    """Compare every arm with ``control`` (default: the first arm that is not the holdout).

    ``counts``: a frame with ``arm``, ``users``, ``successes`` (see ``arm_counts``) or
    ``{arm: (successes, users)}``. ``shares``: the intended split for the SRM check (equal over the
    message arms by default). ``planned_per_arm`` and ``mde`` (absolute) let the verdict tell
    "no difference" from "not enough data yet"; before the planned size is reached a winner is
    only called from the always-valid ``sequential`` intervals (peeking-safe). ``final``: no more
    users will come (the campaign is over); an arm short of ``planned_per_arm`` then makes the
    verdict "underpowered" with both numbers, since waiting cannot help.

    ``units``: one row per customer (``arm``, ``y``, ``x``; see ``unit_outcomes``) adds the CUPED
    table (plain and covariate-adjusted estimates side by side). ``guardrails``: per guardrail
    (e.g. ``opt_out``, ``block``) counts like ``counts``; a winner whose guardrail rate rises by
    more than ``guardrail_margin`` (absolute; one-sided test at ``alpha``) is not named.
    """
    frame = _as_counts(counts)
    message_arms = [a for a in frame["arm"] if a != HOLDOUT]
    if control is None:
        if not message_arms:
            raise AbTestError("no arm to use as control")
        control = message_arms[0]
    if control not in message_arms:
        raise AbTestError(f"control arm {control!r} is not among {message_arms}")
    treatments = [a for a in message_arms if a != control]
    if not treatments:
        raise AbTestError(f"nothing to compare with control {control!r}: one arm only")

    by_arm = frame.set_index("arm")
    x_c, n_c = int(_cell(by_arm, control, "successes")), int(_cell(by_arm, control, "users"))
    rows = []
    for arm, users, successes in frame.itertuples(index=False):
        low, high = wilson_interval(successes, users, alpha)
        row = {
            "arm": arm,
            "users": users,
            "successes": successes,
            "rate": successes / users if users else np.nan,
            "rate_low": low,
            "rate_high": high,
        }
        if arm != control:
            row["diff"], row["diff_low"], row["diff_high"] = absolute_difference_interval(
                successes, users, x_c, n_c, alpha
            )
            row["lift"], row["lift_low"], row["lift_high"] = relative_lift_interval(successes, users, x_c, n_c, alpha)
            row["z"], row["p_value"] = two_proportion_ztest(successes, users, x_c, n_c)
            row["chance_to_beat_control"] = chance_to_beat_control(
                successes, users, x_c, n_c, method=bayes_method, seed=seed
            )
            row["seq_low"], row["seq_high"], row["seq_p_value"] = sequential_interval(
                successes, users, x_c, n_c, alpha, tau if tau is not None else mde
            )
        rows.append(row)
    table = pd.DataFrame(rows).reindex(columns=COLUMNS)
    is_treatment = table["arm"].isin(treatments)
    table.loc[is_treatment, "p_adjusted"] = holm_adjust(table.loc[is_treatment, "p_value"].tolist())
    table.loc[is_treatment, "seq_p_adjusted"] = holm_adjust(table.loc[is_treatment, "seq_p_value"].tolist())

    srm_counts = {
        a: int(_cell(by_arm, a, "users"))
        for a in (message_arms if shares is None or HOLDOUT not in shares else list(frame["arm"]))
    }
    srm = srm_check(srm_counts, {a: shares[a] for a in srm_counts} if shares else None)
    verdict = _verdict(table, control, treatments, alpha, srm, planned_per_arm, mde, sequential, min_users, final)
    if HOLDOUT in set(table["arm"]) and not srm.alert:
        verdict = replace(verdict, reason=f"{verdict.reason} {_holdout_note(table, control)}")
    cuped = (
        cuped_table(units[units["arm"].isin(message_arms)], control, treatments, alpha) if units is not None else None
    )
    harms = guardrail_table(guardrails, control, treatments, alpha, guardrail_margin) if guardrails else None
    if harms is not None:
        verdict = _guarded(verdict, harms, alpha, guardrail_margin)
    if cuped is not None and verdict.kind != "sample ratio mismatch" and cuped["theta"].abs().gt(0).any():
        verdict = replace(verdict, reason=f"{verdict.reason} {_cuped_note(cuped)}")
    return Evaluation(
        control=control, alpha=alpha, table=table, srm=srm, verdict=verdict, cuped=cuped, guardrails=harms
    )


def guardrail_table(
    guardrails: Mapping[str, pd.DataFrame | Mapping[str, tuple[int, int]]],
    control: str,
    treatments: list[str],
    alpha: float,
    margin: float,
) -> pd.DataFrame:
    """Each guardrail's rate per treatment against control, with the one-sided harm test."""
    rows = []
    for name, counts in guardrails.items():
        by_arm = _as_counts(counts).set_index("arm")
        absent = [a for a in (control, *treatments) if a not in by_arm.index]
        if absent:
            raise AbTestError(f"guardrail {name!r}: no counts for arm(s) {absent}")
        x_c, n_c = int(_cell(by_arm, control, "successes")), int(_cell(by_arm, control, "users"))
        for arm in treatments:
            x_t, n_t = int(_cell(by_arm, arm, "successes")), int(_cell(by_arm, arm, "users"))
            diff, p = harm_test(x_t, n_t, x_c, n_c, margin)
            rows.append(
                {
                    "guardrail": name,
                    "arm": arm,
                    "users": n_t,
                    "events": x_t,
                    "rate": x_t / n_t if n_t else np.nan,
                    "control_rate": x_c / n_c if n_c else np.nan,
                    "diff": diff,
                    "p_one_sided": p,
                    "harmed": p < alpha,
                }
            )
    return pd.DataFrame(rows, columns=GUARDRAIL_COLUMNS)


def _guarded(verdict: Verdict, harms: pd.DataFrame, alpha: float, margin: float) -> Verdict:
    """No winner that harms a guardrail: the verdict says which guardrail and by how much."""
    if verdict.kind != "winner" or verdict.winner is None:
        return verdict
    hit = harms[harms["harmed"] & (harms["arm"] == verdict.winner)]
    if hit.empty:
        return verdict
    what = "; ".join(
        f"its {r['guardrail'].replace('_', '-')} rate is {_pct(r['rate'])} vs {_pct(r['control_rate'])} in control "
        f"({r['diff'] * 100:+.2f} pp, one-sided p = {r['p_one_sided']:.2g})"
        for r in hit.to_dict("records")
    )
    beyond = f"more than the allowed {margin * 100:.2f} pp" if margin > 0 else "significantly"
    return Verdict(
        "guardrail harmed",
        None,
        (
            f"{verdict.winner} would win on the metric, but it harms a guardrail {beyond} (α = {alpha:g}): {what}. "
            f"No winner is named; the metric result was: {verdict.reason}"
        ),
    )


def _cuped_note(cuped: pd.DataFrame) -> str:
    """The covariate-adjusted (CUPED) estimate per treatment, beside the plain one (said only when the
    covariate carries information, i.e. some θ is not 0)."""
    rows = cuped.dropna(subset=["cuped_diff"])
    return (
        "With CUPED (pre-period covariate): "
        + "; ".join(
            f"{r['arm']} {r['cuped_diff'] * 100:+.2f} pp (p = {r['cuped_p_adjusted']:.2g}, variance "
            f"{r['variance_reduction']:.0%} lower)"
            for r in rows.to_dict("records")
        )
        + "."
    )


def _holdout_note(table: pd.DataFrame, control: str) -> str:
    """The incremental effect of messaging at all: control against the holdout that got nothing."""
    rows = table.set_index("arm")
    h = rows.loc[HOLDOUT].to_dict()
    return (
        f"Messaging at all: {control} {_pct(_cell(rows, control, 'rate'))} vs holdout {_pct(h['rate'])} "
        f"(p = {h['p_value']:.2g})."
    )


def _verdict(
    table: pd.DataFrame,
    control: str,
    treatments: list[str],
    alpha: float,
    srm: SrmResult,
    planned: int | None,
    mde: float | None,
    sequential: bool,
    min_users: int,
    final: bool = False,
) -> Verdict:
    """The decision rules, in order: SRM, too few users, significant arms, then a finished test
    short of its plan, then size or precision. A finished test is analysed once, at its end, so
    its fixed-horizon p-values are valid even short of the plan: a significant arm still wins (the
    shortfall only costs power), and without one the verdict says how underpowered it was."""
    if srm.alert:
        return Verdict(
            "sample ratio mismatch",
            None,
            f"{srm.describe()} Results are not trustworthy until the assignment is fixed.",
        )
    rows = table.set_index("arm")
    message_arms = [control, *treatments]
    has = int(min(_cell(rows, a, "users") for a in message_arms))
    short = final and planned is not None and has < planned

    def underpowered() -> Verdict:
        summary = "; ".join(
            f"{a} {_cell(rows, a, 'diff') * 100:+.2f} pp (p = {_cell(rows, a, 'p_value'):.2g})" for a in treatments
        )
        return Verdict(
            "underpowered",
            None,
            (
                f"The test is over with {has:,} users in its smallest arm; the plan needs {planned:,} per arm "
                f"to detect its effect with the planned power. Observed vs {control}: {summary}. "
                f"Treat any difference as a hint and rerun with a larger audience."
            ),
            needs=None if planned is None else int(planned),
            has=has,
        )

    small = [a for a in message_arms if _cell(rows, a, "users") < min_users]
    if small:
        if short:
            return underpowered()
        return Verdict(
            "not enough data yet",
            None,
            f"Arm(s) {', '.join(small)} have fewer than {min_users} users; too early for any call.",
        )
    reached = planned is None or final or all(_cell(rows, a, "users") >= planned for a in message_arms)
    progress = (
        ""
        if planned is None
        else f" {min(_cell(rows, a, 'users') for a in message_arms):,} of {planned:,} planned users per arm so far."
    )
    shortfall = (
        f" The test ended with {has:,} users in its smallest arm of the {planned:,} planned; the "
        f"difference is significant all the same."
        if short
        else ""
    )
    if sequential:
        column, how = "seq_p_adjusted", "always-valid p"
    elif reached:
        column, how = "p_adjusted", "p"
    else:
        return Verdict(
            "not enough data yet",
            None,
            f"The planned sample is not reached and fixed-horizon p-values are not valid while "
            f"peeking.{progress} Wait, or turn on sequential intervals to stop early safely.",
        )
    control_rate = _cell(rows, control, "rate")
    significant = [a for a in treatments if _cell(rows, a, column) < alpha]
    better = sorted((a for a in significant if _cell(rows, a, "diff") > 0), key=lambda a: -_cell(rows, a, "diff"))
    holm = " after Holm correction" if len(treatments) > 1 else ""
    if better:
        a = better[0]
        r = rows.loc[a].to_dict()
        return Verdict(
            "winner",
            a,
            (
                f"{a} reaches {_pct(r['rate'])} vs {_pct(control_rate)} for {control} "
                f"({r['lift']:+.1%} relative, {1 - alpha:.0%} CI {r['lift_low']:+.1%} to {r['lift_high']:+.1%}); "
                f"{how} = {r[column]:.2g}{holm}; chance to beat control {r['chance_to_beat_control']:.1%}.{shortfall}"
            ),
        )
    if significant and len(significant) == len(treatments):
        worst = ", ".join(f"{a} {_pct(_cell(rows, a, 'rate'))}" for a in significant)
        return Verdict(
            "winner",
            control,
            (
                f"Control {control} ({_pct(control_rate)}) beats every variant ({worst}); "
                f"{how} < {alpha:g}{holm}.{shortfall}"
            ),
        )
    if short:
        return underpowered()
    summary = "; ".join(
        f"{a} {_cell(rows, a, 'diff') * 100:+.2f} pp ({how} = {_cell(rows, a, column):.2g})" for a in treatments
    )
    within_mde = mde is not None and all(
        -mde < _cell(rows, a, "diff_low") and _cell(rows, a, "diff_high") < mde for a in treatments
    )
    if planned is not None and reached:
        return Verdict(
            "no difference",
            None,
            f"The planned {planned:,} users per arm are reached and no variant differs "
            f"significantly from {control} ({_pct(control_rate)}): {summary}.",
        )
    if within_mde and mde is not None:
        return Verdict(
            "no difference",
            None,
            f"No variant differs from {control} and the {1 - alpha:.0%} intervals rule out "
            f"effects as large as the MDE ({mde * 100:.2f} pp): {summary}.",
        )
    return Verdict(
        "not enough data yet",
        None,
        f"No significant difference from {control} yet: {summary}.{progress}"
        + ("" if planned is not None or mde is not None else " Give the planned size or the MDE to know when to stop."),
    )
