"""Every error class wamkt_nb defines descends from ``WamktError``, so one ``except`` catches them all.

The CLI, the widgets and the worker catch ``WamktError`` for "expected failure, show the message";
an error class outside that tree would escape as a traceback.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import wamkt_nb
from wamkt_nb.abtest.errors import AbTestError
from wamkt_nb.autoreply.rules import AutoReplyRuleError
from wamkt_nb.errors import WamktError
from wamkt_nb.segments.rules import SegmentRuleError
from wamkt_nb.settings import SettingsError

NOT_IMPORTED = {"wamkt_nb.__main__"}  # importing it runs the command line


def _modules() -> list[str]:
    names = [info.name for info in pkgutil.walk_packages(wamkt_nb.__path__, "wamkt_nb.")]
    return [n for n in names if n not in NOT_IMPORTED]


def test_every_module_imports_and_every_error_class_subclasses_wamkt_error():
    defined = []
    for name in _modules():
        module = importlib.import_module(name)
        defined += [
            cls
            for _, cls in inspect.getmembers(module, inspect.isclass)
            if issubclass(cls, BaseException) and cls.__module__ == name
        ]
    outside = sorted(f"{cls.__module__}.{cls.__qualname__}" for cls in defined if not issubclass(cls, WamktError))
    assert len(defined) > 30 and outside == []


def test_value_error_compatibility_is_kept_where_callers_catch_value_error():
    for cls in (AbTestError, AutoReplyRuleError, SegmentRuleError, SettingsError):
        assert issubclass(cls, ValueError) and issubclass(cls, WamktError)
    assert AutoReplyRuleError is not SegmentRuleError
