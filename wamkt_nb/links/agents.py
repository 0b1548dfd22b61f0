"""Telling a person's click from a machine fetching the link.

WhatsApp fetches a link to draw its preview (user agent ``WhatsApp/2.x``) before anyone taps it;
other apps, crawlers and scanners do the same. Those requests are recorded but are not clicks;
neither is a HEAD request (browsers follow links with GET).
"""

from __future__ import annotations

import re

AGENTS = ("mobile", "desktop", "preview", "bot", "head")
HUMAN = frozenset({"mobile", "desktop"})
_PREVIEW = re.compile(
    r"WhatsApp/|facebookexternalhit|Facebot|TelegramBot|Slackbot|Twitterbot|LinkedInBot|Discordbot|"
    r"SkypeUriPreview|Viber|Iframely|redditbot|Pinterest|vkShare|Embedly",
    re.IGNORECASE,
)
_BOT = re.compile(
    r"bot\b|crawl|spider|slurp|preview|scan|monitor|curl/|wget/|python-|httpx|go-http|java/|"
    r"okhttp|libwww|headless",
    re.IGNORECASE,
)
_MOBILE = re.compile(r"Mobile|Android|iPhone|iPad|iPod|Opera Mini|IEMobile", re.IGNORECASE)


def classify(method: str, user_agent: str | None) -> str:
    """One of :data:`AGENTS` for a request of a tracked link."""
    if method == "HEAD":
        return "head"
    agent = (user_agent or "").strip()
    if _PREVIEW.search(agent):
        return "preview"
    if not agent or _BOT.search(agent) or not agent.startswith("Mozilla/"):
        return "bot"
    return "mobile" if _MOBILE.search(agent) else "desktop"
