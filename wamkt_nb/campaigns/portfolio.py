"""The business portfolio's messaging limit, read on the numbers a campaign sends from.

Since October 2025 Meta sets the messaging limit (unique users reached outside a service window per
rolling 24 h) per business portfolio, shared by all its numbers; each number reports it in
``whatsapp_business_manager_messaging_limit``. A campaign sent from two numbers of one portfolio
therefore has one limit to share, not one per number: the dry run spreads it over days by that.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Protocol

from ..cloudapi.models import TIER_LIMITS, PhoneNumberInfo
from ..compliance import Policy


class PhoneNumberReader(Protocol):
    def get_phone_number(self, phone_number_id: str) -> PhoneNumberInfo: ...


def shared_limit(numbers: Iterable[PhoneNumberInfo]) -> int | None:
    """The one limit the numbers share (None: unlimited).

    Numbers that report different limits belong to different portfolios: plan each portfolio's
    campaign on its own rather than guess how their limits combine.
    """
    numbers = list(numbers)
    if not numbers:
        raise ValueError("no phone number to read the messaging limit from")
    unknown = [n.id for n in numbers if not n.messaging_limit]
    if unknown:
        raise ValueError(
            f"phone number(s) {', '.join(unknown)} report no messaging limit "
            "(whatsapp_business_manager_messaging_limit)"
        )
    values = {n.messaging_limit for n in numbers}
    if len(values) > 1:
        listed = ", ".join(f"{n.id}: {n.messaging_limit}" for n in numbers)
        raise ValueError(
            f"the numbers report different messaging limits ({listed}); they belong to different "
            "business portfolios: plan a campaign per portfolio"
        )
    if numbers[0].messaging_limit not in TIER_LIMITS:
        raise ValueError(f"unknown messaging limit {numbers[0].messaging_limit!r}; known: {', '.join(TIER_LIMITS)}")
    return numbers[0].unique_users_per_day


def portfolio_policy(client: PhoneNumberReader, phone_number_ids: Iterable[str], policy: Policy = Policy()) -> Policy:
    """``policy`` with ``daily_limit`` set to the portfolio limit the campaign's numbers share."""
    return replace(policy, daily_limit=shared_limit(client.get_phone_number(pid) for pid in phone_number_ids))
