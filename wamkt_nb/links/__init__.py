"""Tracked links: per-recipient short links with UTM parameters, a redirect endpoint that counts
clicks, and click data per campaign, variant and send (see ``docs/links.md``)."""

from .agents import AGENTS, HUMAN, classify
from .plan import add_tracked_links
from .redirect import Redirect, follow, link_app
from .repository import (
    Link,
    click_summary,
    clicks_per_send,
    links_frame,
    resolve,
    save_links,
)
from .urls import PATH, UTM, find_urls, new_token, tracked_links, tracked_url, with_utm

__all__ = [
    "AGENTS",
    "HUMAN",
    "classify",
    "add_tracked_links",
    "Redirect",
    "follow",
    "link_app",
    "Link",
    "click_summary",
    "clicks_per_send",
    "links_frame",
    "resolve",
    "save_links",
    "PATH",
    "UTM",
    "find_urls",
    "new_token",
    "tracked_links",
    "tracked_url",
    "with_utm",
]
