"""The simulated customers' browsers: tracked links are followed over real HTTP.

A customer's click is a GET with a phone browser's user agent; WhatsApp's link preview a GET with
WhatsApp's (``WhatsApp/2.x``), which the redirect endpoint records but does not count. Only links on
this machine (127.0.0.1, localhost) are requested: the sandbox never calls out to the internet, and
the redirect's answer (302 to the shop) is not followed further.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from collections import Counter
from urllib.parse import urlsplit

import httpx

log = logging.getLogger(__name__)

USER_AGENTS = {
    "person": (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Mobile Safari/537.36"
    ),
    "preview": "WhatsApp/2.24.8.78 A",
}


def is_local(url: str) -> bool:
    """Whether ``url`` points at this machine (loopback address or localhost)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class LinkClicker:
    """Requests tracked links for the sandbox engine; counts what happened in ``counters``."""

    def __init__(self, timeout: float = 5.0) -> None:
        self.timeout = timeout
        self.counters: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, clicks: list[tuple[str, str]]) -> None:
        with httpx.Client(timeout=self.timeout, follow_redirects=False) as client:
            for url, who in clicks:
                self._count(f"{who}_requests" if is_local(url) else f"{who}_not_followed")
                if not is_local(url):
                    continue
                try:
                    status = client.get(url, headers={"User-Agent": USER_AGENTS[who]}).status_code
                except httpx.HTTPError as exc:
                    log.warning("sandbox: following a tracked link failed: %s", type(exc).__name__)
                    self._count(f"{who}_failed")
                    continue
                self._count(f"{who}_redirected" if status == 302 else f"{who}_status_{status}")

    def _count(self, key: str) -> None:
        with self._lock:
            self.counters[key] += 1
