"""The territory form: a name, its types (the team's list, as [✓] boxes), a perimeter and a
description. Errors are said under their field; everything typed stays until saved."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from mano_core.errors import PermissionDeniedError, ValidationError
from tui.i18n import validation_text
from tui.text import Visible, plain
from tui.widgets.action_form import Ticks
from tui.widgets.forms import FieldError, LiteralTextArea


class TerritoryFormScreen(ModalScreen[Any]):
    """Dismissed with what ``submit(values)`` returned (values: name, types, perimeter,
    description), None on Escape."""

    BINDINGS = [Binding("ctrl+s", "save", "key.save", priority=True),
                Binding("escape", "cancel", "key.cancel")]

    def __init__(self, title: str, values: dict[str, Any], types: Sequence[str],
                 submit: Callable[[dict[str, Any]], Awaitable[Any]],
                 t: Callable[..., str]) -> None:
        super().__init__(classes="form-screen")
        self.form_title = title
        self.initial = values
        self.types = list(types)
        self._submit = submit
        self.t = t

    def compose(self) -> ComposeResult:
        t, v = self.t, self.initial
        chosen = list(v.get("types", []))
        with VerticalScroll(classes="form action-form"):
            yield Static(plain(self.form_title), classes="form-title")
            yield Label(t("territory.name"), classes="form-label")
            yield Input(v.get("name", ""), id="field-name", compact=True, highlighter=Visible())
            yield Static("", id="error-name", classes="form-error")
            yield Label(t("territory.types"), classes="form-label")
            yield Ticks([(x, x, x in chosen) for x in [*self.types,
                                                      *(c for c in chosen
                                                        if c not in self.types)]],
                        id="field-types")
            yield Static("", id="error-types", classes="form-error")
            yield Label(t("territory.perimeter"), classes="form-label")
            yield Input(v.get("perimeter", ""), id="field-perimeter", compact=True,
                        highlighter=Visible())
            yield Static("", id="error-perimeter", classes="form-error")
            yield Label(t("field.description"), classes="form-label")
            yield LiteralTextArea(v.get("description", ""), id="field-description",
                                  classes="form-area")
            yield Static("", id="error-_form", classes="form-error")
            with Horizontal(classes="form-buttons"):
                yield Button(t("form.save"), id="save", variant="primary")
                yield Button(t("form.cancel"), id="cancel")

    def on_mount(self) -> None:
        self.query_one("#field-name", Input).focus()

    def values(self) -> dict[str, Any]:
        return {"name": self.query_one("#field-name", Input).value.strip(),
                "types": self.query_one("#field-types", Ticks).selected,
                "perimeter": self.query_one("#field-perimeter", Input).value.strip(),
                "description": self.query_one("#field-description", LiteralTextArea).text}

    def _error(self, name: str, message: str) -> None:
        found = self.query(f"#error-{name}")
        error = found.first(Static) if found else self.query_one("#error-_form", Static)
        error.update(plain("⚠ " + message))
        error.add_class("shown")

    async def action_save(self) -> None:
        for w in self.query(".form-error"):
            assert isinstance(w, Static)
            w.update("")
            w.remove_class("shown")
        try:
            result = await self._submit(self.values())
        except FieldError as exc:
            self._error(exc.field, exc.message)
            return
        except ValidationError as exc:
            # the engine's code, in the interface's language (its reason is English)
            t = self.app.t  # type: ignore[attr-defined]
            self._error(exc.field, validation_text(t, exc))
            return
        except PermissionDeniedError:
            self._error("_form", self.t("error.permission"))
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
        await self.action_save()
