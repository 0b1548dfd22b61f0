"""The figures of :mod:`.aggregates` from per-campaign rollups kept exact as the ledger changes, so a
dashboard over millions of sends reads a row per campaign instead of scanning every send.

A rollup (table ``campaign_rollups``, migration core/009) holds one campaign's stage counts,
attributed revenue per currency and failures per Meta code for one pair of reply and attribution
windows, stamped with the campaign's version when it was computed. Database triggers note every
write that may change a campaign's figures in ``rollup_changes`` (every writer is covered, bulk
imports and erasure too); :func:`fold_changes` turns the notes into version bumps: the campaign
written, and for an inbound message or order (or a send whose out time, phone, customer or
delivery changed) also the campaigns of the sends to that phone or customer whose reply or order
attribution it may move: the latest before it, up to :data:`MAX_WINDOW` before. A read folds all
notes; the campaign worker folds them a chunk at a time (:func:`fold_oldest`) every
:data:`~wamkt_nb.campaigns.worker.FOLD_SECONDS` and whenever a chunk is pending, so they stay
bounded while nobody reads.

Reading, a campaign whose rollup has its current version is read from the rollup; the others are
computed by the SQL of :mod:`.aggregates` restricted to them (for the whole selection when most
are stale), and their rollups stored only if their version did not move meanwhile, so a write
racing the computation never leaves a stale rollup. Selections bounded in time
(``since``/``until``) and windows longer than :data:`MAX_WINDOW` are computed live.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..store import Store
from . import aggregates
from .aggregates import COUNTS, EVERY_SEND, GROUPS, OUT_AT, STAGE, Selection

MAX_WINDOW = 30 * 86_400.0
"""The longest reply or attribution window (seconds) that rollups serve: a change to a phone's or
customer's messages or orders invalidates the campaigns of their sends out this long before it."""

_DAY = 86_400.0
_REPLY_WINDOW = _DAY
_ATTRIBUTION_WINDOW = 7 * _DAY


def _neighbours(key: str, follow: str, eligible: str) -> str:
    """The campaigns of the sends to a noted ``key`` (``phone``, ``customer_id``) whose reply or
    order attribution a note may move: those out at the noted time, and the latest send out before
    it that may be attributed (``eligible``: a condition on ``s``), in the order of the
    attribution's seek; for a send noted, only when a reply or order (``follow``: its table, key
    and time columns) follows within :data:`MAX_WINDOW`. A send's change moves attribution only
    between it and the latest before it; an inbound message or order is attributed to the latest."""
    table, time = follow.split(".")
    follows = (
        f"(d.campaign_id IS NULL OR EXISTS (SELECT 1 FROM {table} f WHERE f.{key} = d.{key}"
        f" AND f.{time} >= d.at AND f.{time} <= d.at + :reach))"
    )
    return f"""
UNION SELECT s.campaign_id FROM rollup_changes d CROSS JOIN sends s
  WHERE d.change_id <= :top AND s.{key} = d.{key} AND {OUT_AT} = d.at AND {follows}
UNION SELECT (SELECT s.campaign_id FROM sends s WHERE s.{key} = d.{key} AND {OUT_AT} < d.at
  AND {OUT_AT} >= d.at - :reach AND {eligible} ORDER BY {OUT_AT} DESC, s.send_id DESC LIMIT 1)
  FROM rollup_changes d WHERE d.change_id <= :top AND d.{key} IS NOT NULL AND {follows}"""


_TOUCHED = (
    "SELECT d.campaign_id FROM rollup_changes d WHERE d.change_id <= :top AND d.campaign_id IS NOT NULL"
    + _neighbours("phone", "inbound_messages.timestamp", "TRUE")
    + _neighbours("customer_id", "conversions.at", STAGE["delivered"])
)
"""The campaigns the noted changes up to ``:top`` may have changed: the campaign noted, and the
neighbours of a phone's and of a customer's note (:func:`_neighbours`; CROSS JOIN: SQLite seeks
the sends per note through the indexes on the out time, as PostgreSQL plans it)."""


FOLD_EVERY_CAMPAIGN = 100_000
"""From this many pending changes on (a bulk import, a mass erasure), a fold bumps every campaign
instead of looking for those touched: a few seeks per change would cost more than computing
every campaign again, which such a write mostly requires anyway."""

