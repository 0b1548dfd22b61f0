"""The team inbox: open conversations by customer value and waiting time, red flags, answering."""

from .answer import TemplateChoice, WindowClosedError, answer, answer_async, compose_answer
from .queries import (
    RED_AFTER_SECONDS,
    campaign_choices,
    first_response_times,
    inbox_summary,
    load_messages,
    open_conversations,
)

__all__ = [
    "RED_AFTER_SECONDS",
    "TemplateChoice",
    "WindowClosedError",
    "answer",
    "answer_async",
    "campaign_choices",
    "compose_answer",
    "first_response_times",
    "inbox_summary",
    "load_messages",
    "open_conversations",
]
