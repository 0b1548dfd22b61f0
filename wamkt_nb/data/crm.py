"""Customers from a CRM's REST JSON API: auth, pagination, retries, and errors that say where.

Pagination is page-number (``?page=2``), cursor (``?cursor=abc`` from ``next_cursor``) or
``next``-link (a URL in the body or a ``Link: rel="next"`` header); ``auto`` recognises the
three from the first response. 429 and 5xx answers are retried with exponential backoff
(honouring ``Retry-After``); 401/403/404, HTML pages, invalid JSON and timeouts fail with a
message naming the request. The token never appears in a message, log or repr.

A fetch reports :class:`FetchProgress` to an ``on_progress`` callback before every request and
once when done, and stops when its ``cancel`` event is set (retry waits end at once, a request in
flight is finished first, so a cancel takes at most about ``timeout``). A stopped fetch raises
:class:`FetchCancelled` (or the :class:`CrmError` that stopped it) with the records received so
far in ``.partial``: nothing is lost, and the caller decides whether an incomplete list is loaded.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from ..redact import redact_url, redact_urls, redacted_repr
from ..settings import Secret
from .loaders import LoadResult, load_customers
from .phones import DEFAULT_REGION
from .readers import LoadError, RawTable, extract_records, records_to_table

PAGINATIONS = ("auto", "page", "cursor", "next", "none")
_NEXT_PATHS = (
    "next",
    "links.next",
    "meta.next",
    "paging.next",
    "pagination.next",
    "_links.next.href",
    "links.next.href",
)
_CURSOR_PATHS = (
    "next_cursor",
    "nextCursor",
    "meta.next_cursor",
    "pagination.next_cursor",
    "cursor.next",
    "paging.cursors.after",
    "response_metadata.next_cursor",
)
_TOTAL_PAGES_PATHS = (
    "total_pages",
    "totalPages",
    "meta.total_pages",
    "meta.last_page",
    "last_page",
    "pagination.total_pages",
    "meta.pagination.total_pages",
)
_HAS_MORE_PATHS = ("has_more", "hasMore", "meta.has_more", "pagination.has_more")


class CrmError(LoadError):
    """The CRM could not be read; the message names the request (never the token).

    ``partial`` holds what was received before the failure (None when it happened before the fetch).
    """

    partial: CrmFetch | None = None


class FetchCancelled(CrmError):
    """The fetch was cancelled; ``partial`` holds the records received until then."""


CRM_TOKEN_VARIABLE = "WAMKT_CRM_TOKEN"
"""Where the CRM token comes from when it is not typed in: the environment, never the repo."""


@dataclass(frozen=True)
class CrmConfig:
    """Where the CRM's customer list is and how to page through it."""

    __repr__ = redacted_repr  # the URL and params may carry credentials

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
        try:
            parsed = httpx.URL(str(self.url))
        except (httpx.InvalidURL, ValueError) as exc:
            raise CrmError(f"CRM URL {redact_url(self.url)!r} is not a valid URL ({redact_urls(str(exc))})") from None
        if parsed.scheme not in ("http", "https"):
            raise CrmError(f"CRM URL {redact_url(self.url)!r} must start with http:// or https://")
        if not parsed.host:
            raise CrmError(f"CRM URL {redact_url(self.url)!r} names no host")


@dataclass
class CrmFetch:
    """All records of all pages, and how they were fetched."""

    records: list[Any]
    pages: int
    pagination: str
    retries: int
    stopped: str = ""  # why the fetch ended early (then ``records`` are only the first pages)


@dataclass(frozen=True)
class FetchProgress:
    """Where a fetch is, for a progress line; ``url`` is host and path only (no query, no token)."""

    pages: int  # pages received
    records: int  # records received
    retries: int
    elapsed: float  # seconds since the fetch started
    url: str  # the request in flight (or the last one, when done)
    total_pages: int | None = None  # when the CRM says how many there are
    waiting: str = ""  # e.g. "HTTP 429, retrying in 2.0 s"
    done: bool = False

    @property
    def rate(self) -> float:
        """Records per second so far."""
        return self.records / self.elapsed if self.elapsed > 0 else 0.0


