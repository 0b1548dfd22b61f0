"""The analyst's entry point: a :class:`Workspace` (store, client, sandbox, receiver) and its campaigns."""

from .campaign import Campaign, Message
from .workspace import Segment, Workspace

__all__ = ["Campaign", "Message", "Segment", "Workspace"]
