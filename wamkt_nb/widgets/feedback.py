"""Errors in widget callbacks shown in the widget, not only in JupyterLab's log console.

ipywidgets swallows an exception raised in a button or observer callback into the log console,
so the analyst sees nothing change. :func:`guarded` wraps a callback: an exception becomes a
readable message in the widget's :class:`StatusLine` (what went wrong and what to do next) and
its full traceback goes to the ``wamkt_nb.widgets`` logger.
"""

from __future__ import annotations

import functools
import html
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import ipywidgets as W

log = logging.getLogger("wamkt_nb.widgets")

F = TypeVar("F", bound=Callable[..., Any])

LEVELS = ("info", "ok", "warn", "error")

_HINTS = {
    "ProgrammingError": "the database connection is closed (a notebook cell closed it): run the set-up "
    "cells again (or reopen the workspace), then try once more",
    "OperationalError": "the database could not be used (locked or missing): wait a moment or reopen the "
    "workspace, then try once more",
}


class StatusLine(W.HTML):
    """One line that says what the widget is doing or waiting for, and what to do next."""

    def __init__(self, text: str = "", level: str = "info") -> None:
        super().__init__()
        self.add_class("wamkt-status")
        self.show(text, level)

    def show(self, text: str, level: str = "info") -> None:
        """Show ``text`` (plain text, escaped here) at ``level`` (info, ok, warn, error)."""
        if level not in LEVELS:
            raise ValueError(f"level {level!r} is not one of {', '.join(LEVELS)}")
        self.level = level
        self.text = text
        self.value = f"<div class='wamkt-status-{level}' role='status'>{html.escape(text)}</div>" if text else ""

    def show_error(self, action: str, exc: BaseException) -> None:
        self.show(error_text(action, exc), "error")


def error_text(action: str, exc: BaseException) -> str:
    """``"Run dry-run failed: Cannot operate on a closed database. Next: ..."`` for an analyst."""
    detail = str(exc.args[0]) if len(exc.args) == 1 else str(exc)
    text = f"{action} failed: {detail or type(exc).__name__}"
    hint = _HINTS.get(type(exc).__name__)
    return f"{text}. Next: {hint}." if hint else text


def guarded(status: Callable[[Any], StatusLine], action: str) -> Callable[[F], F]:
    """Decorate a widget method: exceptions show in ``status(self)`` and are logged, never raised.

    The method returns ``None`` when it failed.
    """

    def wrap(method: F) -> F:
        @functools.wraps(method)
        def run(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, *args, **kwargs)
            except Exception as exc:
                log.exception("%s failed in %s", action, type(self).__name__)
                status(self).show_error(action, exc)
                return None

        return run  # type: ignore[return-value]

    return wrap
