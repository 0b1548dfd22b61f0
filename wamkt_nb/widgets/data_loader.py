"""Load customers, orders and interactions from a file, a CRM or the sample, and check the result.

A thin shell over ``wamkt_nb.data`` loaders: the detected column mapping can be changed with
dropdowns, the preview masks phone numbers, rejects show their reasons, and errors appear as a
message (never a traceback). ``.data`` holds the loaded :class:`CustomerData` for the next steps.

A CRM fetch runs in a worker thread, so the kernel (and a Voila dashboard) stays responsive: the
thread only sets traits (progress line, bar); the finished table is applied on the kernel's asyncio
loop when one runs, so ``on_loaded`` callbacks run on the main thread. Cancel, or an error, loads
nothing and says how many records were received; "Load the N records fetched" loads them anyway,
marked incomplete in the notes and the source label.
"""

from __future__ import annotations

import asyncio
import html
import os
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import ipywidgets as W
import pandas as pd

from ..data.columns import SYNONYMS
from ..data.crm import (
    CRM_TOKEN_VARIABLE,
    PAGINATIONS,
    CrmConfig,
    CrmError,
    CrmFetch,
    FetchCancelled,
    FetchProgress,
    crm_table,
    describe_progress,
    fetch_records,
    url_place,
)
from ..data.loaders import LoadResult, empty_interactions, empty_orders, load_customers, load_interactions, load_orders
from ..data.privacy import mask_frame, mask_phones
from ..data.readers import LoadError, RawTable, read_source
from ..data.sample import generate
from ..data.schema import CustomerData
from ..data.sql_source import read_sql_table, split_password, with_password
from ..data.summary import data_summary
from ..redact import redact_url
from ..workspace import save_customer_data
from .feedback import StatusLine
from .theme import themed

KINDS = ("customers", "orders", "interactions")
NONE = "(not in the source)"
PREVIEW_ROWS = 15
REJECT_ROWS = 50
PROGRESS_EVERY = 0.1  # seconds between progress line updates (each one is a message to the browser)


