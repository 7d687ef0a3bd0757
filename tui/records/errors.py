"""The engine's errors in the interface's language, from codes.

A ValidationError carries ``record``, ``field`` and an English ``reason``; when the engine
gives a ``code`` attribute it is used as it is, else the code is read from the reason's known
forms (``is required`` → ``required``…). The text is the catalog's ``invalid.<code>``, filled with
the numbers the reason holds (a length limit); an unknown reason reads ``invalid.other``: no
English sentence of the engine ever reaches the French interface."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from mano_core.errors import (
    ManoError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)

if TYPE_CHECKING:
    from tui.i18n import Translator

# (pattern of the engine's reason, code); the first that matches gives the code.
_REASONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), c) for p, c in (
        (r"^is required when the person is out of the active list", "out_date_required"),
        (r"^is required when the status is", "completion_required"),
        (r"^must be empty while the status", "completion_empty"),
        (r"^is required", "required"),
        (r"^longer than (?P<n>\d+) characters", "too_long"),
        (r"^more than (?P<n>\d+) items", "too_many"),
        (r"^items must be unique", "unique"),
        (r"^an item is too long", "item_too_long"),
        (r"^must not be negative", "negative"),
        (r"^must be a number", "number"),
        (r"^must be text", "text"),
        (r"^must be yes or no", "yes_no"),
        (r"^must be true or false", "yes_no"),
        (r"^must be an ISO 8601 date and time", "moment"),
        (r"^must be an ISO 8601 date", "date"),
        (r"^must be one of", "choice"),
        (r"^must be a list of values among", "choice"),
        (r"^no such custom field", "unknown_field"),
        (r"^a comment is on a person or on an action", "comment_target"),
        (r"^a choice field needs options", "options_needed"),
    ))


def validation_code(exc: ValidationError) -> tuple[str, dict[str, object]]:
    """(code, values for its text) of a ValidationError."""
    code = getattr(exc, "code", None)
    for pattern, known in _REASONS:
        m = pattern.search(exc.reason)
        if m:
            return (str(code) if code else known), {k: int(v) for k, v in
                                                    m.groupdict().items() if v}
    return (str(code) if code else "other"), {}


def validation_text(t: Translator, exc: ValidationError) -> str:
    """What is wrong, in the interface's language (without the field's name)."""
    code, values = validation_code(exc)
    key = f"invalid.{code}"
    return t(key, **values) if t.has(key) else t("invalid.other")


def error_text(t: Translator, exc: ManoError) -> str:
    """Any engine error as one sentence of the interface (for a notice)."""
    if isinstance(exc, ValidationError):
        return t("invalid.notice", message=validation_text(t, exc))
    if isinstance(exc, PermissionDeniedError):
        return t("error.permission")
    if isinstance(exc, NotFoundError):
        return t("invalid.not_found")
    return t("invalid.failed", error=type(exc).__name__)
