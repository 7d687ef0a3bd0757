"""The footer: Textual's, with our bindings' descriptions in the app's current language.

Bindings name a message key as their description (``Binding("n", "new", "key.new_action")``);
the footer looks each one up as it draws its keys, so switching language needs no rebuilt
binding map (only a redraw: ``App.refresh_bindings()``)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer

KEY_PREFIX = "key."


class TranslatedFooter(Footer):
    def compose(self) -> ComposeResult:
        t = self.app.t  # type: ignore[attr-defined]
        for widget in super().compose():
            description = getattr(widget, "description", None)
            if isinstance(description, str) and description.startswith(KEY_PREFIX):
                widget.description = t(description)  # type: ignore[attr-defined]
            yield widget
