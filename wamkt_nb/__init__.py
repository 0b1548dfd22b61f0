"""wamkt_nb: WhatsApp marketing for growth analysts, in Jupyter notebooks and Voila dashboards.

``wamkt_nb.Workspace`` is the analyst's entry point (see :mod:`wamkt_nb.facade`).
"""

import sys
from typing import Any

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # ``Workspace`` pulls in pandas, the sandbox and the sender: imported on first use, so that
    # ``import wamkt_nb.<module>`` (CLI start-up, the sandbox's worker) stays light
    if name == "Workspace":
        from .facade import Workspace  # noqa: PLC0415 (lazy: see above)

        if "ipykernel" in sys.modules:  # in Jupyter, Campaign.send shows the send widget
            from .widgets import send  # noqa: F401, PLC0415 (lazy: only in Jupyter)

        return Workspace
    raise AttributeError(f"module 'wamkt_nb' has no attribute {name!r}")
