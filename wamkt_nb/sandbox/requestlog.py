"""The sandbox's ``/messages`` request log, bounded in entries and in bytes.

The log exists for inspection (``Sandbox.received()``); it must not grow with what clients send:
a body longer than :data:`MAX_LOGGED_BODY` is kept as its first bytes, and the oldest entries go
once the count or the byte budget is passed.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

MAX_LOGGED_BODY = 64 * 1024
DEFAULT_MAX_BYTES = 64 * 1024 * 1024

Entry = tuple[float, str, bytes, int, bytes]  # (time, phone number id, request body, HTTP status, answer)


class RequestLog:
    """The newest requests within ``max_entries`` and ``max_bytes`` (bodies and answers counted)."""

    def __init__(self, max_entries: int, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: deque[Entry] = deque()
        self._bytes = 0

    def append(self, at: float, phone_number_id: str, body: bytes, status: int, answer: bytes) -> None:
        entry = (at, phone_number_id, body[:MAX_LOGGED_BODY], status, answer[:MAX_LOGGED_BODY])
        self._entries.append(entry)
        self._bytes += _size(entry)
        while self._entries and (len(self._entries) > self.max_entries or self._bytes > self.max_bytes):
            self._bytes -= _size(self._entries.popleft())

    @property
    def bytes(self) -> int:
        return self._bytes

    def clear(self) -> None:
        self._entries.clear()
        self._bytes = 0

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"RequestLog({len(self._entries):,} entries, {self._bytes:,} bytes)"


def _size(entry: Entry) -> int:
    return len(entry[2]) + len(entry[4])
