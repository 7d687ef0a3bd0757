"""A question with three answers for unsaved work: save it, drop it, or stay where one is.

Dismissed with ``"save"``, ``"discard"`` or ``"stay"``. Focus starts on *Stay* and Escape
stays, so that neither Enter alone nor a stray Escape ever throws typed text away."""

from __future__ import annotations

from typing import Literal

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from tui.text import lines as text_lines
from tui.text import plain

Choice = Literal["save", "discard", "stay"]


class UnsavedScreen(ModalScreen[Choice]):
    """``title``, ``lines`` (plain text) and the buttons save / discard / stay."""

    BINDINGS = [Binding("escape", "stay", "key.cancel")]

    def __init__(self, title: str, lines: list[str], *, save_label: str, discard_label: str,
                 stay_label: str) -> None:
        super().__init__(classes="form-screen")
        self.title_text = title
        self.lines = lines
        self.labels = {"save": save_label, "discard": discard_label, "stay": stay_label}

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="form confirm"):
            yield Static(plain(self.title_text), classes="form-title")
            yield Static(text_lines(self.lines), id="unsaved-body")
            with Horizontal(classes="form-buttons"):
                yield Button(self.labels["save"], id="save", variant="primary")
                yield Button(self.labels["discard"], id="discard", variant="error")
                yield Button(self.labels["stay"], id="stay")

    def on_mount(self) -> None:
        self.query_one("#stay", Button).focus()

    @property
    def body(self) -> str:
        """The dialog's text as shown."""
        return "\n".join([self.title_text, *self.lines])

    def action_stay(self) -> None:
        self.dismiss("stay")

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        choice = event.button.id
        self.dismiss(choice if choice in ("save", "discard") else "stay")  # type: ignore[arg-type]
