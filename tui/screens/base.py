"""What every section screen shares: the section bar, the sync bar, the footer, translated
key bindings (the footer translates them), and a redraw when the team's data changed (at once
if shown, else on return)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from textual import events, on
from textual.app import ComposeResult
from textual.geometry import Size
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Input, RadioButton, Static

from mano_core.durable import DurableCollection
from mano_core.errors import ManoError
from mano_core.loop_turns import let_loop_run
from tui.handback import hand_back
from tui.i18n import Translator
from tui.text import plain
from tui.widgets.confirm import ConfirmScreen
from tui.widgets.footer import TranslatedFooter
from tui.widgets.nav import SECTIONS, NavBar
from tui.widgets.sync_bar import SyncBar

if TYPE_CHECKING:
    from tui.app import ManoApp
    from tui.session import Session


W = TypeVar("W", bound=Widget)


class ManoScreen(Screen[Any]):
    """A screen of the app. Texts placed with ``tr`` follow a language switch (F12) at once,
    without composing the screen again (what was typed in it is kept).

    Textual restyles every widget of a screen each time it is shown (``ScreenResume``: 30–55
    ms for a section, on the UI loop, issue 24), in case something its rules depend on
    changed while it was hidden. A change of a widget's or the screen's classes, of the focus
    or the hover restyles what it touches when it happens, hidden or not; a change of theme
    or CSS variables is refreshed by the app before the screen shows. What is left is the
    app's own state (its pseudo-classes, classes, CSS generation): the screen is restyled
    when that differs from when it was last styled (mounted, or shown), not otherwise."""

    _styled_with: tuple[object, ...] | None = None

    def _style_state(self) -> tuple[object, ...]:
        app = self.app
        return (app._css_update_count, app.pseudo_classes, frozenset(app.classes))

    def _on_mount(self, _event: events.Mount) -> None:
        self._styled_with = self._style_state()   # its widgets were styled as they mounted

    def _on_screen_resume(self, event: events.ScreenResume) -> None:
        # Called before Textual's own handler (Screen._on_screen_resume), which restyles
        # only when ``refresh_styles`` is still set.
        state = self._style_state()
        if event.refresh_styles and state == self._styled_with:
            event.refresh_styles = False
        self._styled_with = state

    async def _dispatch_message(self, message: Message) -> None:
        # The loop is handed back between two of the screen's messages once they held it for
        # a while (tui/handback.py: a first show's layout, redraw and fill were one burst).
        await hand_back()
        await super()._dispatch_message(message)

    async def _on_idle(self, _event: events.Idle) -> None:
        # Called before Textual's own (Screen._on_idle: the callbacks waiting for a refresh,
        # the footer's keys composed again), which then runs in a later iteration if the
        # messages before it were long.
        await hand_back()

    def _refresh_layout(self, size: Size | None = None, scroll: bool = False) -> None:
        # Textual lays the screen out and redraws all of it in one call (its update timer,
        # a resize, a screen shown: 40-70 ms of the loop at MANO scale); inside a batch it
        # posts the redraw to the screen instead, as a message handled in a later iteration
        # of the loop (tui/handback.py). Nothing is shown in between: the redraw is what
        # puts the new layout on screen.
        with self.app.batch_update():
            super()._refresh_layout(size, scroll)

    def tr(self, widget: W, key: str, attr: str = "", **values: object) -> W:
        """Show message ``key`` on ``widget`` (its text, label, or ``attr`` such as
        ``placeholder``) now and after every language switch; returns ``widget``."""
        texts: list[tuple[Widget, str, str, dict[str, object]]] = \
            self.__dict__.setdefault("_mano_texts", [])
        texts.append((widget, key, attr, values))
        self._apply_text(widget, key, attr, values)
        return widget

    def relabel(self) -> None:
        """Show every ``tr`` text in the app's current language."""
        for widget, key, attr, values in self.__dict__.get("_mano_texts", []):
            self._apply_text(widget, key, attr, values)

    def _apply_text(self, widget: Widget, key: str, attr: str, values: dict[str, object]) -> None:
        text = self.t(key, **values)
        if attr:
            setattr(widget, attr, text)
        elif isinstance(widget, (Button, Checkbox, RadioButton)):
            widget.label = plain(text)
        elif isinstance(widget, Static):
            widget.update(plain(text))
        elif isinstance(widget, Input):
            widget.placeholder = text

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

    def confirm_delete(self, records: DurableCollection[Any], record_id: str, *, title: str,
                       body: str, deleted: str, then: Callable[[], object] | None = None) -> None:
        """Ask (``title``, ``body``), then delete ``record_id`` from ``records`` (an action,
        an observation); an engine's refusal is said in the interface's language, a deletion
        offers its undo for a few seconds (Ctrl+Z; ``deleted``: what the notice says).
        ``then`` runs once it is deleted."""
        t = self.t

        async def delete(confirmed: bool | None) -> None:
            if not confirmed:
                return
            try:
                await records.delete(record_id)
            except ManoError as exc:
                self.mano.say(self.mano.error_text(exc), error=True)
                return

            async def undo() -> None:
                await records.restore(record_id)

            self.mano.offer_undo(deleted, undo)
            if then is not None:
                then()

        self.app.push_screen(ConfirmScreen(
            title, [body], confirm_label=t("actions.delete_button"),
            cancel_label=t("form.cancel")), delete)


class SectionScreen(ManoScreen):
    """A top-level section (agenda, persons…): section bar, body, sync bar, footer. Each
    section's ``compose`` returns ``self.framed(<its body>)``."""

    section = ""
    AUTO_FOCUS = "DataTable"  # letters are commands on the list; "/" goes to the search

    def __init__(self) -> None:
        super().__init__(id=f"section-{self.section}")
        self._dirty = False

    def framed(self, body: ComposeResult) -> ComposeResult:
        """A section's widgets: its ``body`` (what its ``compose`` passes in, composed in
        place) between the section bar above and the sync bar and footer below."""
        yield NavBar(self.section, {n: self.t("nav." + n) for n, _k in SECTIONS})
        yield from body
        yield SyncBar()
        yield TranslatedFooter()

    @on(events.Mount)
    async def _first_show(self) -> None:
        # Textual calls the Mount handler of every class of the screen, this one after the
        # section's own on_mount, which never calls it (as super().on_mount() it ran twice,
        # and each change of the team's data reloaded the agenda, the report, the settings
        # twice).
        self.watch(self.app, "data_version", self._data_moved, init=False)
        # The loop is handed back between the screen's widgets mounted and styled and its
        # data shown, laid out and drawn: a first show was all of it at once (issue 24). Twice
        # (let_loop_run), as every hand-back: keys and timers ready meanwhile go first.
        await let_loop_run()
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
