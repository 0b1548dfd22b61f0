"""A local, wire-faithful WhatsApp Cloud API with limits, simulated customers and signed webhooks.

    with Sandbox(customers=data, clock=SimulatedClock(start, speed=3600)) as sb:
        client = CloudClient(sb.settings())          # any Graph API client works: only the base URL differs
        sb.set_webhook("http://127.0.0.1:8787/webhook", "verify-me")
        ...
        sb.conversions_frame()                       # simulated orders, ready for the store

``BehaviourParams`` holds the customer model (editable data; ``variant_uplift`` plants a known
A/B effect); its probabilities are pure functions for simulations without HTTP.
"""

from .behaviour import (
    BehaviourParams,
    conversion_probability,
    delivery_probability,
    read_probability,
    reply_probability,
    variant_key_uplift,
)
from .config import SandboxConfig
from .faults import Faults
from .server import Sandbox, open_cloud_api
from .webhooks import WebhookError

__all__ = [
    "BehaviourParams",
    "Faults",
    "Sandbox",
    "SandboxConfig",
    "WebhookError",
    "conversion_probability",
    "delivery_probability",
    "open_cloud_api",
    "read_probability",
    "reply_probability",
    "variant_key_uplift",
]
