"""The territory form: a name, its types (the team's list, as [✓] boxes), a perimeter and a
description. Errors are said under their field; everything typed stays until saved."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Input, Label, Static

from tui.text import Visible, plain
from tui.widgets.action_form import Ticks
from tui.widgets.forms import LiteralTextArea
from tui.widgets.modal_form import ModalForm


class TerritoryFormScreen(ModalForm):
    """Dismissed with what ``submit(values)`` returned (values: name, types, perimeter,
    description), None on Escape."""

    def __init__(self, title: str, values: dict[str, Any], types: Sequence[str],
                 submit: Callable[[dict[str, Any]], Awaitable[Any]],
                 t: Callable[..., str]) -> None:
        super().__init__(title, submit, self.read)
        self.initial = values
        self.types = list(types)
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
            yield from self.buttons(t("form.save"), t("form.cancel"))

    def on_mount(self) -> None:
        self.query_one("#field-name", Input).focus()

    def read(self) -> dict[str, Any]:
        return {"name": self.query_one("#field-name", Input).value.strip(),
                "types": self.query_one("#field-types", Ticks).selected,
                "perimeter": self.query_one("#field-perimeter", Input).value.strip(),
                "description": self.query_one("#field-description", LiteralTextArea).text}
