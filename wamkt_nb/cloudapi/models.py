"""Typed results of the Cloud API calls, parsed from Meta's JSON (the raw dict is kept)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

THROUGHPUT_LEVELS: dict[str, int] = {"STANDARD": 80, "HIGH": 1000, "NOT_APPLICABLE": 20}
"""Messages per second for Meta's ``throughput.level`` values (20 for numbers shared with the Business app)."""

TIER_LIMITS: dict[str, int | None] = {
    "TIER_50": 50,
    "TIER_250": 250,
    "TIER_1K": 1_000,
    "TIER_2K": 2_000,
    "TIER_10K": 10_000,
    "TIER_100K": 100_000,
    "TIER_UNLIMITED": None,
}
"""Unique users per rolling 24 h for each messaging limit value (None = unlimited).

``TIER_50`` and ``TIER_1K`` are per-number values from before October 2025, kept to read old answers.
"""

PORTFOLIO_TIERS: tuple[str, ...] = ("TIER_250", "TIER_2K", "TIER_10K", "TIER_100K", "TIER_UNLIMITED")
"""A business portfolio's messaging limits in Meta's upgrade order (see docs/cloud-api.md)."""


def next_tier(tier: str) -> str | None:
    """The portfolio limit one level above ``tier`` (None at unlimited or for a pre-2025 value)."""
    if tier not in PORTFOLIO_TIERS or tier == PORTFOLIO_TIERS[-1]:
        return None
    return PORTFOLIO_TIERS[PORTFOLIO_TIERS.index(tier) + 1]


@dataclass(frozen=True)
class SendResult:
    """An accepted message: ``wamid`` identifies it in every later status webhook.

    Meta answers ``contacts[].wa_id`` for a send to a phone and ``contacts[].user_id`` for a send
    to a BSUID (``wa_id`` is then empty); ``input`` is what the request named.
    """

    wamid: str
    wa_id: str
    input: str
    message_status: str | None = None
    user_id: str | None = None


@dataclass(frozen=True)
class TemplateInfo:
    """A message template as the templates endpoints return it."""

    id: str
    name: str = ""
    language: str = ""
    status: str = ""
    category: str = ""
    parameter_format: str = "POSITIONAL"
    components: list[dict[str, Any]] = field(default_factory=list)
    rejected_reason: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TemplateInfo:
        return cls(
            id=str(data.get("id", "")),
            name=data.get("name", ""),
            language=data.get("language", ""),
            status=data.get("status", ""),
            category=data.get("category", ""),
            parameter_format=str(data.get("parameter_format", "POSITIONAL")).upper(),
            components=list(data.get("components") or []),
            rejected_reason=data.get("rejected_reason"),
            raw=data,
        )

    @property
    def body_text(self) -> str:
        """The body component's text with its ``{{...}}`` placeholders."""
        return next((c.get("text", "") for c in self.components if c.get("type", "").upper() == "BODY"), "")


@dataclass(frozen=True)
class PhoneNumberInfo:
    """A business phone number's limits and standing.

    ``messaging_limit`` is the business portfolio's limit, shared by all its numbers: Meta's
    ``whatsapp_business_manager_messaging_limit`` (the deprecated ``messaging_limit_tier`` only
    when an old API version answers without the new field).
    """

    id: str
    display_phone_number: str = ""
    verified_name: str = ""
    quality_rating: str = ""
    throughput_level: str = ""
    messaging_limit: str = ""
    code_verification_status: str = ""
    name_status: str = ""
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PhoneNumberInfo:
        throughput = data.get("throughput") or {}
        tier = data.get("whatsapp_business_manager_messaging_limit") or data.get("messaging_limit_tier") or ""
        return cls(
            id=str(data.get("id", "")),
            display_phone_number=data.get("display_phone_number", ""),
            verified_name=data.get("verified_name", ""),
            quality_rating=data.get("quality_rating", ""),
            throughput_level=throughput.get("level", "") if isinstance(throughput, dict) else str(throughput),
            messaging_limit=tier,
            code_verification_status=data.get("code_verification_status", ""),
            name_status=data.get("name_status", ""),
            raw=data,
        )

    @property
    def messages_per_second(self) -> int | None:
        return THROUGHPUT_LEVELS.get(self.throughput_level)

    @property
    def unique_users_per_day(self) -> int | None:
        """The portfolio's unique-user limit per 24 h (None when unlimited or unknown)."""
        return TIER_LIMITS.get(self.messaging_limit)


@dataclass(frozen=True)
class MediaUpload:
    """An uploaded file: send it with ``{"id": id}`` (Meta keeps it 30 days)."""

    id: str
    mime_type: str
    file_size: int
    sha256: str
    filename: str


@dataclass(frozen=True)
class MediaInfo:
    """What ``GET /{media_id}`` tells: a download URL (valid about 5 minutes) and the file's facts."""

    id: str
    url: str
    mime_type: str = ""
    sha256: str = ""
    file_size: int = 0
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MediaInfo:
        size = data.get("file_size")  # Meta documents it as a string of digits
        return cls(
            id=str(data.get("id", "")),
            url=str(data.get("url", "")),
            mime_type=data.get("mime_type", ""),
            sha256=data.get("sha256", ""),
            file_size=int(str(size)) if str(size or "").isdigit() else 0,
            raw=data,
        )