_EVERY_CAMPAIGN = """
SELECT campaign_id FROM campaigns UNION SELECT campaign_id FROM campaign_versions
UNION SELECT d.campaign_id FROM rollup_changes d WHERE d.change_id <= :top AND d.campaign_id IS NOT NULL
"""


FOLD_CHUNK = 10_000
"""The most changes :func:`fold_oldest` folds in one transaction, so the writers wait for a fold a
few seeks per change long, not for one of everything noted since the last."""

_NTH = "SELECT change_id FROM rollup_changes ORDER BY change_id LIMIT 1 OFFSET :skip"
"""The id of the ``:skip`` + 1-th pending change: whether that many are pending, counted, not
taken from the ids' span (ids a rolled back or still open writer took leave gaps)."""


def fold_changes(conn: Any, every_campaign_from: int = FOLD_EVERY_CAMPAIGN, chunk: int | None = None) -> None:
    """Bump the version of every campaign the pending changes (the oldest ``chunk`` of them) may
    have changed (of every campaign, all changes, from ``every_campaign_from`` pending changes on),
    and drop those changes; run in a writing transaction (``conn``: the connection it yields).
    Changes noted after the first read here wait for the next fold."""
    (newest,) = conn.execute("SELECT MAX(change_id) FROM rollup_changes").fetchone()
    if newest is None:
        return
    every = conn.execute(_NTH, {"skip": every_campaign_from - 1}).fetchone() is not None
    oldest = None if every or chunk is None else conn.execute(_NTH, {"skip": chunk - 1}).fetchone()
    top = newest if oldest is None else oldest[0]
    touched = _EVERY_CAMPAIGN if every else _TOUCHED
    conn.execute(
        "INSERT INTO campaign_versions (campaign_id, version)"
        f" SELECT campaign_id, 1 FROM ({touched}) AS touched WHERE campaign_id IS NOT NULL"
        " ON CONFLICT (campaign_id) DO UPDATE SET version = campaign_versions.version + 1",
        {"top": top} if every else {"top": top, "reach": MAX_WINDOW},
    )
    conn.execute("DELETE FROM rollup_changes WHERE change_id <= :top", {"top": top})


def fold_oldest(store: Store, at_least: int = 1, chunk: int = FOLD_CHUNK) -> None:
    """Fold the oldest ``chunk`` pending changes in one transaction, when at least ``at_least``
    are pending: the long-running services' periodic fold (the worker's tick), which keeps
    ``rollup_changes`` bounded while nobody reads the figures without holding the writers long;
    folding a chunk whenever one is pending keeps a stream of status updates below
    :data:`FOLD_EVERY_CAMPAIGN`, so it does not bump every campaign."""
    if not store.query_tuples(_NTH, {"skip": at_least - 1}):
        return
    with store.transaction() as conn:
        fold_changes(conn, chunk=chunk)


@dataclass(frozen=True)
class LiveFigures:
    """The figures of a selection computed by the SQL of :mod:`.aggregates` on each call."""

    store: Store
    selection: Selection
    reply_window: float
    attribution_window: float

    def stage_counts(self, by: Sequence[str]) -> pd.DataFrame:
        """:func:`.aggregates.stage_counts` of the selection, grouped by ``by``."""
        return aggregates.stage_counts(self.store, by, self.selection, self.reply_window, self.attribution_window)

    def attributed_revenue(self, by: Sequence[str]) -> pd.DataFrame:
        """:func:`.aggregates.attributed_revenue` of the selection, grouped by ``by``."""
        return aggregates.attributed_revenue(self.store, by, self.selection, self.attribution_window)

    def failure_counts(self, by: Sequence[str]) -> pd.DataFrame:
        """:func:`.aggregates.failure_counts` of the selection, grouped by ``by``."""
        return aggregates.failure_counts(self.store, by, self.selection)

    def attempted_counts(self, by: Sequence[str]) -> pd.DataFrame:
        """:func:`.aggregates.attempted_counts` of the selection, grouped by ``by``."""
        return aggregates.attempted_counts(self.store, by, self.selection)


