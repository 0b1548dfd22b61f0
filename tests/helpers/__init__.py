"""What several test folders share: servers on 127.0.0.1, payload builders, plans and waiting.

Tests import these modules (``from helpers.plans import make_plan``), never each other; the
fixtures stay in the ``conftest.py`` of the folder whose tests use them. ``tests/`` is on the path
through ``pythonpath`` in pyproject's ``[tool.pytest.ini_options]``.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
"""The repository: notebooks, dashboards and ``python -m wamkt_nb`` run from here."""
