"""Fixtures of the sending tests."""

from __future__ import annotations

import pytest

from wamkt_nb.serving.service import service_from_settings
from wamkt_nb.store import open_store
from wamkt_nb.webhooks.server import BackgroundServer


@pytest.fixture
def receiver(sandbox, tmp_path, store):
    """The webhook receiver (own connection to the same database), registered with the test
    module's own ``sandbox`` fixture."""
    settings = sandbox.settings(verify_token="vt-123")
    own = open_store(store.target)
    service = service_from_settings(settings, own)
    with BackgroundServer(service.asgi_app()) as srv:
        sandbox.set_webhook(srv.url + "/webhook", "vt-123")
        yield srv
        sandbox.set_webhook(None)
    own.close()
