"""The command palette's one source of commands: the app's (``ManoApp.get_system_commands``,
sections and the screen's own ``palette_commands``), matched as Textual's own provider does,
and, when nothing matches, one line saying so in the interface's language (Textual's palette
would show its English "No matches found")."""

from __future__ import annotations

from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

from tui.text import plain


class ManoCommands(Provider):
    async def discover(self) -> Hits:
        for name, help_text, callback, discover in sorted(
                self.app.get_system_commands(self.screen), key=lambda c: c[0]):
            if discover:
                yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        found = False
        for name, help_text, callback, *_ in self.app.get_system_commands(self.screen):
            if (score := matcher.match(name)) > 0:
                found = True
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
        if not found:
            t: Any = getattr(self.app, "t")  # noqa: B009 - the Mano app's translator
            yield Hit(1.0, plain(t("palette.no_match", query=query)), lambda: None)
