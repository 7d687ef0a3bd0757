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
        self._shown: str | None = None   # the count's text on screen

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
        self._shown = None   # another language: other words, laid out again
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
        text = self.t("opening.reading", count=total, done=done, total=total, percent=percent)
        # Laid out again only when the text's length changed: the same words with numbers of
        # the same digits (counts only grow) take the same lines. A layout of the screen at
        # each percent was 10-16 ms of the loop, a hundred times while the team was read.
        same = self._shown is not None and len(self._shown) == len(text)
        self._shown = text
        self.query_one("#opening-progress", Static).update(plain(text), layout=not same)
