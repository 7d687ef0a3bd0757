"""The footer: Textual's, with our bindings' descriptions in the app's current language.

Bindings name a message key as their description (``Binding("n", "new", "key.new_action")``);
the footer translates each one (``tui.i18n.key_text``) as it draws its keys, through the keys'
public ``description`` and ``tooltip``, so switching language needs no rebuilt binding map
(only a redraw: ``App.refresh_bindings()``).

Textual's footer composes its keys again (every key a widget removed, made, mounted and
styled) each time a screen's bindings may have changed: each focus change, each screen
shown, each ``refresh_bindings`` (issue 24: a few ms each, on the UI loop, in the first
show of every screen). The keys are composed again only when what they show changed (the
bindings with their state and description, the language, the footer's own options)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer

from tui.i18n import Translator, key_text


class TranslatedFooter(Footer):
    _composed_for: tuple[object, ...] | None = None   # what the keys composed last show

    def _shows(self) -> tuple[object, ...]:
        t: Translator = self.app.t  # type: ignore[attr-defined]
        return (t.lang, self.compact, self.show_command_palette,
                tuple((key, binding, enabled, tooltip) for key, (_node, binding, enabled,
                                                                 tooltip)
                      in self.screen.active_bindings.items()))

    async def recompose(self) -> None:
        if not self.is_attached or not self._bindings_ready:
            await super().recompose()
            return
        shows = self._shows()
        if shows == self._composed_for and self.children:
            return   # the same keys, in the same state
        await super().recompose()
        self._composed_for = shows

    def compose(self) -> ComposeResult:
        t: Translator = self.app.t  # type: ignore[attr-defined]
        for widget in super().compose():
            description = getattr(widget, "description", None)
            if isinstance(description, str):
                widget.description = key_text(t, description)  # type: ignore[attr-defined]
            if isinstance(widget.tooltip, str):
                widget.tooltip = key_text(t, widget.tooltip)
            yield widget
