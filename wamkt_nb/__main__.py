"""``python -m wamkt_nb`` is the ``wamkt`` command."""

import sys

from .cli import main

sys.exit(main())
