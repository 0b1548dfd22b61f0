"""The one error class of the A/B package: bad inputs, named by field."""

from ..errors import WamktError


class AbTestError(WamktError, ValueError):
    """An input to planning, assignment or evaluation is out of range; the message names it."""
