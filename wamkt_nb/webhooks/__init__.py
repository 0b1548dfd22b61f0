"""The webhook receiver: verify, parse, deduplicate and record WhatsApp updates.

Framework-free core (:class:`WebhookReceiver`), an ASGI app for ``wamkt serve`` and a Jupyter
server extension (``jupyter server --ServerApp.jpserver_extensions=wamkt_nb.webhooks=True``).
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
    "DEFAULT_MAX_BODY_BYTES", "InboundHandler", "InboundMessage", "PayloadError", "RecordResult",
    "Reject", "SIGNATURE_HEADER", "StatusUpdate", "TemplateStatusUpdate", "UserPreference",
    "WebhookBatch", "WebhookReceiver", "WebhookResponse",
    "parse_payload", "record_batch", "sign_body", "verify_signature",
]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """Jupyter server finds the webhook handler here (extension name ``wamkt_nb.webhooks``)."""
    return [{"module": "wamkt_nb.webhooks.jupyter"}]
