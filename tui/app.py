"""The Textual app. ``make_app()`` is the one factory used by the command line, the demo,
the Pilot tests and the snapshot tests.

Everything of the engine runs on the app's event loop (the same loop as Textual): writes are
awaited in workers, reads are served from memory, decoded at open in slices that hand the
loop back (``Team.load``, under the opening screen). The person index is built and queried in
thread workers, and statistics computed in one (mano_core.reporting.offloop), which never
touch a pycrdt object."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any, cast

from textual.app import App, ScreenError, SystemCommand
from textual.binding import Binding
from textual.command import CommandPalette
from textual.reactive import reactive
from textual.screen import Screen

from mano_core.device import Device
from mano_core.document.team_doc import ChangeEvent
from mano_core.errors import ManoError
from mano_core.heap import bulk_decoding
from mano_core.model.records import Person

from . import crash
from .collector import FullCollections
from .i18n import Translator, error_text, key_name
from .idle_lock import IdleLock
from .navigation import EditPerson, OpenAction, OpenExchange, OpenPerson, OpenSection
from .palette import ManoCommands
from .index_feed import IndexFeed
from .people_index import PersonIndex
from .sections import MODES_GROUP
from .stylesheet import MemoStylesheet
from .session import Config, Session, load_pref, save_pref, start_sync
from .text import clean
from .widgets.nav import SECTIONS

UNDO_SECONDS = 10.0     # how long a consequential key's change can be taken back (Ctrl+Z)
CHANGE_DEBOUNCE = 0.25   # seconds: a burst of teammates' updates redraws once
SYNC_DEBOUNCE = 0.2


class ManoApp(IdleLock):
    """Mano's terminal client."""

    CSS_PATH = "mano.tcss"
    TITLE = "Mano"
    ENABLE_COMMAND_PALETTE = True
    COMMANDS = {ManoCommands}   # ours only: the app's commands, and "no match" in French
    BINDINGS = [
        Binding("f1,question_mark", "help", "key.help"),
        Binding("f2", "section('agenda')", "key.agenda", show=False),
        Binding("f3", "section('persons')", "key.persons", show=False),
        Binding("f4", "section('structures')", "key.structures", show=False),
        Binding("f5", "section('territories')", "key.territories", show=False),
        Binding("f6", "section('report')", "key.report", show=False),
        Binding("f7", "section('stats')", "key.stats", show=False),
        Binding("f8", "section('urgent')", "key.urgent", show=False),
        Binding("f9", "section('settings')", "key.settings", show=False),
        Binding("f12", "switch_language", "key.language", show=False),
        Binding("ctrl+q", "quit", "key.quit", priority=True),
        Binding("ctrl+z", "undo", "key.undo", show=False),
        Binding("ctrl+l", "lock", "key.lock", show=False),
        # Textual adds its own ctrl+p unless the app binds the palette itself: bound here so
        # that its description is ours (translated); the footer shows it at its right end.
        Binding("ctrl+p", "command_palette", "key.palette", show=False, priority=True),
    ]

    data_version: reactive[int] = reactive(0, init=False)
    sync_version: reactive[int] = reactive(0, init=False)

    def __init__(self, config: Config) -> None:
        self.config = config
        self.t = Translator(config.lang)
        super().__init__(config.idle_clock)
        # Parsed once, not again for each screen shown the first time (tui/stylesheet.py).
        self.stylesheet: MemoStylesheet = MemoStylesheet(variables=self.get_css_variables())
        self._css_refreshed_with: dict[str, str] | None = None
        self.session: Session | None = None
        self.persons_index = PersonIndex()
        # A delivery's persons reach the index in slices (tui/index_feed.py).
        self.persons_feed = IndexFeed(lambda: self.persons_index)
        self.changed: set[str] = set()
        self._change_timer: Any = None
        self._sync_timer: Any = None
        self.crash_report: Path | None = None   # set when the app stopped on an error
        self._undo: tuple[Callable[[], Awaitable[object]], float] | None = None
        # Python's full collections run where the loop is not busy (tui/collector.py).
        self.full_collections = FullCollections()

    # --- time -----------------------------------------------------------------------------------

    def now(self) -> dt.datetime:
        clock = self.config.clock
        return clock() if clock is not None else dt.datetime.now(dt.UTC)

    # --- start ----------------------------------------------------------------------------------

    def refresh_css(self, animate: bool = True) -> None:
        """Textual calls this whenever a screen is shown for the first time, and restyles
        every widget of every screen mounted (the agenda's table included: tens of ms on the
        UI loop, issue 24). With the CSS variables of the last refresh the rules are the same
        (a widget's default CSS, added when first mounted, is scoped to it and applied to it
        then): there is nothing to restyle. The first call (the first section shown) finds
        the rules the launch parsed, with which every widget mounted so far was styled. A
        change of variables (a theme) restyles all."""
        variables = self.get_css_variables()
        if variables in (self._css_refreshed_with, self.stylesheet.parsed_with):
            with contextlib.suppress(ScreenError):
                if self.screen.is_mounted:  # laid out now, as Textual does here
                    self.screen._refresh_layout(self.size)
            return
        super().refresh_css(animate)
        self._css_refreshed_with = variables

    def on_mount(self) -> None:
        from .screens.start import DemoLoadingScreen, FirstRunScreen, UnlockScreen
        self.full_collections.start()
        self.title = self.t("app.title")
        if self.config.demo_steps is not None:
            self.push_screen(DemoLoadingScreen())
        elif Path(self.config.store).exists():
            self.push_screen(UnlockScreen())
        else:
            self.push_screen(FirstRunScreen())

    async def open_session(self, device: Device, team_id: str | None = None) -> None:
        """Open the device's team (the first, or ``team_id``), start syncing, show the agenda.
        Runs in a worker of the calling screen."""
        teams = await device.teams()
        if not teams:
            from .screens.start import FirstRunScreen
            await self.push_screen(FirstRunScreen(device=device))
            return
        info = next((i for i in teams if i.id == team_id), teams[0])
        lang = self.config.lang or await load_pref(device, "lang")
        if lang and lang != self.t.lang:
            self.t = Translator(lang)
        from .screens.opening import OpeningScreen
        opening = OpeningScreen(info.name)
        await self.push_screen(opening)
        team = await device.open_team(info.id)
        # Every record is decoded before the first screen, in slices that hand the loop back
        # (the opening screen counts them): the sections then read from memory.
        await team.load(progress=opening.progress)
        team.guarded.start()  # the index teammates' updates are screened with, off the loop
        relay = self.config.relay or await load_pref(device, "relay")
        if self.config.relay:
            await save_pref(device, "relay", self.config.relay)
        session = Session(device=device, team=team, relay=relay)
        subs = session.subteams()
        saved = await load_pref(device, "subteam")
        session.subteam = saved if saved in {s.id for s in subs} else (subs[0].id if subs else None)
        # Folding 30,000 names is pure Python over frozen records: a thread, not the loop; its
        # entries are kept, frozen with the records (mano_core.heap: no full collection later
        # walks them, which paused the first search by ~0.1 s).
        with bulk_decoding():
            self.persons_index = await asyncio.to_thread(PersonIndex, team.persons.list())
        session.unsubscribe.append(team.subscribe(self._on_change))
        self.session = session
        await start_sync(session)
        if session.sync is not None:
            session.unsubscribe.append(session.sync.subscribe(lambda _s: self._sync_changed()))
        self.set_interval(5.0, self._sync_changed)  # "last sync 20 s ago", expired presence
        await self.start_idle_watch()
        await self._install_sections()
        await self.switch_mode("agenda")

    async def on_unmount(self) -> None:
        self.persons_feed.cancel()
        try:
            if self.session is not None:
                session, self.session = self.session, None
                await session.close()
        finally:
            self.full_collections.stop()

    # --- change notifications -------------------------------------------------------------------

    def _on_change(self, event: ChangeEvent) -> None:
        self.changed.add(event.collection)
        if event.collection == "persons" and self.session is not None:
            # The records as announced (committed), put in the index in slices.
            coll = self.session.team.persons
            found: list[Person | str] = []
            for pid in event.ids:
                try:
                    found.append(coll.get(pid, include_deleted=True))
                except KeyError:
                    found.append(pid)   # gone (erased): out of the index
            self.persons_feed.push(found)
        if self._change_timer is None:
            self._change_timer = self.set_timer(CHANGE_DEBOUNCE, self._flush_changes)

    def _flush_changes(self) -> None:
        if self.persons_feed.busy:   # redrawn once the index holds every announced person
            self.persons_feed.when_idle(self._flush_changes)
            return
        self._change_timer = None
        self.data_version += 1

    def take_changes(self) -> set[str]:
        return set(self.changed)

    def _sync_changed(self) -> None:
        if self._sync_timer is None:
            self._sync_timer = self.set_timer(SYNC_DEBOUNCE, self._flush_sync)

    def _flush_sync(self) -> None:
        self._sync_timer = None
        self.sync_version += 1


    def action_help_quit(self) -> None:
        """Ctrl+C (Textual's binding) says how to quit, in the interface's language (Textual's
        own notice is English)."""
        for active in self.active_bindings.values():
            if active.binding.action in ("quit", "app.quit"):
                self.notify(self.t("notice.quit_hint", keys=self.get_key_display(active.binding)),
                            title=self.t("notice.quit_title"), markup=False)
                return

    # --- navigation: screens post these messages, the app moves ----------------------------------

    def on_open_person(self, message: OpenPerson) -> None:
        from .screens.person_file import PersonFileScreen
        message.stop()
        if self.session is not None:
            self.push_screen(PersonFileScreen(message.person_id))

    def on_edit_person(self, message: EditPerson) -> None:
        from .screens.persons import open_person_form
        message.stop()
        if self.session is None:
            return
        person = None
        if message.person_id is not None:
            try:
                person = self.session.team.persons.get(message.person_id)
            except KeyError:
                return
        from .screens.base import ManoScreen
        if isinstance(self.screen, ManoScreen):
            open_person_form(self.screen, person, then_open=message.then_open)

    def on_open_action(self, message: OpenAction) -> None:
        from .screens.actions_common import ActionDetailScreen
        message.stop()
        if self.session is not None:
            self.push_screen(ActionDetailScreen(message.action_id))

    def on_open_exchange(self, message: OpenExchange) -> None:
        from .screens.exchange import ExchangeScreen
        message.stop()
        if self.session is not None and not isinstance(self.screen, ExchangeScreen):
            self.push_screen(ExchangeScreen())

    async def on_open_section(self, message: OpenSection) -> None:
        message.stop()
        await self.action_section(message.section)

    # --- actions --------------------------------------------------------------------------------

    async def action_section(self, name: str) -> None:
        if self.session is None:
            return
        await self.switch_mode(name)

    def action_help(self) -> None:
        from .screens.help import HelpScreen
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_command_palette(self) -> None:
        """Textual's palette, with its search field's placeholder in the interface's language
        (Textual's own action shows an English one)."""
        if self.use_command_palette and not CommandPalette.is_open(cast("App[object]", self)):
            self.push_screen(CommandPalette(id="--command-palette",
                                            placeholder=self.t("palette.placeholder")))

    async def action_quit(self) -> None:
        """Quit, once every unsaved text was saved or dropped (the person may choose to stay)."""
        async def leave() -> None:
            if await self.settle_unsaved():
                self.exit()
        self.run_worker(leave(), group=MODES_GROUP, exclusive=True)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        t = self.t
        if self.session is not None:
            for name, key in SECTIONS:
                yield SystemCommand(f"{t('section.' + name)} ({key.upper()})",
                                    t("palette.open_section"),
                                    lambda n=name: self.run_worker(self.action_section(n)))
            yield SystemCommand(t("key.exchange"), t("palette.exchange"),
                                lambda: self.post_message(OpenExchange()))
        yield from getattr(screen, "palette_commands", lambda: [])()
        yield SystemCommand(t("key.language"), t("palette.language"),
                            self.action_switch_language)
        yield SystemCommand(t("key.help"), t("palette.help"), self.action_help)
        yield SystemCommand(t("key.quit"), t("palette.quit"),
                            lambda: self.run_worker(self.action_quit()))

    def offer_undo(self, message: str, undo: Callable[[], Awaitable[object]]) -> None:
        """Say what a single key just changed, with how to take it back: Ctrl+Z within
        ``UNDO_SECONDS`` runs ``undo`` (only the last change can be taken back)."""
        self._undo = (undo, time.monotonic() + UNDO_SECONDS)
        self.notify(clean(f"{message} {self.t('undo.hint', seconds=int(UNDO_SECONDS))}"),
                    timeout=UNDO_SECONDS, markup=False)

    async def action_undo(self) -> None:
        pending, self._undo = self._undo, None
        if pending is None or time.monotonic() > pending[1]:
            self.say(self.t("undo.nothing"))
            return
        try:
            await pending[0]()
        except ManoError as exc:
            self.say(self.error_text(exc), error=True)
            return
        self.say(self.t("undo.done"))

    def _handle_exception(self, error: Exception) -> None:
        # Textual's handler prints the traceback with its local variables (decrypted names,
        # comments) to the terminal. It has no public hook for this (Textualize/textual#5931),
        # so this override: a redacted report to a 0600 file, and one sentence on screen.
        # Headless runs (Pilot tests) keep Textual's handling, which re-raises in the test.
        if self.is_headless:
            super()._handle_exception(error)
            return
        try:
            self.crash_report = crash.write_report(error)
            text = crash.message(self.t, self.crash_report)
        except OSError as exc:
            text = crash.message(self.t, Path(f"({type(exc).__name__})"))
        super()._handle_exception(crash.Crashed(text))

    def get_key_display(self, binding: Binding) -> str:
        """A bound key as the footer, the help and the notices show it, named in the
        interface's language (``Échap Retour``, ``Suppr Supprimer``; Textual's own names are
        English: ``esc``, ``del``)."""
        modifiers, key = binding.parse_key()
        name = None if binding.key_display or modifiers else key_name(self.t, key)
        return super().get_key_display(binding) if name is None else name

    def error_text(self, exc: BaseException) -> str:
        """An engine error in the interface's language (``tui.i18n.error_text``)."""
        return error_text(self.t, exc)

    def say(self, message: str, *, error: bool = False) -> None:
        """A short notice in the corner (errors carry a title word, not only a colour).
        The message is literal text: it often carries a name or a teammate's words."""
        self.notify(clean(message), severity="error" if error else "information",
                    title=self.t("notice.error") if error else "", markup=False)


def make_app(store: str | Path, *, relay: str | None = None, lang: str | None = None,
             **options: Any) -> ManoApp:
    """The app for the store at ``store`` (created on first run).

    ``options`` are the other ``Config`` fields: ``kdf`` (tests: a weak one),
    ``passphrase`` (unlock at once), ``clock`` (a fixed now), ``page_size``, ``demo_steps``."""
    # Imported here, before the app's loop runs: importing the screens (Textual widgets,
    # Babel, the record forms) takes a few hundred ms that would otherwise stall the loop
    # the first time a screen is shown.
    from . import screens  # noqa: F401
    from .screens import opening, person_file, start  # noqa: F401

    return ManoApp(Config(store=Path(store), relay=relay, lang=lang, **options))
