"""The Graph API versions Meta serves, with their dates: the one table client and sandbox read.

From Meta's Graph API changelog (https://developers.facebook.com/docs/graph-api/changelog,
checked 2026-12-02; see docs/cloud-api.md). A version is served from its introduction until its
``available_until`` date (exclusive); ``None`` means Meta has not set the date yet. When Meta
publishes a new version, add a row here and move ``CURRENT_VERSION``: the client default, the
sandbox and the tests follow.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class GraphVersion:
    name: str
    introduced: dt.date
    available_until: dt.date | None

    def served_on(self, day: dt.date) -> bool:
        return self.introduced <= day and (self.available_until is None or day < self.available_until)


GRAPH_VERSIONS: tuple[GraphVersion, ...] = (
    GraphVersion("v26.0", dt.date(2026, 7, 29), None),
    GraphVersion("v25.0", dt.date(2026, 2, 18), dt.date(2028, 7, 29)),
    GraphVersion("v24.0", dt.date(2025, 10, 8), dt.date(2028, 2, 18)),
    GraphVersion("v23.0", dt.date(2025, 5, 29), dt.date(2027, 10, 8)),
    GraphVersion("v22.0", dt.date(2025, 1, 21), dt.date(2027, 5, 20)),
    GraphVersion("v21.0", dt.date(2024, 10, 2), dt.date(2027, 1, 21)),
    GraphVersion("v20.0", dt.date(2024, 5, 21), dt.date(2026, 9, 24)),
    GraphVersion("v19.0", dt.date(2024, 1, 23), dt.date(2026, 5, 21)),
    GraphVersion("v18.0", dt.date(2023, 9, 12), dt.date(2026, 1, 26)),
    GraphVersion("v17.0", dt.date(2023, 5, 23), dt.date(2025, 9, 12)),
)
"""Newest first."""

CURRENT_VERSION = GRAPH_VERSIONS[0].name
"""The newest version; the client's default (``WAMKT_API_VERSION``)."""

_BY_NAME = {v.name: v for v in GRAPH_VERSIONS}


def served_versions(day: dt.date | None = None) -> tuple[str, ...]:
    """The versions Meta serves on ``day`` (default: today, UTC), newest first."""
    day = day or dt.datetime.now(dt.UTC).date()
    return tuple(v.name for v in GRAPH_VERSIONS if v.served_on(day))


def is_served(version: str, day: dt.date | None = None) -> bool:
    """Whether Meta answers requests under ``/{version}/`` on ``day`` (default: today, UTC)."""
    known = _BY_NAME.get(version)
    return known is not None and known.served_on(day or dt.datetime.now(dt.UTC).date())


def retirement(version: str) -> dt.date | None:
    """The day Meta stops serving ``version`` (None: not set yet, or not a version we know)."""
    known = _BY_NAME.get(version)
    return known.available_until if known else None