def describe_progress(progress: FetchProgress) -> str:
    """One line for a progress display: page, records, rate, elapsed time and where."""
    p = progress
    of = f" of {p.total_pages:,}" if p.total_pages else ""
    head = f"{p.pages:,}{of} pages" if p.done else f"page {p.pages + 1:,}{of}"
    left = ""
    if p.total_pages and p.pages and not p.done:
        left = f", ~{_clock(p.elapsed / p.pages * max(p.total_pages - p.pages, 0))} left"
    retried = f" · {p.retries:,} retried" if p.retries else ""
    waiting = f" · {p.waiting}" if p.waiting else ""
    return (
        f"{head} · {p.records:,} records · {p.rate:,.0f} records/s · {_clock(p.elapsed)} elapsed{left}"
        f"{retried} · {p.url}{waiting}"
    )


ProgressCallback = Callable[[FetchProgress], None]


def fetch_records(
    config: CrmConfig,
    client: httpx.Client | None = None,
    sleep: Callable[[float], object] | None = None,
    on_progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> CrmFetch:
    """GET every page, reporting progress and stopping when ``cancel`` is set.

    ``sleep`` waits between retries (default: wait on ``cancel``, so a cancel ends the wait).
    """
    own = client is None
    client = client or httpx.Client(timeout=config.timeout, follow_redirects=True)
    try:
        return _Pager(config, client, sleep, on_progress, cancel).run()
    finally:
        if own:
            client.close()


def crm_table(fetched: CrmFetch, config: CrmConfig) -> RawTable:
    """Fetched records as a raw table; an incomplete fetch says so in the source label and notes."""
    label = f"CRM {redact_url(config.url)}"
    if fetched.stopped:
        label += f" (incomplete: first {fetched.pages:,} pages)"
    if not fetched.records:
        raise CrmError(f"{label} returned no customer records")
    raw = records_to_table(fetched.records, label)
    raw.notes.append(f"{fetched.pages} page(s), pagination {fetched.pagination}, {fetched.retries} retried request(s)")
    if fetched.stopped:
        raw.notes.append(f"incomplete: {fetched.stopped}")
    return raw


def fetch_table(
    config: CrmConfig,
    client: httpx.Client | None = None,
    sleep: Callable[[float], object] | None = None,
    on_progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> RawTable:
    """All CRM records as a raw table, ready for any loader (or a new mapping) without refetching."""
    return crm_table(fetch_records(config, client, sleep, on_progress, cancel), config)


def load_crm_customers(
    config: CrmConfig,
    mapping: Mapping[str, str | None] | None = None,
    default_region: str = DEFAULT_REGION,
    client: httpx.Client | None = None,
    sleep: Callable[[float], object] | None = None,
    on_progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> LoadResult:
    """Customers from the CRM through the same mapping, validation and rejects as a file."""
    return load_customers(fetch_table(config, client, sleep, on_progress, cancel), mapping, default_region)


def url_place(url: str | httpx.URL) -> str:
    """Host and path of a URL (no credentials, no query), for progress lines."""
    parts = urlsplit(str(url))
    host = parts.hostname or ""
    return f"{host}:{parts.port}{parts.path}" if parts.port else f"{host}{parts.path}"


class _Pager:
    def __init__(
        self,
        config: CrmConfig,
        client: httpx.Client,
        sleep: Callable[[float], object] | None,
        on_progress: ProgressCallback | None,
        cancel: threading.Event | None,
    ) -> None:
        self.config, self.client, self.on_progress = config, client, on_progress
        self.cancel = cancel or threading.Event()
        self.sleep = sleep if sleep is not None else self.cancel.wait
        self.retried, self.pages = 0, 0
        self.total_pages: int | None = None
        self.records: list[Any] = []
        self.mode = config.pagination
        self.started = time.monotonic()
        self.place = url_place(config.url)

    def run(self) -> CrmFetch:
        try:
            fetched = self._pages()
        except CrmError as exc:
            exc.partial = CrmFetch(self.records, self.pages, self.mode, self.retried, stopped=str(exc))
            raise
        finally:
            self._report(done=True)
        return fetched

    def _pages(self) -> CrmFetch:
        cfg = self.config
        mode = cfg.pagination
        params = dict(cfg.params)
        if mode == "page":
            params.update({cfg.page_param: str(cfg.first_page), cfg.page_size_param: str(cfg.page_size)})
        url, records, seen, page = cfg.url, self.records, set(), 1
        while True:
            doc, response = self._get(url, params, page)
            batch = self._records(doc, url, page)
            records.extend(batch)
            self.pages = page
            if mode == "auto":
                mode = self.mode = _detect(doc, response)
                if mode == "page" and cfg.page_param not in params:
                    params[cfg.page_param] = str(cfg.first_page)
            if mode == "page":
                self.total_pages = _int_or_none(_first(doc, _TOTAL_PAGES_PATHS))
            step = self._next(mode, doc, response, params, batch, page)
            if step is None:
                return CrmFetch(records, page, mode, self.retried)
            url, params = step
            key = (url, tuple(sorted(params.items())))
            if key in seen:
                raise CrmError(f"CRM pagination loops: page {page + 1} would repeat {redact_url(url)}")
            seen.add(key)
            page += 1
            if page > cfg.max_pages:
                raise CrmError(f"CRM has more than {cfg.max_pages} pages at {redact_url(cfg.url)}; raise max_pages")

    def _next(
        self, mode: str, doc: Any, response: httpx.Response, params: dict, batch: list, page: int
    ) -> tuple[str, dict] | None:
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
            return extract_records(doc, f"CRM {redact_url(url)} (page {page})", self.config.records_path)
        except LoadError as exc:
            raise CrmError(str(exc)) from None

    def _report(self, waiting: str = "", done: bool = False) -> None:
        if self.on_progress:
            self.on_progress(
                FetchProgress(
                    self.pages,
                    len(self.records),
                    self.retried,
                    time.monotonic() - self.started,
                    self.place,
                    self.total_pages,
                    waiting,
                    done,
                )
            )

    def _check_cancel(self, page: int) -> None:
        if self.cancel.is_set():
            raise FetchCancelled(
                f"CRM fetch cancelled before page {page:,}: {self.pages:,} pages, "
                f"{len(self.records):,} records received"
            )

    def _get(self, url: str, params: dict, page: int) -> tuple[Any, httpx.Response]:
        cfg = self.config
        where = f"GET {redact_url(str(httpx.URL(url).copy_merge_params(params)))} (page {page})"
        self.place = url_place(url)
        attempt = 0
        while True:
            attempt += 1
            self._report()
            self._check_cancel(page)
            try:
                response = self.client.get(url, params=params or None, headers=self._headers(), timeout=cfg.timeout)
            except httpx.TransportError as exc:
                if attempt > cfg.retries:
                    if isinstance(exc, httpx.TimeoutException):
                        raise CrmError(
                            f"CRM did not answer within {cfg.timeout:g} s ({type(exc).__name__}) to {where}, "
                            f"{attempt} attempts; is it overloaded? Raise the timeout"
                        ) from None
                    raise CrmError(f"CRM unreachable: {where}: {type(exc).__name__} after {attempt} attempts") from None
                self._wait(attempt, None, type(exc).__name__)
                continue
            status = response.status_code
            if status == 429 or status >= 500:
                if attempt > cfg.retries:
                    raise CrmError(f"CRM answered HTTP {status} to {where} {attempt} times; giving up")
                self._wait(attempt, response.headers.get("Retry-After"), f"HTTP {status}")
                continue
            if status in (401, 403):
                raise CrmError(
                    f"CRM refused the credentials (HTTP {status}) for {where}: check the token and auth type"
                )
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

    def _wait(self, attempt: int, retry_after: str | None, reason: str) -> None:
        self.retried += 1
        wait = self.config.backoff * 2 ** (attempt - 1)
        hinted = _retry_after_seconds(retry_after)
        if hinted is not None:
            wait = max(wait, hinted)
        wait = min(wait, self.config.max_wait)
        self._report(waiting=f"{reason}, retrying in {wait:.1f} s")
        self.sleep(wait)


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
        raise CrmError(
            f"CRM answered an HTML page instead of JSON to {where}: is the URL the API endpoint "
            f"(not a login or web page)? Starts with {_excerpt(body)}"
        )
    try:
        return json.loads(body)
    except json.JSONDecodeError as exc:
        raise CrmError(
            f"CRM answered invalid JSON to {where}: {exc.msg} at line {exc.lineno} "
            f"column {exc.colno}; starts with {_excerpt(body)}"
        ) from None


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _clock(seconds: float) -> str:
    """Elapsed time as m:ss (h:mm:ss past an hour)."""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


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
