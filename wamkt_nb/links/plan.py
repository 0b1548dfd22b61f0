"""Putting tracked links into a campaign plan: every URL a recipient would get becomes their own link.

Which URLs: in session text, every http(s) URL of the body (a ``{{link}}`` variable filled from
``MessageSpec.links`` is one); in a template, every URL inside a parameter (the template's fixed
text cannot change), and a URL button whose suffix parameter is a whole URL gets the token as
its suffix, so the template's button URL must be ``{link base}/l/{{1}}`` (a carousel card's
button too). Each distinct URL of a message gets its own token; the plan's ``links`` column
keeps the (token, destination) pairs that ``create_campaign`` stores against the send.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from .repository import LINKS_COLUMN, UTM_ATTR
from .urls import PATH, URL, UTM, check_base_url, new_token, tracked_url


def add_tracked_links(plan: pd.DataFrame, base_url: str, utm: UTM | None = None) -> int:
    """Replace the URLs of every planned message (``body`` and ``payload``) by tracked links, in place.

    Adds the ``links`` column and the UTM settings (``plan.attrs``); returns how many links were made.
    """
    base = check_base_url(base_url)
    links = np.full(len(plan), None, dtype=object)
    bodies = plan["body"].to_numpy(dtype=object).copy()
    payloads = plan["payload"].to_numpy(dtype=object).copy()
    made = 0
    for i in np.flatnonzero((plan["outcome"] != "excluded").to_numpy()):
        if not isinstance(payloads[i], dict):
            continue
        tracker = _Tracker(base)
        changed = _rewrite(payloads[i], tracker)
        if not tracker.tokens:
            continue
        payloads[i] = changed
        if isinstance(bodies[i], str):
            bodies[i] = URL.sub(tracker.replace_known, bodies[i])
        links[i] = tuple((token, url) for url, token in tracker.tokens.items())
        made += len(tracker.tokens)
    plan["body"] = pd.Series(bodies, index=plan.index, dtype=plan["body"].dtype)
    plan["payload"] = pd.Series(payloads, index=plan.index, dtype=object)
    plan[LINKS_COLUMN] = pd.Series(links, index=plan.index, dtype=object)
    plan.attrs[UTM_ATTR] = utm or UTM()
    return made


class _Tracker:
    """One message's links: each distinct destination gets one new token (``tokens``)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.tokens: dict[str, str] = {}

    def track(self, url: str) -> str:
        """The tracked URL for ``url`` (a URL that already is one of ours stays as it is)."""
        if url.startswith(self.base + PATH):
            return url
        return tracked_url(self.base, self.tokens.setdefault(url, new_token()))

    def replace_known(self, match: re.Match[str]) -> str:
        """For ``URL.sub``: a destination tracked in the payload, as its tracked URL; others unchanged."""
        url = match.group(0)
        return tracked_url(self.base, self.tokens[url]) if url in self.tokens else url


def _rewrite(payload: dict[str, Any], tracker: _Tracker) -> dict[str, Any]:
    """A copy of the payload with its URLs tracked (only the parts on the way to a text are copied:
    much cheaper than a deep copy for a million rows)."""

    def sub(text: str) -> str:
        return URL.sub(lambda m: tracker.track(m.group(0)), text) if "://" in text else text

    out = dict(payload)
    if isinstance(out.get("text"), dict) and isinstance(out["text"].get("body"), str):
        out["text"] = {**out["text"], "body": sub(out["text"]["body"])}
    template = out.get("template")
    if isinstance(template, dict) and template.get("components"):
        out["template"] = {**template, "components": _components(template["components"], tracker, sub)}
    return out


def _components(components: list[Any], tracker: _Tracker, sub: Callable[[str], str]) -> list[Any]:
    """A template's send components with their URLs tracked; a carousel's cards alike."""
    out = []
    for component in components:
        if component.get("type") == "carousel" and isinstance(component.get("cards"), list):
            cards = [
                {**card, "components": _components(card.get("components") or [], tracker, sub)}
                for card in component["cards"]
            ]
            out.append({**component, "cards": cards})
            continue
        button = component.get("type") == "button" and component.get("sub_type") == "url"
        params = []
        for param in component.get("parameters") or []:
            text = param.get("text")
            if isinstance(text, str):
                # a URL button's suffix: the token alone (the template's URL ends in /l/{{1}})
                text = tracker.track(text).rsplit("/", 1)[-1] if button and URL.fullmatch(text) else sub(text)
                param = {**param, "text": text}
            params.append(param)
        out.append({**component, "parameters": params} if "parameters" in component else component)
    return out
