"""The rules that can change between the dry run and the send, checked again right before a request.

A STOP after the dry run, a service window that closed meanwhile, a row pushed into the
recipient's quiet hours by the tier limit or a pause: the sender asks :class:`SendTimeCheck` about
each batch of due rows. It reads the same consent and service-window tables with the same rule
functions as :func:`rules.check_rules`, by key, so a batch costs two indexed queries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..store import Store
from .rules import Policy, consent_answers, consent_exclusions, needs_service_window, window_closes_at
from .schedule import planned_times
from .timezones import local_hours, zone_for_phone


@dataclass(frozen=True)
class Verdict:
    """For one row: ``reason`` '' (send now), an exclusion code, or ``quiet_hours`` with ``defer_to``."""

    reason: str = ""
    defer_to: float | None = None


GO = Verdict()


class SendTimeCheck:
    """Consent, the service window (session messages) and quiet hours, for one campaign's category and policy."""

    def __init__(self, store: Store, category: str, policy: Policy = Policy()) -> None:
        self.store = store
        self.category = category
        self.policy = policy

    def check(
        self, phones: Sequence[str], message_types: Sequence[str | None], zones: Sequence[str | None], now: float
    ) -> list[Verdict]:
        """One verdict per row; ``zones`` may hold None (the zone then comes from the phone number)."""
        n = len(phones)
        if not n:
            return []
        phones = list(phones)
        # the dry run let them through, so the import's opt-in flag was set or a consent answer said yes
        no_opt_in, opted_out = consent_exclusions(
            self.category, np.ones(n, dtype=bool), consent_answers(self.store, phones)
        )
        session = np.array([needs_service_window(t) for t in message_types], dtype=bool)
        closes = (
            window_closes_at(self.store, phones, now, self.policy.service_window_seconds)
            if session.any()
            else np.full(n, np.nan)
        )
        zone_names = [z or zone_for_phone(p) for z, p in zip(zones, phones, strict=True)]
        quiet = self.policy.in_quiet_hours(local_hours(zone_names, now))
        defer = np.full(n, np.nan)
        if quiet.any():
            rows = np.flatnonzero(quiet)
            later, _ = planned_times(
                pd.DataFrame(index=rows),
                pd.Series([zone_names[i] for i in rows], index=rows),
                now,
                mode="now",
                policy=self.policy,
            )
            defer[rows] = later
        verdicts = []
        for i in range(n):
            if no_opt_in[i]:
                verdicts.append(Verdict("no_opt_in"))
            elif opted_out[i]:
                verdicts.append(Verdict("opted_out"))
            elif session[i] and not closes[i] > (defer[i] if quiet[i] else now):
                verdicts.append(Verdict("outside_service_window"))  # closed, or closed before quiet hours end
            elif quiet[i]:
                verdicts.append(Verdict("quiet_hours", float(defer[i])))
            else:
                verdicts.append(GO)
        return verdicts
