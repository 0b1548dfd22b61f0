"""Customers from a CRM's REST JSON API: auth, pagination, retries, and errors that say where.

Pagination is page-number (``?page=2``), cursor (``?cursor=abc`` from ``next_cursor``) or
``next``-link (a URL in the body or a ``Link: rel="next"`` header); ``auto`` recognises the
three from the first response. 429 and 5xx answers are retried with exponential backoff
(honouring ``Retry-After``); 401/403/404, HTML pages and invalid JSON fail with a message
naming the request. The token never appears in a message, log or repr.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from ..settings import Secret
from .loaders import LoadResult, load_customers
from .phones import DEFAULT_REGION
from .readers import LoadError, RawTable, extract_records, records_to_table

PAGINATIONS = ("auto", "page", "cursor", "next", "none")
_NEXT_PATHS = ("next", "links.next", "meta.next", "paging.next", "pagination.next", "_links.next.href", "links.next.href")
_CURSOR_PATHS = ("next_cursor", "nextCursor", "meta.next_cursor", "pagination.next_cursor", "cursor.next",
                 "paging.cursors.after", "response_metadata.next_cursor")
_TOTAL_PAGES_PATHS = ("total_pages", "totalPages", "meta.total_pages", "meta.last_page", "last_page",
                      "pagination.total_pages", "meta.pagination.total_pages")
_HAS_MORE_PATHS = ("has_more", "hasMore", "meta.has_more", "pagination.has_more")
_SECRET_PARAMS = {"token", "access_token", "api_key", "apikey", "key"}


class CrmError(LoadError):
    """The CRM could not be read; the message names the request (never the token)."""


@dataclass(frozen=True)
class CrmConfig:
    """Where the CRM's customer list is and how to page through it."""

    url: str
    token: Secret | None = None
    auth: str = "bearer"  # bearer | api_key | none
    api_key_header: str = "X-API-Key"
    records_path: str | None = None  # e.g. "data", "results", "customers"; None: recognise
    pagination: str = "auto"
    page_param: str = "page"
    page_size_param: str = "per_page"
    page_size: int = 100
    first_page: int = 1
    cursor_param: str = "cursor"
    max_pages: int = 1_000
    timeout: float = 10.0
    retries: int = 4  # extra attempts after the first, on 429 / 5xx / network errors
    backoff: float = 0.5  # seconds before the first retry, doubled each time
    max_wait: float = 30.0  # longest wait for one retry, Retry-After included
    params: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.token, str):
            object.__setattr__(self, "token", Secret(self.token))
        if self.pagination not in PAGINATIONS:
            raise ValueError(f"pagination must be one of {', '.join(PAGINATIONS)}")
        if self.auth not in ("bearer", "api_key", "none"):
            raise ValueError("auth must be bearer, api_key or none")
        if not urlsplit(self.url).scheme.startswith("http"):
            raise CrmError(f"CRM URL {self.url!r} must start with http:// or https://")


@dataclass
class CrmFetch:
    """All records of all pages, and how they were fetched."""

    records: list[Any]
    pages: int
    pagination: str
    retries: int


def fetch_records(
    config: CrmConfig,
    client: httpx.Client | None = None,
    sleep: Callable[[float], None] = time.sleep,
    on_page: Callable[[int, int], None] | None = None,
) -> CrmFetch:
    """GET every page; ``on_page(page, records_so_far)`` reports progress."""
    own = client is None
    client = client or httpx.Client(timeout=config.timeout, follow_redirects=True)
    try:
        return _Pager(config, client, sleep, on_page).run()
    finally:
        if own:
            client.close()


def fetch_table(
    config: CrmConfig, client: httpx.Client | None = None, sleep: Callable[[float], None] = time.sleep
) -> RawTable:
    """All CRM records as a raw table, ready for any loader (or a new mapping) without refetching."""
    fetched = fetch_records(config, client, sleep)
    label = f"CRM {display_url(config.url)}"
    if not fetched.records:
        raise CrmError(f"{label} returned no customer records")
    raw = records_to_table(fetched.records, label)
    raw.notes.append(f"{fetched.pages} page(s), pagination {fetched.pagination}, {fetched.retries} retried request(s)")
    return raw


