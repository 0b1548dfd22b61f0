"""The sandbox's account and Meta's limits as data; defaults follow the wire contract."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field, fields

from ..cloudapi.models import PORTFOLIO_TIERS, TIER_LIMITS
from ..graph_versions import is_served
from .quality import QualityRules


@dataclass
class SandboxConfig:
    """What the simulated account looks like and which limits apply.

    Change a field and the running sandbox uses it for the next request (limits are read live).
    """

    phone_number_id: str = "106540352242922"
    waba_id: str = "102290129340398"
    display_phone_number: str = "4930123456"
    verified_name: str = "wamkt Sandbox Shop"
    # Known defaults for the standalone server; an embedded Sandbox without a config draws random ones.
    access_token: str = field(default="sandbox-token", repr=False)
    app_secret: str = field(default="sandbox-app-secret", repr=False)
    # The day whose Graph API versions are served (Meta's changelog dates); None: today (UTC).
    api_date: dt.date | None = None
    # Throughput per phone number (messages/s, bucket depth = one second of traffic).
    throughput_per_second: float = 80.0
    throughput_http_status: int = 429  # (unverified) Meta answers 130429 with 429 or 400
    # Pair rate: one message per `pair_interval` seconds to the same user, `pair_burst` may borrow.
    pair_interval: float = 6.0
    pair_burst: int = 3
    # The business portfolio's messaging limit: unique users reached outside a service window per
    # rolling 24 h, shared by `phone_number_id` and `portfolio_phone_number_ids` (Meta since Oct 2025).
    messaging_tier: str = "TIER_2K"
    portfolio_phone_number_ids: tuple[str, ...] = field(default_factory=tuple)
    # Automatic scaling: one level up within this many simulated hours (Meta: 6) of meeting the criteria.
    automatic_scaling: bool = True
    limit_upgrade_hours: float = 6.0
    tier_exceeded_code: int = 131048  # (unverified) Meta documents no dedicated code
    # Per-user marketing limit: marketing templates delivered per user per rolling 24 h.
    marketing_per_user_24h: int = 1
    service_window_hours: float = 24.0
    block_us_marketing: bool = True
    quality_rating: str = "GREEN"  # updated live from blocks and STOPs (see quality_rules)
    quality_rules: QualityRules = field(default_factory=QualityRules)
    throughput_level: str = "STANDARD"
    # Template review: simulated seconds until a PENDING template is decided.
    template_review_seconds: float = 3_600.0
    promotional_words: tuple[str, ...] = ("limited-time", "limited time", "nur heute", "gratis", "100%")
    # Share of known customers whose number is not on WhatsApp or who stopped marketing in the app.
    not_on_whatsapp_rate: float = 0.005
    marketing_stopped_rate: float = 0.01
    # Share of customers who adopted a WhatsApp username: their webhooks carry their BSUID and
    # username but no phone (Meta leaves it out, see docs/cloud-api.md); the store finds the customer
    # through the BSUID a status webhook linked to the phone (wamkt_nb/identities.py). No published
    # adoption figure: 5 % is a modelling assumption (docs/figures.md); 0 turns usernames off.
    username_share: float = 0.055
    # Webhooks: batch up to this many updates, wait this long (real seconds) to fill a batch.
    webhook_batch_size: int = 100
    webhook_batch_wait: float = 0.02
    webhook_max_attempts: int = 6
    webhook_retry_base: float = 0.2  # real seconds, doubled per attempt
    webhook_timeout: float = 5.0
    # Uploaded media: ids are valid this long (Meta: 30 days), download URLs this many seconds (Meta: 5 min).
    media_retention_days: float = 30.0
    media_url_ttl: float = 300.0
    seed: int = 7
    extra_api_versions: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Refuse values the limits cannot work with (a clear message, before anything runs)."""
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"{f.name} must be a finite number, not {value}")
        if self.api_date is not None and not isinstance(self.api_date, dt.date):
            raise ValueError(f"api_date must be a date (YYYY-MM-DD) or null, not {self.api_date!r}"[:200])
        if self.throughput_per_second <= 0:
            raise ValueError("throughput_per_second must be positive")
        if self.pair_interval < 0 or self.pair_burst < 1:
            raise ValueError("pair_interval must be >= 0 and pair_burst >= 1")
        if self.marketing_per_user_24h < 0 or self.service_window_hours <= 0:
            raise ValueError("marketing_per_user_24h must be >= 0 and service_window_hours positive")
        if not 0 <= self.not_on_whatsapp_rate <= 1 or not 0 <= self.marketing_stopped_rate <= 1:
            raise ValueError("not_on_whatsapp_rate and marketing_stopped_rate must be between 0 and 1")
        if not 0 <= self.username_share <= 1:
            raise ValueError("username_share must be between 0 and 1")
        if self.media_retention_days <= 0 or self.media_url_ttl <= 0:
            raise ValueError("media_retention_days and media_url_ttl must be positive")
        if self.limit_upgrade_hours < 0:
            raise ValueError("limit_upgrade_hours must be >= 0")
        self.tier_limit  # noqa: B018 - raises for an unknown tier name

    @property
    def tier_limit(self) -> int | None:
        if self.messaging_tier not in PORTFOLIO_TIERS:
            raise ValueError(f"messaging_tier must be one of {', '.join(PORTFOLIO_TIERS)}, not {self.messaging_tier!r}")
        return TIER_LIMITS[self.messaging_tier]

    @property
    def phone_numbers(self) -> tuple[str, ...]:
        """Every business number of the simulated portfolio (they share the messaging limit)."""
        return (self.phone_number_id, *self.portfolio_phone_number_ids)

    def accepts_version(self, version: str) -> bool:
        """The versions Meta serves on ``api_date`` (see :mod:`wamkt_nb.graph_versions`), plus extras."""
        return version in self.extra_api_versions or is_served(version, self.api_date)
