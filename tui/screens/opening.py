"""While a team opens and its records are read (issue 24): what is happening, with a count
of the records read, instead of a screen that does not answer. The reading runs in slices
on the app's loop (``Team.load``), so this screen keeps drawing and keys keep answering."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Center, Vertical
from textual.widgets import LoadingIndicator, Static

from tui.text import plain
from tui.widgets.footer import TranslatedFooter

from .base import ManoScreen


class OpeningScreen(ManoScreen):
    """Shown by ``ManoApp.open_session`` until the agenda is ready."""

    def __init__(self, team_name: str) -> None:
        super().__init__(id="opening")
        self.team_name = team_name
        self._percent = -1
        self._counts: tuple[int, int] | None = None

    def compose(self) -> ComposeResult:
        with Center(), Vertical(classes="card"):
            yield self.tr(Static(classes="card-title"), "opening.title", name=self.team_name)
            yield LoadingIndicator(id="opening-busy")
            yield self.tr(Static(id="opening-progress", classes="muted"), "opening.opening")
        yield TranslatedFooter()

    def progress(self, done: int, total: int) -> None:
        """``done`` of ``total`` records read (redrawn once per percent)."""
        percent = 100 * done // total if total else 100
        if percent == self._percent:
            return
        self._percent, self._counts = percent, (done, total)
        self._show(done, total, percent)

    def relabel(self) -> None:
        """A language switch (F12) while reading: the count stays shown, in the new language."""
        super().relabel()
        if self._counts is not None:
            self._show(*self._counts, self._percent)

    def on_mount(self) -> None:
        if self._counts is not None:   # counted before the screen was drawn
            self._show(*self._counts, self._percent)

    def _show(self, done: int, total: int, percent: int) -> None:
        if not self.is_mounted:
            return
        # The counts written by the Translator (tui.numbers, as every count on screen):
        # Babel's format_decimal loaded its locale data at the first count, 20-35 ms of the
        # UI loop while the team opened (issue 24), and wrote a narrower space.
        self.query_one("#opening-progress", Static).update(plain(self.t(
            "opening.reading", count=total, done=done, total=total, percent=percent)))
