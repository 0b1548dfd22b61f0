"""The campaign worker inside a Jupyter server, next to the webhook receiver.

With the ``worker`` setting (``WAMKT_WORKER=1`` or ``worker = true`` in ``wamkt.toml``) the
``wamkt_nb.webhooks`` server extension also runs a :class:`~wamkt_nb.campaigns.worker.Worker` on the
server's event loop: notebooks submit (``Campaign.send()`` does, with that setting) and the server
sends, so a campaign goes on after its kernel is shut down. It sends through the settings' API
(``base_url``, ``access_token``, ``phone_number_ids``; for the sandbox, ``base_url`` names it).
When the server stops, requests in flight are left to the ledger's recovery: the next worker
settles them from the status webhooks before anything is resent.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ..campaigns.worker import Worker
from ..campaigns.worker_http import serve_worker
from ..cloudapi import AsyncCloudClient
from ..settings import GRAPH_BASE_URL, Settings
from ..store import Store

_TASKS: set[asyncio.Task] = set()
"""The hosted workers' tasks (kept referenced while they run)."""


def host_worker(serverapp: Any, settings: Settings, store: Store) -> Worker | None:
    """Start a worker on the server's loop; None (with a warning) when the settings cannot send."""
    if not settings.phone_number_ids or not settings.access_token:
        serverapp.log.warning("wamkt_nb: worker not started: set WAMKT_PHONE_NUMBER_IDS and WAMKT_ACCESS_TOKEN")
        return None
    if settings.sandbox and settings.base_url.rstrip("/") == GRAPH_BASE_URL.rstrip("/"):
        serverapp.log.warning("wamkt_nb: worker not started: in sandbox mode WAMKT_BASE_URL must name the sandbox")
        return None
    worker = Worker(
        store,
        AsyncCloudClient(settings),
        settings.phone_number_ids,
        max_rate=None if settings.sandbox else settings.max_rate,
    )

    def start() -> None:
        task = asyncio.ensure_future(serve_worker(worker))
        _TASKS.add(task)
        task.add_done_callback(_TASKS.discard)

    asyncio.get_event_loop().call_soon(start)
    serverapp.log.info("wamkt_nb campaign worker hosted (database %s)", store.where)
    return worker
