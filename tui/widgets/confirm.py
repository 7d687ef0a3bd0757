"""A confirmation dialog for what cannot be undone: dismissed with True only when the
confirm button is pressed. Focus starts on Cancel, so Enter alone never destroys anything;
Escape cancels."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from tui.text import lines as text_lines
from tui.text import plain


class ConfirmScreen(ModalScreen[bool]):
    """``title``, ``lines`` (plain text, shown as is) and two buttons."""

    BINDINGS = [Binding("escape", "cancel", "key.cancel")]

    def __init__(self, title: str, lines: list[str], *, confirm_label: str,
                 cancel_label: str) -> None:
        super().__init__(classes="form-screen")
        self.title_text = title
        self.lines = lines
        self.confirm_label = confirm_label
        self.cancel_label = cancel_label

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="form confirm"):
            yield Static(plain(self.title_text), classes="form-title")
            yield Static(text_lines(self.lines), id="confirm-body")
            with Horizontal(classes="form-buttons"):
                yield Button(self.confirm_label, id="confirm", variant="error")
                yield Button(self.cancel_label, id="cancel", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    @property
    def body(self) -> str:
        """The dialog's text as shown (for tests and screen readers' logs)."""
        return "\n".join([self.title_text, *self.lines])

    def action_cancel(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed, "#confirm")
    def _confirm(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(False)
