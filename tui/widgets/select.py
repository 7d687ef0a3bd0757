"""The project's drop-down choice: Textual's Select, reporting only changes of its value, and
quitting cleanly while it is drawn.

Textual 8's Select posts ``Select.Changed`` when it mounts, from no value to the one it was
composed with (or its first option when it has no blank). No one chose anything then, yet a
screen listening for ``Select.Changed`` took it for a choice: the agenda, the persons list and
the statistics read all their data a second time in the same burst of the UI loop (issue 24),
the report reloaded its day, the settings saved the current sub-team again. This one drops a
``Changed`` posted before it is mounted: what it shows at its mount is its starting value,
which a screen reads itself when it first shows its data. Every value set after its mount —
by the user or by the code — is reported as Textual reports it.

Quitting the app while a screen of drop-downs is being drawn (Ctrl+Q as the agenda appears)
cancels the drawing of a Select's shown value before its label exists; Textual's Select then
mounts anyway, sets its value, looks for that label and raises ``NoMatches``: the app closed
on a crash report. Here the shown value keeps the label to draw and draws nothing while it has
no label part (tests/tui/test_select.py).

Use it everywhere in tui/ instead of ``textual.widgets.Select`` (tests/tui/test_structure.py
checks); ``Select.Changed`` and ``Select.NULL`` are Textual's own (inherited)."""

from __future__ import annotations

from typing import TypeVar

from rich.console import RenderableType
from textual.app import ComposeResult
from textual.css.query import NoMatches
from textual.message import Message
from textual.widgets import Select as TextualSelect
from textual.widgets import Static
from textual.widgets._select import SelectCurrent   # textual < 9 (pyproject)
from textual.widgets.select import NoSelection

T = TypeVar("T")


class _ShownValue(SelectCurrent):
    """Textual's shown value, which draws nothing while it has no label part (its drawing was
    cancelled: the app is closing)."""

    def update(self, label: RenderableType | NoSelection) -> None:
        try:
            self.query_one("#label", Static)
        except NoMatches:
            self.label = label
            self.has_value = label is not TextualSelect.NULL
            return
        super().update(label)


class Select(TextualSelect[T]):
    """Textual's Select without the ``Changed`` of its own mount."""

    def compose(self) -> ComposeResult:
        for part in super().compose():
            yield _ShownValue(self.prompt) if type(part) is SelectCurrent else part

    def check_message_enabled(self, message: Message) -> bool:
        if isinstance(message, TextualSelect.Changed) and not self.is_mounted:
            return False   # its composed value, set by its own Mount handler
        return super().check_message_enabled(message)
