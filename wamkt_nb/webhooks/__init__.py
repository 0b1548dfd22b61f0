"""The webhook receiver: verify, parse, deduplicate and record WhatsApp updates.

Framework-free core (:class:`WebhookReceiver`) and its ASGI app; :mod:`wamkt_nb.serving` wires it
together with the auto-replier and serves it (``wamkt serve``, the Jupyter server extension, the demo).
"""

from .receiver import DEFAULT_MAX_BODY_BYTES, WebhookReceiver, WebhookResponse
from .record import InboundHandler, RecordResult, record_batch
from .signature import SIGNATURE_HEADER, sign_body, verify_signature
from .updates import (
    InboundMessage,
    PayloadError,
    Reject,
    StatusUpdate,
    TemplateStatusUpdate,
    UserPreference,
    WebhookBatch,
    parse_payload,
)

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "InboundHandler",
    "InboundMessage",
    "PayloadError",
    "RecordResult",
    "Reject",
    "SIGNATURE_HEADER",
    "StatusUpdate",
    "TemplateStatusUpdate",
    "UserPreference",
    "WebhookBatch",
    "WebhookReceiver",
    "WebhookResponse",
    "parse_payload",
    "record_batch",
    "sign_body",
    "verify_signature",
]
