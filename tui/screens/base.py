"""What every section screen shares: the section bar, the sync bar, the footer, translated
key bindings (the footer translates them), and a redraw when the team's data changed (at once
if shown, else on return)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.screen import Screen

from tui.i18n import Translator
from tui.widgets.footer import TranslatedFooter
from tui.widgets.nav import SECTIONS, NavBar
from tui.widgets.sync_bar import SyncBar

if TYPE_CHECKING:
    from tui.app import ManoApp
    from tui.session import Session


class ManoScreen(Screen[Any]):
    """A screen of the unlocked app."""

    @property
    def mano(self) -> ManoApp:
        return self.app  # type: ignore[return-value]

    @property
    def t(self) -> Translator:
        return self.app.t  # type: ignore[attr-defined,no-any-return]

    @property
    def session(self) -> Session:
        session = self.mano.session
        assert session is not None
        return session


class SectionScreen(ManoScreen):
    """A top-level section (agenda, persons…): section bar, body, sync bar, footer."""

    section = ""
    AUTO_FOCUS = "DataTable"  # letters are commands on the list; "/" goes to the search

    def __init__(self) -> None:
        super().__init__(id=f"section-{self.section}")
        self._dirty = False

    def compose(self) -> ComposeResult:
        yield NavBar(self.section, {n: self.t("nav." + n) for n, _k in SECTIONS})
        yield from self.compose_body()
        yield SyncBar()
        yield TranslatedFooter()

    def compose_body(self) -> ComposeResult:
        raise NotImplementedError

    def on_mount(self) -> None:
        self.watch(self.app, "data_version", self._data_moved, init=False)
        self.reload()

    def _data_moved(self, _version: int) -> None:
        if self.is_current:
            self.reload()
        else:
            self._dirty = True

    def on_screen_resume(self) -> None:
        if self._dirty:
            self._dirty = False
            self.reload()

    def reload(self) -> None:
        """Redraw from the team's current data (cheap, or in a worker)."""
