"""What a tracked link looks like: an opaque token under the link base, and the UTM parameters
added to the destination when the link is followed.

The token is random (``secrets``), so the URL says nothing about who got it: no phone, name,
e-mail or customer id, and no way to derive one. What it stands for lives in the store only.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

PATH = "/l/"
"""Where the redirect endpoint serves tracked links: ``{base}/l/{token}``."""
TOKEN_BYTES = 9
"""72 random bits (12 URL-safe characters): guessing a live token is hopeless, the URL stays short."""
TOKEN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
URL = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]}]")
"""An http(s) URL in running text, without the punctuation that ends a sentence after it."""
TRACKED = re.compile(r"https?://[^\s<>\"']*?/l/([A-Za-z0-9_-]{8,64})(?![A-Za-z0-9_-])")
"""A tracked link in a message text (the group is its token)."""


@dataclass(frozen=True)
class UTM:
    """The UTM parameters added to every destination of a campaign.

    ``campaign`` defaults to the campaign's name and ``content`` to the recipient's A/B arm, else
    the template name, else ``"text"``; ``None`` in ``term`` leaves it out.
    """

    source: str = "whatsapp"
    medium: str = "message"
    campaign: str | None = None
    content: str | None = None
    term: str | None = None


def new_token() -> str:
    """A fresh random token."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def tracked_url(base_url: str, token: str) -> str:
    """The URL the customer sees: ``{base_url}/l/{token}``."""
    return base_url.rstrip("/") + PATH + token


def check_base_url(base_url: str) -> str:
    """``base_url`` if it is an absolute http(s) URL without query or fragment, else ValueError."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(f"the link base URL must look like https://go.example.com, not {base_url!r}")
    return base_url.rstrip("/")


def with_utm(destination: str, utm: dict[str, str | None]) -> str:
    """``destination`` with the given ``utm_*`` parameters appended to its query.

    Parameters the destination already has win (the marketer set them on purpose); its other
    parameters, their order and the fragment are kept.
    """
    parts = urlsplit(destination)
    query = parse_qsl(parts.query, keep_blank_values=True)
    have = {key for key, _ in query}
    query += [(key, value) for key, value in utm.items() if value and key not in have]
    return urlunsplit(parts._replace(query=urlencode(query, doseq=True)))


def find_urls(text: str) -> list[str]:
    """The distinct http(s) URLs in ``text``, in order of appearance."""
    return list(dict.fromkeys(URL.findall(text or "")))


def tracked_links(text: str) -> list[str]:
    """The distinct tracked links in ``text`` (what a customer reading it could click)."""
    if not text or "/l/" not in text:  # most texts: no need to run the pattern
        return []
    return list(dict.fromkeys(m.group(0) for m in TRACKED.finditer(text)))
