"""The root of the errors wamkt_nb raises for expected failures (bad input, bad paths, bad settings).

Everything that subclasses ``WamktError`` carries a message fit for the person at the keyboard: the
``wamkt`` command prints it as one line and exits 2, a widget shows it; no traceback is needed
to understand or fix it.
"""

from __future__ import annotations


class WamktError(Exception):
    """An expected failure whose message says what went wrong and what to do."""
