"""Messages: templates, personalisation, copy lint and the template registry."""

from .findings import Finding, has_errors
from .personalise import GREETINGS, MessageSpec, Param, Personalised, first_names, personalise, shorten
from .templates import Button, Template, render_text, template_from_text, variables
from .validation import validate_template

__all__ = [
    "GREETINGS", "Button", "Finding", "MessageSpec", "Param", "Personalised", "Template",
    "first_names", "has_errors", "personalise", "render_text", "shorten", "template_from_text",
    "validate_template", "variables",
]
