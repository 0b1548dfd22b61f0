"""The template registry: templates synced from the Cloud API (Meta or the sandbox) plus local drafts.

Drafts are validated against Meta's rules, submitted through the API and followed until reviewed.
The API side is any object with ``list_templates(waba_id)``, ``create_template(waba_id, name,
language, category, components, parameter_format)`` and ``get_template(template_id)``, such as
:class:`wamkt_nb.cloudapi.CloudClient`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, Protocol

import pandas as pd

from ..errors import WamktError
from ..store import Store
from .findings import Finding, has_errors
from .templates import Template
from .validation import validate_template

FINAL_STATUSES = frozenset({"APPROVED", "REJECTED", "DISABLED"})


class TemplateAPI(Protocol):
    def list_templates(self, waba_id: str) -> list[Any]: ...

    def create_template(
        self,
        waba_id: str,
        name: str,
        language: str,
        category: str,
        components: list[dict[str, Any]],
        parameter_format: str | None = None,
    ) -> Any: ...

    def get_template(self, template_id: str) -> Any: ...


class TemplateRegistryError(WamktError, ValueError):
    """A template is unknown, invalid, or cannot be submitted; ``findings`` say why."""

    def __init__(self, message: str, findings: list[Finding] | None = None) -> None:
        super().__init__(message)
        self.findings = findings or []


class TemplateRegistry:
    """Templates by (name, language), kept in the store so drafts survive the session."""

    def __init__(
        self, store: Store, api: TemplateAPI | None = None, waba_id: str = "", clock: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self.api = api
        self.waba_id = waba_id
        self._now = clock

    def __repr__(self) -> str:
        return f"TemplateRegistry({self.store!r}, api={'yes' if self.api else 'no'})"

    def sync(self) -> int:
        """Fetch every template of the account and record its status; returns how many were read.

        A local draft of the same name and language is replaced by what the API knows.
        """
        api = self._need_api()
        fetched = [Template.from_api(t) for t in api.list_templates(self.waba_id)]
        for t in fetched:
            self._put(t, "api")
        return len(fetched)

    def save_draft(self, template: Template) -> list[Finding]:
        """Keep a local draft (even an invalid one, to work on); returns its findings."""
        existing = self.find(template.name, template.language)
        if existing is not None and existing.status not in ("DRAFT", "REJECTED"):
            raise TemplateRegistryError(
                f"template {template.name!r} ({template.language}) is already "
                f"{existing.status} at the API; choose another name"
            )
        self._put(template.with_status("DRAFT"), "draft")
        return validate_template(template)

    def submit(self, name: str, language: str) -> Template:
        """Validate the draft and send it for review; the answer's id and status are recorded."""
        draft = self.get(name, language)
        findings = validate_template(draft)
        if has_errors(findings):
            raise TemplateRegistryError(
                f"template {name!r} ({language}) breaks Meta's rules: "
                + "; ".join(f.message for f in findings if f.severity == "error"),
                findings,
            )
        info = self._need_api().create_template(
            self.waba_id,
            draft.name,
            draft.language,
            draft.category,
            draft.to_api(),
            draft.parameter_format.lower() if draft.parameter_format == "NAMED" else None,
        )
        submitted = draft.with_status(_field(info, "status") or "PENDING", id=_field(info, "id") or None)
        self._put(submitted, "api")
        return submitted

    def refresh(self, name: str, language: str) -> Template:
        """Ask the API for the current status of a submitted template."""
        t = self.get(name, language)
        if not t.id:
            raise TemplateRegistryError(f"template {name!r} ({language}) was never submitted")
        info = self._need_api().get_template(t.id)
        updated = t.with_status(_field(info, "status") or t.status, rejected_reason=_field(info, "rejected_reason"))
        self._put(updated, "api")
        return updated

    def follow(
        self,
        name: str,
        language: str,
        timeout: float = 60.0,
        interval: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> Template:
        """Refresh until the review is decided (APPROVED, REJECTED or DISABLED) or ``timeout`` passes."""
        waited = 0.0
        while True:
            t = self.refresh(name, language)
            if t.status in FINAL_STATUSES or waited >= timeout:
                return t
            sleep(interval)
            waited += interval

    def get(self, name: str, language: str) -> Template:
        t = self.find(name, language)
        if t is None:
            raise TemplateRegistryError(
                f"no template {name!r} in language {language!r}; known: "
                + ", ".join(f"{n} ({lang})" for n, lang in self._keys())
            )
        return t

    def find(self, name: str, language: str) -> Template | None:
        rows = self.store.query("SELECT * FROM message_templates WHERE name = ? AND language = ?", (name, language))
        return _from_row(rows[0]) if rows else None

    def templates(self, status: str | None = None) -> list[Template]:
        sql = "SELECT * FROM message_templates"
        params: tuple[str, ...] = ()
        if status:
            sql, params = sql + " WHERE status = ?", (status.upper(),)
        return [_from_row(r) for r in self.store.query(sql + " ORDER BY name, language", params)]

    def approved(self) -> list[Template]:
        """Templates that can be sent now."""
        return self.templates("APPROVED")

    def table(self) -> pd.DataFrame:
        """One row per template for display: name, language, category, status, source, body."""
        frame = self.store.read_frame(
            "SELECT name, language, category, status, source, rejected_reason, spec_json FROM message_templates "
            "ORDER BY name, language"
        )
        frame["body"] = [json.loads(s).get("body", "") for s in frame.pop("spec_json")]
        return frame

    def _need_api(self) -> TemplateAPI:
        if self.api is None:
            raise TemplateRegistryError("no Cloud API client: open the registry with api=CloudClient(...)")
        return self.api

    def _keys(self) -> list[tuple[str, str]]:
        return [(r[0], r[1]) for r in self.store.query("SELECT name, language FROM message_templates")]

    def _put(self, t: Template, source: str) -> None:
        spec = {"body": t.body, "components": t.to_api(), "parameter_format": t.parameter_format}
        with self.store.transaction() as conn:
            conn.execute(
                "INSERT INTO message_templates (name, language, category, status, template_id, rejected_reason,"
                " source, spec_json, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (name, language) DO UPDATE SET category = excluded.category,"
                " status = excluded.status, template_id = excluded.template_id,"
                " rejected_reason = excluded.rejected_reason, source = excluded.source,"
                " spec_json = excluded.spec_json, updated_at = excluded.updated_at",
                (
                    t.name,
                    t.language,
                    t.category,
                    t.status,
                    t.id,
                    t.rejected_reason,
                    source,
                    json.dumps(spec),
                    self._now(),
                ),
            )


def _from_row(row: Any) -> Template:
    spec = json.loads(row["spec_json"])
    return Template.from_api(
        {
            "name": row["name"],
            "language": row["language"],
            "category": row["category"],
            "status": row["status"],
            "id": row["template_id"],
            "rejected_reason": row["rejected_reason"],
            "parameter_format": spec.get("parameter_format"),
            "components": spec.get("components", []),
        }
    )


def _field(info: Any, name: str) -> Any:
    return info.get(name) if isinstance(info, dict) else getattr(info, name, None)
