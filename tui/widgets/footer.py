"""The footer: Textual's, with our bindings' descriptions in the app's current language.

Bindings name a message key as their description (``Binding("n", "new", "key.new_action")``);
the footer translates each one (``tui.i18n.key_text``) as it draws its keys, through the keys'
public ``description`` and ``tooltip``, so switching language needs no rebuilt binding map
(only a redraw: ``App.refresh_bindings()``)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer

from tui.i18n import Translator, key_text


class TranslatedFooter(Footer):
    def compose(self) -> ComposeResult:
        t: Translator = self.app.t  # type: ignore[attr-defined]
        for widget in super().compose():
            description = getattr(widget, "description", None)
            if isinstance(description, str):
                widget.description = key_text(t, description)  # type: ignore[attr-defined]
            if isinstance(widget.tooltip, str):
                widget.tooltip = key_text(t, widget.tooltip)
            yield widget