class DataLoaderWidget(W.VBox):
    """Sample / file / CRM loader with mapping, preview, rejects and summary; ``.data`` is the result."""

    def __init__(
        self, data: CustomerData | None = None, default_region: str = "DE", crm_options: Mapping[str, Any] | None = None
    ) -> None:
        """``crm_options``: further :class:`CrmConfig` settings (page_size, timeout, retries, params...)."""
        self.data: CustomerData | None = data
        self.result: LoadResult | None = None
        self.default_region = default_region
        self.crm_options = dict(crm_options or {})
        self.fetching = False  # a CRM fetch (or the load of its records) is running
        self.progress: FetchProgress | None = None  # the latest progress of the CRM fetch
        self.crm_job: threading.Thread | None = None
        self._raw: RawTable | None = None
        self._callbacks: list[Callable[[CustomerData], None]] = []
        self._cancel = threading.Event()
        self._crm_config: CrmConfig | None = None
        self._partial: CrmFetch | None = None
        self._shown_at = 0.0

        self.sample_size = W.BoundedIntText(value=2_000, min=1, max=1_000_000, description="Customers")
        self.sample_button = W.Button(description="Use sample data", icon="magic").add_class("wamkt-data-sample")
        self.kind = W.Dropdown(options=KINDS, value="customers", description="Load as").add_class("wamkt-data-kind")
        self.upload = W.FileUpload(
            accept=".csv,.txt,.tsv,.xlsx,.xlsm,.parquet,.json,.ndjson,.jsonl", multiple=False, description="Upload file"
        ).add_class("wamkt-data-upload")
        self.path = W.Text(placeholder="/path/to/customers.csv", description="or path").add_class("wamkt-data-path")
        self.path_button = W.Button(description="Load file", icon="folder-open").add_class("wamkt-data-load")
        self.crm_url = W.Text(
            placeholder="https://crm.example.com/api/customers", description="CRM URL", layout=W.Layout(width="460px")
        ).add_class("wamkt-data-crm-url")
        self.crm_token = W.Password(description="Token", placeholder=f"or set {CRM_TOKEN_VARIABLE}").add_class(
            "wamkt-data-crm-token"
        )
        self.crm_auth = W.Dropdown(
            options=[("Bearer token", "bearer"), ("API-key header", "api_key"), ("none", "none")],
            value="bearer",
            description="Auth",
        )
        self.crm_pagination = W.Dropdown(options=PAGINATIONS, value="auto", description="Paging")
        self.crm_records = W.Text(placeholder="auto (data, results, customers...)", description="Records at")
        self.crm_button = W.Button(description="Fetch from CRM", icon="cloud-download").add_class(
            "wamkt-data-crm-fetch"
        )
        self.crm_cancel = W.Button(description="Cancel", icon="stop", button_style="warning", disabled=True).add_class(
            "wamkt-data-crm-cancel"
        )
        self.crm_partial = W.Button(
            description="Load the fetched records", icon="download", layout=W.Layout(display="none", width="auto")
        ).add_class("wamkt-data-crm-partial")
        self.crm_bar = W.IntProgress(
            value=0, min=0, max=1, description="Pages", layout=W.Layout(display="none")
        ).add_class("wamkt-data-crm-bar")
        self.crm_progress = W.Label().add_class("wamkt-data-crm-progress")
        self.sql_url = W.Text(
            placeholder="postgresql://user@host:5432/db, sqlite:///file.db, duckdb://",
            description="Database",
            layout=W.Layout(width="460px"),
        ).add_class("wamkt-data-sql-url")
        self.sql_password = W.Password(description="Password", placeholder="or PGPASSWORD / ~/.pgpass").add_class(
            "wamkt-data-sql-password"
        )
        self.sql_query = W.Textarea(
            placeholder="SELECT id, phone, name, opted_in FROM customers",
            description="Query",
            layout=W.Layout(width="460px"),
        ).add_class("wamkt-data-sql-query")
        self.sql_button = W.Button(description="Run query", icon="database").add_class("wamkt-data-sql-load")
        self.mapping_box = W.VBox().add_class("wamkt-data-mapping")
        self.apply_button = W.Button(description="Apply mapping", icon="check", disabled=True).add_class(
            "wamkt-data-apply"
        )
        self.save_button = W.Button(
            description="Save to workspace", icon="save", layout=W.Layout(width="auto")
        ).add_class("wamkt-data-save")
        self.save_note = StatusLine().add_class("wamkt-data-save-note")
        self.status = W.HTML().add_class("wamkt-data-status").add_class("wamkt-status")
        self.summary = W.HTML().add_class("wamkt-data-summary")
        self.preview = W.HTML().add_class("wamkt-data-preview")
        self.rejects = W.HTML().add_class("wamkt-data-rejects")
        self._dropdowns: dict[str, W.Dropdown] = {}

        self.sample_button.on_click(lambda _: self.use_sample())
        self.upload.observe(self._on_upload, names="value")
        self.path_button.on_click(lambda _: self.load_path())
        self.crm_button.on_click(lambda _: self.load_crm())
        self.crm_cancel.on_click(lambda _: self.cancel_crm())
        self.crm_partial.on_click(lambda _: self.load_partial())
        self.sql_button.on_click(lambda _: self.load_sql())
        self.apply_button.on_click(lambda _: self.apply_mapping())
        self.save_button.on_click(lambda _: self.save())

        sources = W.Tab(
            children=[
                W.HBox([self.sample_size, self.sample_button]),
                W.VBox([self.kind, W.HBox([self.upload]), W.HBox([self.path, self.path_button])]),
                W.VBox(
                    [
                        self.crm_url,
                        W.HBox([self.crm_token, self.crm_auth]),
                        W.HBox([self.crm_pagination, self.crm_records]),
                        W.HBox([self.crm_button, self.crm_cancel, self.crm_partial]),
                        W.HBox([self.crm_bar, self.crm_progress]),
                    ]
                ),
                W.VBox([self.sql_url, self.sql_password, self.sql_query, self.sql_button]),
            ]
        ).add_class("wamkt-data-sources")
        for i, title in enumerate(("Sample", "File", "CRM", "SQL")):
            sources.set_title(i, title)
        details = W.Accordion(children=[W.VBox([self.mapping_box, self.apply_button]), self.rejects])
        details.set_title(0, "Column mapping")
        details.set_title(1, "Rejected rows")
        self.save_button_row = W.HBox(
            [self.save_button, self.save_note], layout=W.Layout(flex_flow="row wrap", align_items="center")
        )
        super().__init__([sources, self.status, self.summary, self.preview, details, self.save_button_row])
        self.add_class("wamkt-data-loader")
        themed(self)
        self._show()

    # -- actions -------------------------------------------------------------------------------

    def on_loaded(self, callback: Callable[[CustomerData], None]) -> None:
        """Call ``callback(data)`` whenever new data is loaded."""
        self._callbacks.append(callback)

    def use_sample(self) -> None:
        """Seeded sample customers with orders and interactions."""
        self._guard(lambda: self._set_data(generate(self.sample_size.value), None, "sample data"))

    def load_path(self) -> None:
        path = self.path.value.strip()
        if not path:
            self._error("Enter a file path first.")
            return
        self._guard(lambda: self._load_raw(read_source(Path(path))))

    def load_bytes(self, content: bytes, name: str) -> None:
        """Load an uploaded file's content (``name`` gives the file type)."""
        self._guard(lambda: self._load_raw(read_source(content, name)))

    def load_sql(self) -> None:
        """Run the query on the database (read-only) and load its rows as the chosen kind.

        A password typed into the URL moves to the password field; both leave the widget state (which
        a saved notebook keeps) once used."""
        url, typed = split_password(self.sql_url.value.strip())
        password = self.sql_password.value or typed
        self.sql_url.value, self.sql_password.value = url, ""
        if not url or not self.sql_query.value.strip():
            self._error("Enter a database URL and a query first.")
            return
        self._guard(lambda: self._load_raw(read_sql_table(with_password(url, password or ""), self.sql_query.value)))

    def load_crm(self) -> None:
        """Start fetching every page of the CRM's customer list in the background; load it when complete."""
        if self.fetching:
            return
        try:
            token = self.crm_token.value or os.environ.get(CRM_TOKEN_VARIABLE) or None
            config = CrmConfig(
                **{
                    **self.crm_options,
                    "url": self.crm_url.value.strip(),
                    "token": token,
                    "auth": self.crm_auth.value,
                    "pagination": self.crm_pagination.value,
                    "records_path": self.crm_records.value.strip() or None,
                }
            )
        except (ValueError, TypeError) as exc:  # a bad URL, pagination or crm_options
            self._error(_message(exc))
            return
        self.crm_token.value = ""  # a typed token must not stay in the widget state a saved notebook keeps
        self._crm_config, self._partial, self.progress = config, None, None
        self._cancel = cancel = threading.Event()
        self.crm_progress.value = f"Connecting to {url_place(config.url)}..."
        self.crm_bar.layout.display = "none"
        self._info(
            f"Fetching customers from {html.escape(url_place(config.url))} in the background; "
            "the notebook stays usable."
        )
        self._in_background(
            lambda: crm_table(fetch_records(config, on_progress=self._on_progress, cancel=cancel), config)
        )

    def cancel_crm(self) -> None:
        """Stop the CRM fetch after the request in flight; what was received is kept, not loaded."""
        if self.fetching and not self._cancel.is_set():
            self._cancel.set()
            self.crm_cancel.disabled = True
            self.crm_progress.value = "Cancelling after the request in flight..."

    def load_partial(self) -> None:
        """Load the records a cancelled or failed fetch received (marked incomplete)."""
        partial, config = self._partial, self._crm_config
        if partial is None or config is None or self.fetching:
            return
        self._show_partial(None)
        self._info(f"Loading the {len(partial.records):,} records fetched...")
        self._in_background(lambda: crm_table(partial, config))

    def apply_mapping(self) -> None:
        """Reload the last source with the mapping chosen in the dropdowns."""
        if self._raw is None:
            self._error("Load a file or the CRM first.")
            return
        mapping = {f: (d.value if d.value != NONE else None) for f, d in self._dropdowns.items()}
        self._guard(lambda: self._load_raw(self._raw, mapping))

    def save(self) -> None:
        """Save the loaded data to the workspace, where the other notebooks and dashboards find it."""
        if self.data is None:
            self._error("Nothing loaded yet.")
            self.save_note.show("Nothing to save yet: load data first.", "warn")
            return

        def save() -> None:
            path = redact_url(save_customer_data(self.data))  # a team store's URL without its password
            self._ok(f"Saved to {html.escape(str(path))}.")
            self.save_note.show(f"Saved to {path}.", "ok")  # beside the button, where the analyst looks

        self._guard(save)
        if "wamkt-data-error" in self.status.value:
            self.save_note.show("Not saved: see the message above.", "error")

    # -- internals -----------------------------------------------------------------------------

    def _on_upload(self, change: dict) -> None:
        files = change["new"]
        if files:
            item = files[0]
            self.load_bytes(bytes(item["content"]), item["name"])

    def _in_background(self, table: Callable[[], RawTable]) -> None:
        """Build the raw table and load it as customers in a worker thread; show the outcome when done."""
        self.fetching = True
        self._show_busy(True)
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None

        def work() -> None:
            try:
                raw = table()
                self._info(f"Received {raw.rows_in:,} records; checking phone numbers and loading them...")
                outcome: tuple | Exception = (raw, *self._loaded(raw, "customers", None))
            except Exception as exc:  # shown as a message by _finish
                outcome = exc
            if loop is None:
                self._finish(outcome)
                return
            try:
                loop.call_soon_threadsafe(self._finish, outcome)
            except RuntimeError:  # the loop closed meanwhile (kernel shutting down)
                self._finish(outcome)

        self.crm_job = threading.Thread(target=work, name="wamkt-crm-fetch", daemon=True)
        self.crm_job.start()

    def _finish(self, outcome: tuple | Exception) -> None:
        if self.progress is not None:
            self._show_progress(self.progress)
        if isinstance(outcome, Exception):
            self._stopped(outcome)
        else:
            self._guard(lambda: self._apply(*outcome))
        self._show_busy(False)
        self.fetching = False

    def _apply(self, raw: RawTable, data: CustomerData, result: LoadResult) -> None:
        self._raw = raw
        self.kind.value = "customers"
        self._set_data(data, result, raw.source)

    def _stopped(self, exc: Exception) -> None:
        partial = exc.partial if isinstance(exc, CrmError) else None
        self._show_partial(partial if partial is not None and partial.records else None)
        kept = ""
        if self._partial is not None:
            kept = (
                f" Nothing was loaded; {len(partial.records):,} records from {partial.pages:,} pages were "
                f"received: '{self.crm_partial.description}' loads them anyway (marked incomplete)."
            )
        if isinstance(exc, FetchCancelled):
            self._warn(f"{exc}.{kept or ' Nothing was loaded.'}")
        else:
            self._error(_message(exc) + kept)

    def _on_progress(self, progress: FetchProgress) -> None:
        """Called by the fetch in its thread: keeps the latest, shows it at most every PROGRESS_EVERY s."""
        self.progress = progress
        now = time.monotonic()
        if progress.done or progress.waiting or now - self._shown_at >= PROGRESS_EVERY:
            self._shown_at = now
            self._show_progress(progress)

    def _show_progress(self, progress: FetchProgress) -> None:
        if progress.total_pages:
            self.crm_bar.max = max(progress.total_pages, 1)
            self.crm_bar.value = min(progress.pages, self.crm_bar.max)
            self.crm_bar.layout.display = None
        self.crm_progress.value = describe_progress(progress)

    def _show_busy(self, busy: bool) -> None:
        self.crm_button.disabled = busy
        self.crm_cancel.disabled = not busy
        if busy:
            self._show_partial(None)

    def _show_partial(self, partial: CrmFetch | None) -> None:
        self._partial = partial
        if partial is not None:
            self.crm_partial.description = f"Load the {len(partial.records):,} records fetched"
        self.crm_partial.layout.display = None if partial is not None else "none"

    def _load_raw(self, raw: RawTable, mapping: dict[str, str | None] | None = None) -> None:
        self._raw = raw
        data, result = self._loaded(raw, self.kind.value, mapping)
        self._set_data(data, result, raw.source)

    def _loaded(
        self, raw: RawTable, kind: str, mapping: dict[str, str | None] | None
    ) -> tuple[CustomerData, LoadResult]:
        """``raw`` loaded as ``kind`` beside the data there; touches no widget, so it may run in a thread."""
        if kind == "customers":
            result = load_customers(raw, mapping, self.default_region)
            data = CustomerData(result.rows, empty_orders(), empty_interactions())
            if self.data is not None:  # keep history of customers that are still there
                ids = result.rows["customer_id"]
                data.orders = self.data.orders[self.data.orders["customer_id"].isin(ids)]
                data.interactions = self.data.interactions[self.data.interactions["customer_id"].isin(ids)]
        else:
            if self.data is None:
                raise LoadError(f"Load customers before {kind}: {kind} are joined to them.")
            loader = load_orders if kind == "orders" else load_interactions
            result = loader(raw, self.data.customers, mapping, self.default_region)
            data = CustomerData(self.data.customers, self.data.orders, self.data.interactions)
            setattr(data, kind, result.rows)
        return data, result

    def _set_data(self, data: CustomerData, result: LoadResult | None, label: str) -> None:
        self.data, self.result = data, result
        if result is None:
            self._raw = None
        self._show()
        loaded = f"{result.loaded:,} {result.kind}" if result else f"{len(data.customers):,} customers"
        self._ok(f"Loaded {loaded} from {html.escape(label)}.")
        for callback in self._callbacks:
            callback(data)

    def _guard(self, action: Callable[[], None]) -> None:
        try:
            action()
        except Exception as exc:  # a widget never shows a traceback; the message says what failed
            self._error(_message(exc))

    def _ok(self, message: str) -> None:
        self.status.value = f"<div class='wamkt-status-ok wamkt-data-ok'>{message}</div>"

    def _info(self, message: str) -> None:
        self.status.value = f"<div class='wamkt-status-info wamkt-data-info'>{message}</div>"

    def _warn(self, message: str) -> None:
        self.status.value = f"<div class='wamkt-status-warn wamkt-data-warning'>{html.escape(message)}</div>"

    def _error(self, message: str) -> None:
        self.status.value = (
            f"<div class='wamkt-status-error wamkt-data-error'><b>Could not load:</b> {html.escape(message)}</div>"
        )

    def _show(self) -> None:
        with self.hold_sync():
            self.summary.value = summary_html(self.data, self.result)
            self.preview.value = preview_html(self.data, self.result)
            self.rejects.value = rejects_html(self.result)
            self._show_mapping()

    def _show_mapping(self) -> None:
        result = self.result
        if result is None:
            self.mapping_box.children = (W.HTML("<i>The mapping appears after loading a file or the CRM.</i>"),)
            self._dropdowns = {}
            self.apply_button.disabled = True
            return
        options = [NONE, *result.columns]
        self._dropdowns = {
            f: W.Dropdown(
                options=options, value=result.mapping.get(f, NONE), description=f, style={"description_width": "110px"}
            ).add_class(f"wamkt-data-map-{f}")
            for f in SYNONYMS[result.kind]
        }
        self.mapping_box.children = tuple(self._dropdowns.values())
        self.apply_button.disabled = False


