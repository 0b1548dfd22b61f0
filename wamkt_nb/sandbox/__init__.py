"""A local, wire-faithful WhatsApp Cloud API with limits, simulated customers and signed webhooks."""

from .behaviour import (
    BehaviourParams, conversion_probability, delivery_probability, read_probability, reply_probability,
    variant_key_uplift,
)
from .config import SandboxConfig
from .faults import Faults
from .server import Sandbox, open_cloud_api
from .webhooks import WebhookError, sign

__all__ = [
    "BehaviourParams", "Faults", "Sandbox", "SandboxConfig", "WebhookError", "conversion_probability",
    "delivery_probability", "open_cloud_api", "read_probability", "reply_probability", "sign",
    "variant_key_uplift",
]