def load_crm_customers(
    config: CrmConfig,
    mapping: Mapping[str, str | None] | None = None,
    default_region: str = DEFAULT_REGION,
    client: httpx.Client | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> LoadResult:
    """Customers from the CRM through the same mapping, validation and rejects as a file."""
    return load_customers(fetch_table(config, client, sleep), mapping, default_region)


def display_url(url: str) -> str:
    """The URL with secret-looking query parameters masked, for messages."""
    parts = urlsplit(str(url))
    query = [(k, "***" if k.lower() in _SECRET_PARAMS else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    return urlunsplit(parts._replace(query=urlencode(query, safe="*")))


class _Pager:
    def __init__(self, config: CrmConfig, client: httpx.Client, sleep: Callable[[float], None],
                 on_page: Callable[[int, int], None] | None) -> None:
        self.config, self.client, self.sleep, self.on_page = config, client, sleep, on_page
        self.retried = 0

    def run(self) -> CrmFetch:
        cfg = self.config
        mode = cfg.pagination
        params = dict(cfg.params)
        if mode == "page":
            params.update({cfg.page_param: str(cfg.first_page), cfg.page_size_param: str(cfg.page_size)})
        url, records, seen, page = cfg.url, [], set(), 1
        while True:
            doc, response = self._get(url, params, page)
            batch = self._records(doc, url, page)
            records.extend(batch)
            if self.on_page:
                self.on_page(page, len(records))
            if mode == "auto":
                mode = _detect(doc, response)
                if mode == "page" and cfg.page_param not in params:
                    params[cfg.page_param] = str(cfg.first_page)
            step = self._next(mode, doc, response, params, batch, page)
            if step is None:
                return CrmFetch(records, page, mode, self.retried)
            url, params = step
            key = (url, tuple(sorted(params.items())))
            if key in seen:
                raise CrmError(f"CRM pagination loops: page {page + 1} would repeat {display_url(url)}")
            seen.add(key)
            page += 1
            if page > cfg.max_pages:
                raise CrmError(f"CRM has more than {cfg.max_pages} pages at {display_url(cfg.url)}; raise max_pages")

    def _next(self, mode: str, doc: Any, response: httpx.Response, params: dict, batch: list,
              page: int) -> tuple[str, dict] | None:
        cfg = self.config
        if mode == "next":
            link = _first(doc, _NEXT_PATHS) or response.links.get("next", {}).get("url")
            return (str(response.url.join(link)), {}) if link else None
        if mode == "cursor":
            cursor = _first(doc, _CURSOR_PATHS)
            return (cfg.url, {**params, cfg.cursor_param: str(cursor)}) if cursor else None
        if mode == "page":
            total = _first(doc, _TOTAL_PAGES_PATHS)
            more = _first(doc, _HAS_MORE_PATHS, allow_false=True)
            current = int(params.get(cfg.page_param, cfg.first_page))
            if not batch or more is False or (total is not None and current - cfg.first_page + 1 >= int(total)):
                return None
            if total is None and more is None and cfg.page_size_param in params and len(batch) < cfg.page_size:
                return None  # a short page is the last one
            return cfg.url, {**params, cfg.page_param: str(current + 1)}
        return None

    def _records(self, doc: Any, url: str, page: int) -> list:
        try:
            return extract_records(doc, f"CRM {display_url(url)} (page {page})", self.config.records_path)
        except LoadError as exc:
            raise CrmError(str(exc)) from None

    def _get(self, url: str, params: dict, page: int) -> tuple[Any, httpx.Response]:
        cfg = self.config
        where = f"GET {display_url(str(httpx.URL(url).copy_merge_params(params)))} (page {page})"
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self.client.get(url, params=params or None, headers=self._headers(), timeout=cfg.timeout)
            except httpx.TransportError as exc:
                if attempt > cfg.retries:
                    raise CrmError(f"CRM unreachable: {where}: {type(exc).__name__} after {attempt} attempts") from None
                self._wait(attempt, None)
                continue
            status = response.status_code
            if status == 429 or status >= 500:
                if attempt > cfg.retries:
                    raise CrmError(f"CRM answered HTTP {status} to {where} {attempt} times; giving up")
                self._wait(attempt, response.headers.get("Retry-After"))
                continue
            if status in (401, 403):
                raise CrmError(f"CRM refused the credentials (HTTP {status}) for {where}: check the token and auth type")
            if status == 404:
                raise CrmError(f"CRM has nothing at {where} (HTTP 404): check the URL")
            if status >= 400:
                raise CrmError(f"CRM answered HTTP {status} to {where}: {_excerpt(response.text)}")
            return _json(response, where), response

    def _headers(self) -> dict[str, str]:
        cfg = self.config
        headers = {"Accept": "application/json"}
        if cfg.token and cfg.auth == "bearer":
            headers["Authorization"] = f"Bearer {cfg.token.reveal()}"
        elif cfg.token and cfg.auth == "api_key":
            headers[cfg.api_key_header] = cfg.token.reveal()
        return headers

    def _wait(self, attempt: int, retry_after: str | None) -> None:
        self.retried += 1
        wait = self.config.backoff * 2 ** (attempt - 1)
        hinted = _retry_after_seconds(retry_after)
        if hinted is not None:
            wait = max(wait, hinted)
        self.sleep(min(wait, self.config.max_wait))


def _detect(doc: Any, response: httpx.Response) -> str:
    if _first(doc, _NEXT_PATHS) or "next" in response.links:
        return "next"
    if _first(doc, _CURSOR_PATHS):
        return "cursor"
    if _first(doc, _TOTAL_PAGES_PATHS) is not None or _first(doc, _HAS_MORE_PATHS, allow_false=True) is not None:
        return "page"
    return "none"


def _first(doc: Any, paths: tuple[str, ...], allow_false: bool = False) -> Any:
    """The first present (non-empty) value among dotted ``paths`` in ``doc``."""
    for path in paths:
        node = doc
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is False and allow_false:
            return False
        if node not in (None, "", False) and not isinstance(node, (dict, list)):
            return node
    return None


def _json(response: httpx.Response, where: str) -> Any:
    content_type = response.headers.get("content-type", "")
    body = response.text
    if "html" in content_type or body.lstrip()[:1] == "<":
        raise CrmError(f"CRM answered an HTML page instead of JSON to {where}: is the URL the API endpoint "
                       f"(not a login or web page)? Starts with {_excerpt(body)}")
    try:
        return json.loads(body)
    except json.JSONDecodeError as exc:
        raise CrmError(f"CRM answered invalid JSON to {where}: {exc.msg} at line {exc.lineno} "
                       f"column {exc.colno}; starts with {_excerpt(body)}") from None


def _retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _excerpt(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return repr(flat[:limit] + ("..." if len(flat) > limit else ""))
