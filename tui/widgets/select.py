"""The project's drop-down choice: Textual's Select, reporting only changes of its value.

Textual 8's Select posts ``Select.Changed`` when it mounts, from no value to the one it was
composed with (or its first option when it has no blank). No one chose anything then, yet a
screen listening for ``Select.Changed`` took it for a choice: the agenda, the persons list and
the statistics read all their data a second time in the same burst of the UI loop (issue 24),
the report reloaded its day, the settings saved the current sub-team again. This one drops a
``Changed`` posted before it is mounted: what it shows at its mount is its starting value,
which a screen reads itself when it first shows its data. Every value set after its mount —
by the user or by the code — is reported as Textual reports it.

Use it everywhere in tui/ instead of ``textual.widgets.Select`` (tests/tui/test_structure.py
checks); ``Select.Changed`` and ``Select.NULL`` are Textual's own (inherited)."""

from __future__ import annotations

from typing import TypeVar

from textual.message import Message
from textual.widgets import Select as TextualSelect

T = TypeVar("T")


class Select(TextualSelect[T]):
    """Textual's Select without the ``Changed`` of its own mount."""

    def check_message_enabled(self, message: Message) -> bool:
        if isinstance(message, TextualSelect.Changed) and not self.is_mounted:
            return False   # its composed value, set by its own Mount handler
        return super().check_message_enabled(message)
