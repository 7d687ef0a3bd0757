"""Forms in a modal: fields described once, inline errors naming the field, nothing lost.

A form is a list of ``Field``; ``FormScreen`` draws them, and on ctrl+s (or Enter in a one-line
field) hands the values to an async ``submit``. If ``submit`` raises ``FieldError``
or a ValidationError, the message appears under the field it names and the form stays open
with everything typed in it. Escape closes without saving."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static, TextArea

from mano_core.errors import PermissionDeniedError, ValidationError
from tui.text import Visible, cell, plain, visible
from tui.widgets.toggle import Check


class FieldError(Exception):
    """Bad input in one field, found by the form before the engine saw it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Field:
    """One input. ``kind``: text, area, check or select (``options``: (label, value) pairs).
    ``wire`` names the engine field it fills, to place the engine's errors under it."""

    name: str
    label: str
    kind: str = "text"
    value: Any = None
    options: Sequence[tuple[str, Any]] = ()
    placeholder: str = ""
    wire: tuple[str, ...] = field(default_factory=tuple)


Submit = Callable[[dict[str, Any]], Awaitable[Any]]


class FormScreen(ModalScreen[Any]):
    """A modal form; dismissed with what ``submit`` returned once it succeeded."""

    BINDINGS = [
        Binding("ctrl+s", "save", "key.save", priority=True),
        Binding("escape", "cancel", "key.cancel"),
    ]

    def __init__(self, title: str, fields: Sequence[Field], submit: Submit, *,
                 save_label: str, cancel_label: str, field_error: Callable[[str, str], str]
                 ) -> None:
        super().__init__(classes="form-screen")
        self.form_title = title
        self.fields = list(fields)
        self._submit = submit
        self._save_label = save_label
        self._cancel_label = cancel_label
        self._field_error = field_error

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="form"):
            yield Static(plain(self.form_title), classes="form-title")
            for f in self.fields:
                if f.kind != "check":
                    yield Label(plain(f.label), classes="form-label")
                yield self._widget(f)
                yield Static("", id=f"error-{f.name}", classes="form-error")
            yield Static("", id="error-_form", classes="form-error")
            with Horizontal(classes="form-buttons"):
                yield Button(self._save_label, id="save", variant="primary")
                yield Button(self._cancel_label, id="cancel")

    def on_mount(self) -> None:
        self.refresh_bindings()
        if self.fields:
            self.query_one(f"#field-{self.fields[0].name}").focus()

    def _widget(self, f: Field) -> Any:
        wid = f"field-{f.name}"
        if f.kind == "area":
            return LiteralTextArea(str(f.value or ""), id=wid, classes="form-area")
        if f.kind == "check":
            return Check(plain(f.label), bool(f.value), id=wid)
        if f.kind == "select":
            return Select([(cell(label), value) for label, value in f.options], compact=True,
                          value=f.value if f.value is not None else Select.NULL,
                          id=wid, allow_blank=True, prompt="—")
        return Input(str(f.value or ""), placeholder=f.placeholder, id=wid, compact=True,
                     highlighter=Visible())

    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in self.fields:
            w = self.query_one(f"#field-{f.name}")
            if isinstance(w, TextArea):
                out[f.name] = w.text
            elif isinstance(w, Check):
                out[f.name] = w.value
            elif isinstance(w, Select):
                out[f.name] = None if w.value is Select.NULL else w.value
            else:
                assert isinstance(w, Input)
                out[f.name] = w.value
        return out

    def show_error(self, field_name: str, message: str) -> None:
        """Show ``message`` under the field (wire or form name), or at the bottom."""
        target = "_form"
        for f in self.fields:
            if field_name == f.name or field_name in f.wire or any(
                    field_name.startswith(w + ".") for w in f.wire):
                target = f.name
                break
        label = next((f.label for f in self.fields if f.name == target), field_name)
        error = self.query_one(f"#error-{target}", Static)
        error.update(plain("⚠ " + self._field_error(label, message)))
        error.add_class("shown")
        if target != "_form":
            self.query_one(f"#field-{target}").focus()

    def clear_errors(self) -> None:
        for w in self.query(".form-error"):
            assert isinstance(w, Static)
            w.update("")
            w.remove_class("shown")

    async def action_save(self) -> None:
        self.clear_errors()
        try:
            result = await self._submit(self.values())
        except FieldError as exc:
            self.show_error(exc.field, exc.message)
            return
        except ValidationError as exc:
            # the engine's reason is English (for logs): said in the interface's language
            self.show_error(exc.field, self.app.error_text(exc))  # type: ignore[attr-defined]
            return
        except PermissionDeniedError:
            # this device's role may not (mano_core.rules): said in the interface's language
            error = self.query_one("#error-_form", Static)
            error.update(plain("⚠ " + self.app.t("error.permission")))  # type: ignore[attr-defined]
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
        await self.action_save()  # Enter saves, as in any form; Tab moves between fields


class LiteralTextArea(TextArea):
    """A TextArea that draws control characters as visible pictures (``tui.text.visible``):
    a teammate's text holding an escape sequence is shown, never sent to the terminal. The
    text itself is not changed."""

    def get_line(self, line_index: int) -> Text:
        # Rich's Text would drop BEL, BS… silently: picture them first (one for one).
        return Text(visible(self.document.get_line(line_index)), end="", no_wrap=True)
