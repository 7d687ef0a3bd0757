"""The engine's errors in the interface's language, from codes.

A ValidationError carries ``field``, ``code`` and ``params`` (``mano_core.codes``); its text is
the catalog's ``invalid.<code>``, filled with the parameters (a length limit, the options); a
code the catalog does not know reads ``invalid.other``. The engine's ``reason`` is English, for
logs: it never reaches the interface. Other errors read as the app says them
(``tui.i18n.error_text``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from mano_core.errors import ValidationError
from tui.i18n import error_text as app_error_text

if TYPE_CHECKING:
    from tui.i18n import Translator


def _param(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Iterable):
        return ", ".join(str(v) for v in value)
    return str(value)


def validation_text(t: Translator, exc: ValidationError) -> str:
    """What is wrong, in the interface's language (without the field's name)."""
    key = f"invalid.{exc.code}"
    if not t.has(key):
        return t("invalid.other")
    params = {k: _param(v) for k, v in getattr(exc, "params", {}).items()}
    try:
        return t(key, **params)
    except (KeyError, IndexError):  # a text naming a parameter this error lacks
        return t("invalid.other")


def error_text(t: Translator, exc: BaseException) -> str:
    """Any engine error as one sentence of the interface (for a notice)."""
    if isinstance(exc, ValidationError):
        return t("invalid.notice", message=validation_text(t, exc))
    return app_error_text(t, exc)
