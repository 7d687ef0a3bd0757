"""The skeleton every modal form shares: Ctrl+S (or Enter in a one-line field, or the save
button) reads the fields and hands them to an async ``submit``; Escape (or the cancel button)
closes without saving. What does not read, what ``submit`` refuses (``FieldError``), the
engine's ``ValidationError`` (from its code, ``tui.i18n.validation_text``) and a refused
permission are said under the field they name, or at the bottom, and the form stays open with
everything typed in it. A form says what its fields are (``compose``), how they read (the
``read`` it passes in) and where an error goes (``error_widget``); the rest is here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from mano_core.errors import PermissionDeniedError, ValidationError
from tui.i18n import validation_text
from tui.text import plain

FORM = "_form"   # the error line at the bottom, for what names no field

Submit = Callable[[dict[str, Any]], Awaitable[Any]]
# The values typed, as ``submit`` takes them; raises FieldErrors (or FieldError) for the
# fields that do not read.
Read = Callable[[], dict[str, Any]]


class FieldError(Exception):
    """Bad input in one field, found by the form before the engine saw it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class FieldErrors(Exception):
    """Several fields that do not read, each with its message: all said at once."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__(", ".join(fields))
        self.fields = fields


class ModalForm(ModalScreen[Any]):
    """A modal form, dismissed with what ``submit`` returned once it succeeded (None on
    Escape). Subclasses compose their fields (ending with :meth:`buttons`) and pass in how
    they read (``read``, usually a method of theirs); they may place errors otherwise
    (:meth:`show_error`) and keep Enter for themselves in some field (:meth:`enter_saves`)."""

    BINDINGS = [
        Binding("ctrl+s", "save", "key.save", priority=True),
        Binding("escape", "cancel", "key.cancel"),
    ]

    def __init__(self, title: str, submit: Submit, read: Read) -> None:
        super().__init__(classes="form-screen")
        self.form_title = title
        self._submit = submit
        self._read = read

    # --- what a form says -------------------------------------------------------------------

    def buttons(self, save_label: str, cancel_label: str) -> ComposeResult:
        """The bottom error line and the save and cancel buttons."""
        yield Static("", id=f"error-{FORM}", classes="form-error")
        with Horizontal(classes="form-buttons"):
            yield Button(save_label, id="save", variant="primary")
            yield Button(cancel_label, id="cancel")

    def error_widget(self, name: str) -> Static:
        """Where the error of field ``name`` goes (its ``#error-<name>`` line, else the
        bottom one)."""
        found = self.query(f"#error-{name}")
        return found.first(Static) if found else self.query_one(f"#error-{FORM}", Static)

    def show_error(self, name: str, message: str) -> None:
        """Say ``message`` under field ``name`` (or at the bottom)."""
        error = self.error_widget(name)
        error.update(plain("⚠ " + message))
        error.add_class("shown")

    def enter_saves(self, field: Input) -> bool:
        """Whether Enter in this one-line field saves the form (it does, as in any form)."""
        return True

    # --- what every form does ---------------------------------------------------------------

    def clear_errors(self) -> None:
        for w in self.query(".form-error"):
            assert isinstance(w, Static)
            w.update("")
            w.remove_class("shown")

    async def action_save(self) -> None:
        self.clear_errors()
        t = self.app.t  # type: ignore[attr-defined]
        try:
            result = await self._submit(self._read())
        except FieldErrors as exc:
            for name, message in reversed(exc.fields.items()):  # the focus ends on the first
                self.show_error(name, message)
            return
        except FieldError as exc:
            self.show_error(exc.field, exc.message)
            return
        except ValidationError as exc:
            # the engine's code, in the interface's language (its reason is English)
            self.show_error(exc.field, validation_text(t, exc))
            return
        except PermissionDeniedError:
            # this device's role may not (mano_core.rules): said in the interface's language
            error = self.error_widget(FORM)
            error.update(plain("⚠ " + t("error.permission")))
            error.add_class("shown")
            return
        self.dismiss(result)

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#save")
    async def _save_pressed(self) -> None:
        await self.action_save()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    @on(Input.Submitted)
    async def _enter(self, event: Input.Submitted) -> None:
        event.stop()
        if self.enter_saves(event.input):   # Tab moves between fields
            await self.action_save()
