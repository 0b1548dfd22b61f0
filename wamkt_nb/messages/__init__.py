"""Messages: templates, personalisation, copy lint and the template registry."""

from .findings import Finding, has_errors
from .lint import lint_copy, lint_message, message_warnings
from .personalise import GREETINGS, MessageSpec, Param, Personalised, first_names, personalise, shorten
from .registry import TemplateRegistry, TemplateRegistryError
from .templates import Button, Template, render_text, template_from_text, variables
from .validation import validate_template

__all__ = [
    "GREETINGS",
    "Button",
    "Finding",
    "MessageSpec",
    "Param",
    "Personalised",
    "Template",
    "TemplateRegistry",
    "TemplateRegistryError",
    "first_names",
    "has_errors",
    "lint_copy",
    "lint_message",
    "message_warnings",
    "personalise",
    "render_text",
    "shorten",
    "template_from_text",
    "validate_template",
    "variables",
]
