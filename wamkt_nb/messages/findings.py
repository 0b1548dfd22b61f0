"""A finding: one problem with a template or a piece of copy, worded so the analyst can act on it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True)
class Finding:
    """``code`` is stable for programs; ``message`` says what is wrong and what to do about it."""

    code: str
    severity: Severity
    message: str
    field: str = ""

    def __str__(self) -> str:
        where = f" [{self.field}]" if self.field else ""
        return f"{self.severity}: {self.code}{where}: {self.message}"


def has_errors(findings: Iterable[Finding]) -> bool:
    """True when any finding blocks sending or submitting."""
    return any(f.severity == "error" for f in findings)
