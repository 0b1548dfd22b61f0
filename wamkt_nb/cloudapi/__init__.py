"""Client for the WhatsApp Cloud API (Graph API): payload builders, typed results, error taxonomy."""

from .client import AsyncCloudClient, CloudClient, check_base_url
from .errors import (
    ERROR_MEANINGS,
    AuthError,
    CloudAPIError,
    InvalidParameterError,
    InvalidURLError,
    MarketingLimitError,
    OptedOutError,
    OutcomeUnknownError,
    PairRateLimitError,
    PolicyError,
    RateLimitError,
    ReEngagementError,
    ServerError,
    TemplateError,
    TransientError,
    TransportError,
    UndeliverableError,
    error_from_payload,
    error_meaning,
)
from .models import MediaInfo, MediaUpload, PhoneNumberInfo, SendResult, TemplateInfo
from .payloads import buttons_message, media_message, template_message, text_message

__all__ = [
    "AsyncCloudClient", "CloudClient", "MediaInfo", "MediaUpload", "PhoneNumberInfo", "SendResult", "TemplateInfo",
    "ERROR_MEANINGS", "AuthError", "CloudAPIError", "InvalidParameterError", "InvalidURLError", "MarketingLimitError",
    "OptedOutError", "OutcomeUnknownError", "PairRateLimitError", "PolicyError", "RateLimitError",
    "ReEngagementError", "ServerError", "TemplateError", "TransientError", "TransportError",
    "UndeliverableError", "check_base_url", "error_from_payload", "error_meaning",
    "buttons_message", "media_message", "template_message", "text_message",
]