def _message(exc: Exception) -> str:
    """An exception as a message for the analyst: the text of expected errors, the type of others."""
    return str(exc) if isinstance(exc, (LoadError, ValueError, OSError)) else f"{type(exc).__name__}: {exc}"


def summary_html(data: CustomerData | None, result: LoadResult | None) -> str:
    """Headline figures of the data and of the last load (rows in / loaded / rejected / merged)."""
    if data is None:
        return "<div class='wamkt-summary-empty'>No data loaded yet.</div>"
    s = data_summary(data)
    countries = ", ".join(f"{html.escape(k)} {v:,}" for k, v in s["countries"].items())
    cells = [
        ("customers", f"{s['customers']:,}"),
        ("opted in", f"{s['opted_in']:,} ({s['opted_in_share']:.0%})"),
        ("orders", f"{s['orders']:,}"),
        ("revenue", f"{s['revenue']:,.0f} {html.escape(s['currency'])}"),
        ("interactions", f"{s['interactions']:,}"),
        ("countries", countries),
    ]
    if result is not None:
        cells = [
            (f"{result.kind}: rows in", f"{result.rows_in:,}"),
            ("loaded", f"{result.loaded:,}"),
            ("rejected", f"{result.rejected:,}"),
            ("merged", f"{result.merged:,}"),
        ] + cells
    figures = "".join(
        f"<div class='wamkt-figure' data-name='{html.escape(name)}' style='display:inline-block;margin:0 18px 6px 0'>"
        f"<div style='font-size:11px;color:var(--jp-ui-font-color1)'>{html.escape(name)}</div>"
        f"<div class='wamkt-figure-value' style='font-size:18px;font-weight:600'>{value}</div></div>"
        for name, value in cells
    )
    notes = ""
    if result is not None and result.notes:
        notes = (
            "<div style='font-size:12px;color:var(--jp-ui-font-color1)'>"
            + "; ".join(html.escape(n) for n in result.notes)
            + "</div>"
        )
    return f"<div class='wamkt-summary'>{figures}{notes}</div>"