@dataclass(frozen=True)
class CampaignFigures:
    """The figures of a selection per campaign, as the rollups hold them: ``counts``
    (``campaign_id`` and :data:`COUNTS`, campaigns with sends only), ``revenue`` (``campaign_id``,
    ``currency``, ``amount``) and ``failures`` (``campaign_id``, ``error_code``, ``held``,
    ``count``); ``keys`` the group columns of :data:`GROUPS` of every selected campaign. The
    methods sum them per group, as those of :class:`LiveFigures` count them."""

    counts: pd.DataFrame
    revenue: pd.DataFrame
    failures: pd.DataFrame
    keys: pd.DataFrame

    def _grouped(self, frame: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
        """``frame`` (per campaign) with the group columns ``by`` of each campaign."""
        aggregates.check_groups(by)
        return frame.merge(self.keys[["campaign_id", *[b for b in by if b != "campaign_id"]]], on="campaign_id")

    def stage_counts(self, by: Sequence[str]) -> pd.DataFrame:
        """:func:`.aggregates.stage_counts`: per group (none: one row, zeros when nothing is selected)."""
        if not by:
            totals = self.counts[list(COUNTS)].sum().to_numpy()
            return pd.DataFrame([totals], columns=list(COUNTS)).astype("int64")
        counts = self._grouped(self.counts, by).groupby(list(by), sort=True)[list(COUNTS)].sum()
        return counts.reset_index()[[*by, *COUNTS]]

    def attributed_revenue(self, by: Sequence[str]) -> pd.DataFrame:
        """:func:`.aggregates.attributed_revenue`: per group and currency."""
        revenue = self._grouped(self.revenue, by).groupby([*by, "currency"], sort=True)["amount"].sum()
        return revenue.reset_index()[[*by, "currency", "amount"]]

    def failure_counts(self, by: Sequence[str]) -> pd.DataFrame:
        """:func:`.aggregates.failure_counts`: per group and Meta code."""
        fails = self._grouped(self.failures, by).groupby([*by, "error_code"], sort=True)
        table = fails.agg(held=("held", "any"), count=("count", "sum")).reset_index()
        return table[[*by, "error_code", "held", "count"]]

    def attempted_counts(self, by: Sequence[str]) -> pd.DataFrame:
        """:func:`.aggregates.attempted_counts`: per group."""
        return self.stage_counts(by)[[*by, "attempted"]]


@dataclass(frozen=True)
class Rollups:
    """The rollups of a selection's campaigns as read: ``figures`` the JSON of those current,
    ``versions`` every campaign's version, ``keys`` every campaign's group columns (of
    :data:`GROUPS`, in that order)."""

    figures: dict[str, str]
    versions: dict[str, int]
    keys: list[tuple[Any, ...]]

    @property
    def stale(self) -> list[str]:
        """The campaigns without a current rollup."""
        return [cid for cid in self.versions if cid not in self.figures]


def read_rollups(store: Store, selection: Selection, reply_window: float, attribution_window: float) -> Rollups:
    """The selection's campaigns (its time bounds are not applied) with their versions, after
    folding the pending changes, and their rollups of these windows that have that version."""
    if store.query_tuples(_NTH, {"skip": 0}):
        with store.transaction() as conn:
            fold_changes(conn)
    where, params = selection.campaign_where()
    keys = ", ".join(f"{sql} AS {name}" for name, sql in GROUPS.items() if name != "campaign_id")
    rows = store.query_tuples(
        f"SELECT c.campaign_id, {keys}, COALESCE(v.version, 0), r.version, r.figures FROM campaigns c"
        " LEFT JOIN campaign_versions v ON v.campaign_id = c.campaign_id"
        " LEFT JOIN campaign_rollups r ON r.campaign_id = c.campaign_id"
        " AND r.reply_window = :reply_window AND r.attribution_window = :attribution_window"
        f" WHERE {where}",
        {**params, "reply_window": float(reply_window), "attribution_window": float(attribution_window)},
    )
    return Rollups(
        figures={r[0]: r[-1] for r in rows if r[-2] == r[-3]},
        versions={r[0]: int(r[-3]) for r in rows},
        keys=[r[:-3] for r in rows],
    )


def compute_rollups(
    store: Store,
    campaigns: Sequence[str],
    reply_window: float,
    attribution_window: float,
    within: Selection | None = None,
) -> dict[str, str]:
    """The figures of ``campaigns`` by the live SQL of :mod:`.aggregates`, as the JSON each rollup
    stores: computed for those campaigns, or for the selection ``within`` that holds them (without
    time bounds; one scan of every send is faster than seeking most campaigns' sends)."""
    only = Selection(campaigns=tuple(campaigns)) if within is None else within
    counts = aggregates.stage_counts(store, ("campaign_id",), only, reply_window, attribution_window)
    revenue = aggregates.attributed_revenue(store, ("campaign_id",), only, attribution_window)
    fails = aggregates.failure_counts(store, ("campaign_id",), only)
    per_count = {r[0]: [int(v) for v in r[1:]] for r in counts.itertuples(index=False, name=None)}
    per_revenue: dict[str, list[list[Any]]] = {}
    for cid, currency, amount in revenue.itertuples(index=False, name=None):
        per_revenue.setdefault(cid, []).append([currency, float(amount)])
    per_failure: dict[str, list[list[Any]]] = {}
    for cid, code, held, count in fails.itertuples(index=False, name=None):
        per_failure.setdefault(cid, []).append([int(code), bool(held), int(count)])
    return {
        cid: json.dumps(
            {
                "counts": per_count.get(cid, [0] * len(COUNTS)),
                "revenue": per_revenue.get(cid, []),
                "failures": per_failure.get(cid, []),
            }
        )
        for cid in campaigns
    }


def store_rollups(
    store: Store, computed: dict[str, str], versions: dict[str, int], reply_window: float, attribution_window: float
) -> list[str]:
    """Store the rollups ``computed`` of the campaigns whose version is still the one read before
    computing them (``versions``); return those campaigns."""
    with store.transaction() as conn:
        fold_changes(conn)
        now = dict(conn.execute("SELECT campaign_id, version FROM campaign_versions").fetchall())
        held = [cid for cid in computed if now.get(cid, 0) == versions[cid]]
        conn.executemany(
            "INSERT INTO campaign_rollups (campaign_id, reply_window, attribution_window, version, figures)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (campaign_id, reply_window, attribution_window)"
            " DO UPDATE SET version = excluded.version, figures = excluded.figures",
            [(cid, float(reply_window), float(attribution_window), versions[cid], computed[cid]) for cid in held],
        )
    return held


def campaign_figures(
    store: Store,
    selection: Selection = EVERY_SEND,
    reply_window: float = _REPLY_WINDOW,
    attribution_window: float = _ATTRIBUTION_WINDOW,
) -> CampaignFigures:
    """The figures per campaign of ``selection`` (its time bounds are not applied; windows up to
    :data:`MAX_WINDOW`): current rollups read, the others computed and stored."""
    rollups = read_rollups(store, selection, reply_window, attribution_window)
    current = dict(rollups.figures)
    if rollups.stale:
        # most campaigns stale: computed for the whole selection, the current ones too
        within = selection if 2 * len(rollups.stale) > len(rollups.versions) else None
        stale = rollups.stale if within is None else list(rollups.versions)
        computed = compute_rollups(store, stale, reply_window, attribution_window, within)
        store_rollups(store, computed, rollups.versions, reply_window, attribution_window)
        current.update(computed)
    counts, revenue, failures = [], [], []
    for cid, text in current.items():
        data = json.loads(text)
        if data["counts"][0]:  # campaigns without sends have no figures
            counts.append([cid, *data["counts"]])
        revenue += [[cid, *r] for r in data["revenue"]]
        failures += [[cid, *f] for f in data["failures"]]
    return CampaignFigures(
        counts=pd.DataFrame(counts, columns=["campaign_id", *COUNTS]).astype({c: "int64" for c in COUNTS}),
        revenue=pd.DataFrame(revenue, columns=["campaign_id", "currency", "amount"]).astype({"amount": "float64"}),
        failures=pd.DataFrame(failures, columns=["campaign_id", "error_code", "held", "count"]).astype(
            {"error_code": "int64", "held": bool, "count": "int64"}
        ),
        keys=pd.DataFrame(rollups.keys, columns=list(GROUPS)),
    )


def figures(
    store: Store,
    selection: Selection = EVERY_SEND,
    reply_window: float = _REPLY_WINDOW,
    attribution_window: float = _ATTRIBUTION_WINDOW,
) -> CampaignFigures | LiveFigures:
    """The figures of ``selection`` with these windows (seconds), to group at will: from the
    rollups, brought up to date once here; live for time bounds or windows beyond :data:`MAX_WINDOW`."""
    if selection.since is None and selection.until is None and max(reply_window, attribution_window) <= MAX_WINDOW:
        return campaign_figures(store, selection, reply_window, attribution_window)
    return LiveFigures(store, selection, float(reply_window), float(attribution_window))
