"""The compliance policy a campaign was planned with, as its dry run stored it."""

from __future__ import annotations

from typing import Any

from ..compliance import Policy
from ..ledger import spec_of


def campaign_policy(info: dict[str, Any]) -> Policy:
    """The compliance policy the campaign was planned with (stored from the dry run's plan), else the default."""
    stored = spec_of(info.get("spec_json")).get("policy") or {}
    return Policy(**{k: v for k, v in stored.items() if k in Policy.__dataclass_fields__})