def preview_html(data: CustomerData | None, result: LoadResult | None, rows: int = PREVIEW_ROWS) -> str:
    """The first loaded rows as a table, phone numbers masked."""
    if data is None:
        return ""
    frame = result.rows if result is not None else data.customers
    head = frame.head(rows).copy()
    head = mask_frame(head)
    for column in head.columns:
        if isinstance(head[column].dtype, pd.DatetimeTZDtype):
            head[column] = head[column].dt.strftime("%Y-%m-%d %H:%M")
    head = head.astype(object).where(head.notna(), "")
    title = f"First {len(head)} of {len(frame):,} {result.kind if result else 'customers'}"
    return f"<div><b>{title}</b> (phones and e-mails masked){_table(head)}</div>"


def rejects_html(result: LoadResult | None, rows: int = REJECT_ROWS) -> str:
    """Rejected rows with their reasons; values from the phone column are masked."""
    if result is None:
        return "<i>Nothing loaded from a file or the CRM yet.</i>"
    if result.rejects.empty:
        return "<i>No rejected rows.</i>"
    shown = result.rejects.head(rows).copy()
    phone_column = result.mapping.get("phone")
    is_phone = shown["column"] == phone_column
    shown.loc[is_phone, "value"] = mask_phones(shown.loc[is_phone, "value"])
    shown = mask_frame(shown)  # a number in another column (an id, a name) too
    more = f" (first {rows} shown)" if len(result.rejects) > rows else ""
    return f"<div><b>{result.rejected:,} rejected rows</b>{more}{_table(shown.astype(object).fillna(''))}</div>"


def _table(frame: pd.DataFrame) -> str:
    table = frame.to_html(index=False, escape=True, classes="wamkt-table", border=0, justify="left")
    return f"<div style='overflow-x:auto'>{table}</div>"
