"""Running async code from sync code: one background event loop for the whole process.

Notebooks, widgets, scenarios and the blocking ``CloudClient`` call coroutines from synchronous
code, often while Jupyter's own event loop is running in the same thread (where ``asyncio.run``
refuses to start). Every such call goes through :func:`run_sync`, which hands the coroutine to a
single daemon thread running one event loop for the life of the process. Objects bound to a loop
(an ``httpx.AsyncClient``, a semaphore) stay valid between calls because the loop is always the same.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None


def background_loop() -> asyncio.AbstractEventLoop:
    """The process's background event loop, started on first use."""
    global _loop, _thread
    with _lock:
        if _loop is None or _loop.is_closed() or _thread is None or not _thread.is_alive():
            _loop = asyncio.new_event_loop()
            _thread = threading.Thread(target=_loop.run_forever, name="wamkt-aio", daemon=True)
            _thread.start()
        return _loop


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion on the background loop and return its result (or raise its error).

    Works with or without a running loop in the calling thread (Jupyter). Called from a coroutine
    that itself runs on the background loop it would wait for itself forever: that is an error.
    """
    loop = background_loop()
    if threading.current_thread() is _thread:
        coro.close()
        raise RuntimeError("run_sync was called from the background loop itself: await the coroutine instead")
    return asyncio.run_coroutine_threadsafe(coro, loop).result()
