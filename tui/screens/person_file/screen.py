"""A person's file: one tab per record family (``tab.TABS``), the medical one on health
professionals' devices only. The file binds the keys once and hands each to the current tab
(``PersonTab.commands``): ``n`` makes a record of the tab's kind, Enter opens the one under the
cursor, Suppr deletes it. Anywhere in the file: ``e`` the person form, ``o`` out of the active
list (or back in), ``c`` a comment, ``p`` passages, ``a`` an action; digits pick a tab."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import events, on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.widgets import DataTable, Static, TabbedContent, TabPane

from mano_core import sharing
from mano_core.errors import ManoError, NotFoundError
from mano_core.model.records import Person
from tui import format as fmt
from tui.erasure_view import count_lines
from tui.navigation import EditPerson
from tui.i18n import error_text
from tui.text import plain, styled
from tui.widgets.confirm import ConfirmScreen
from tui.widgets.footer import TranslatedFooter
from tui.widgets.sync_bar import SyncBar

from ..actions_common import open_action_form
from ..base import ManoScreen
from .tab import TABS, PersonTab

MAX_TAB_KEYS = 9
WIDE = 100  # columns from which tab titles carry their number key

# the file's commands a tab may answer (PersonTab.commands), with the key that runs them
TAB_COMMANDS = ("new", "open", "delete")


class PersonFileScreen(ManoScreen):
    """Opened from the persons list, the agenda or the urgent items; Escape goes back."""

    BINDINGS = [
        Binding("escape", "back", "key.back"),
        Binding("e", "edit", "key.edit"),
        Binding("n", "tab_command('new')", "key.new_record"),
        Binding("c", "new_comment", "key.new_comment"),
        Binding("p", "new_passage", "key.new_passage"),
        Binding("a", "new_action", "key.new_action"),
        Binding("o", "out_of_list", "key.out_of_list"),
        Binding("delete", "tab_command('delete')", "key.delete_record"),
        Binding("d", "status('FAIT')", "key.done"),
        Binding("x", "status('ANNULEE')", "key.cancel_action", show=False),
        Binding("r", "status('A FAIRE')", "key.reopen", show=False),
        Binding("u", "urgent", "key.urgent_comment", show=False),
        Binding("E", "erase", "key.erase", show=False),
        *[Binding(str(i + 1), f"tab_number({i})", "key.tab", show=False)
          for i in range(MAX_TAB_KEYS)],
    ]

    AUTO_FOCUS = "Tabs"

    def __init__(self, person_id: str) -> None:
        super().__init__(classes="person-file")
        self.person_id = person_id

    @property
    def person(self) -> Person:
        return self.session.team.persons.get(self.person_id, include_deleted=True)

    def tabs(self) -> list[type[PersonTab]]:
        medical = self.session.team.medical is not None
        return [tab for tab in TABS if medical or not tab.medical]

    def compose(self) -> ComposeResult:
        yield Static("", id="file-title", classes="file-title")
        yield Static("", id="viewers", classes="viewers")
        wide = self.app.size.width >= WIDE
        with TabbedContent(id="tabs"):
            for i, tab in enumerate(self.tabs()):
                with TabPane(self._title(i, tab.name, wide=wide), id=f"tab-{tab.name}"):
                    yield tab()
        yield SyncBar()
        yield TranslatedFooter()

    def on_mount(self) -> None:
        self.watch(self.app, "data_version", lambda _v: self.reload(), init=False)
        self.watch(self.app, "sync_version", lambda _v: self._viewers(), init=False)
        if self.session.sync is not None:
            self.session.sync.set_viewing(self.person_id)
        self.reload()
        self._viewers()

    def on_unmount(self) -> None:
        session = self.mano.session
        if session is not None and session.sync is not None:
            session.sync.set_viewing(None)

    def on_screen_resume(self) -> None:
        session = self.mano.session
        if session is not None and session.sync is not None:
            session.sync.set_viewing(self.person_id)

    # --- drawing --------------------------------------------------------------------------------

    def _title(self, index: int, name: str, *, wide: bool) -> str:
        """A tab's title: with its number key when there is room (80 columns hold the
        titles alone; the help screen and the footer say that digits pick a tab)."""
        title = self.t(f"file.tab.{name}")
        if not wide:  # a short title where the catalog has one, for 80 columns
            return self.t.get(f"file.tab_short.{name}", title)
        return f"{index + 1} {title}" if index < MAX_TAB_KEYS else title

    def on_resize(self, event: events.Resize) -> None:
        wide = event.size.width >= WIDE
        tabs = self.query_one("#tabs", TabbedContent)
        for i, tab in enumerate(self.tabs()):
            tabs.get_tab(f"tab-{tab.name}").label = self._title(i, tab.name, wide=wide)

    def _viewers(self) -> None:
        sync = self.session.sync
        label = self.query_one("#viewers", Static)
        names = sorted({self.session.member_name(m.member, self.t)
                        for m in sync.state.viewing(self.person_id)}) if sync else []
        label.update(plain(self.t("file.also_open", names=", ".join(names))) if names else "")
        label.display = bool(names)  # the line is left to the tabs when nobody else is here

    def reload(self) -> None:
        try:
            p = self.person
        except NotFoundError:
            self.app.pop_screen()
            return
        t = self.t
        flags = [fmt.flag(t, p.alertness, "flag.vulnerable"),
                 fmt.flag(t, p.out_of_active_list, "flag.out"),
                 fmt.flag(t, p.deleted, "flag.deleted")]
        aliases = f" ({', '.join(p.other_names)})" if p.other_names else ""
        self.query_one("#file-title", Static).update(
            styled((p.name, "bold"), aliases, "  ", "  ".join(f for f in flags if f)))
        for tab in self.query(PersonTab):
            tab.reload(p)

    # --- the current tab and its commands ---------------------------------------------------------

    def tab(self, name: str) -> PersonTab | None:
        found = self.query(f"#{name}-tab")
        return found.first(PersonTab) if found else None

    @property
    def current_tab(self) -> PersonTab | None:
        active = self.query_one("#tabs", TabbedContent).active
        return self.tab(active.removeprefix("tab-")) if active else None

    def _command(self, name: str) -> Callable[[], Any] | None:
        tab = self.current_tab
        return tab.commands().get(name) if tab is not None else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "tab_command":
            return self._command(str(parameters[0])) is not None
        if action == "erase":  # admins only: hidden from the footer elsewhere
            return self.mano.session is not None and self.session.team.erasures.can_order(
                [self.person_id], "request")
        return True

    @on(TabbedContent.TabActivated, "#tabs")
    def _tab_moved(self) -> None:
        self.refresh_bindings()

    async def action_tab_command(self, name: str) -> None:
        command = self._command(name)
        if command is not None:
            result = command()
            if hasattr(result, "__await__"):
                await result

    @on(DataTable.RowSelected)
    async def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        await self.action_tab_command("open")

    @work(group="write")
    async def action_status(self, status: str) -> None:
        """The action under the cursor of the actions tab (shown first) done, cancelled or
        to do again."""
        tab = self.tab("actions")
        if tab is not None:
            self.action_tab("actions")
            status_of = tab.commands()["status"]
            await status_of(status)  # type: ignore[call-arg]

    @work(group="write")
    async def action_urgent(self) -> None:
        """The comment under the cursor of the comments tab (shown first) urgent or not."""
        tab = self.tab("comments")
        if tab is not None:
            self.action_tab("comments")
            await tab.commands()["urgent"]()

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_tab(self, name: str) -> None:
        if self.query(f"#tab-{name}"):
            self.query_one("#tabs", TabbedContent).active = f"tab-{name}"

    def action_tab_number(self, index: int) -> None:
        tabs = self.tabs()
        if index < len(tabs):
            self.action_tab(tabs[index].name)

    def _run(self, tab_name: str, command: str) -> None:
        tab = self.tab(tab_name)
        if tab is not None:
            self.action_tab(tab_name)
            tab.commands()[command]()

    def action_edit(self) -> None:
        self.post_message(EditPerson(self.person_id))

    def action_out_of_list(self) -> None:
        self._run("summary", "out")

    def action_new_comment(self) -> None:
        self._run("comments", "new")

    def action_new_passage(self) -> None:
        from .visits import open_passage_form
        self.action_tab("visits")
        open_passage_form(self, self.person)

    def action_new_action(self) -> None:
        open_action_form(self, person=self.person)

    @work(group="write", exclusive=True)
    async def action_erase(self) -> None:
        """Erase the person for good, after a confirmation showing what goes."""
        t = self.t
        team = self.session.team
        try:
            person = self.person
        except NotFoundError:
            return
        if not team.erasures.can_order([person.id], "request"):
            self.mano.say(t("erase.forbidden"), error=True)
            return
        counts = team.erasures.preview([person.id])
        # Copies shared into joint teams are erased first (the partners must erase them too).
        device = self.session.device
        held = {info.id for info in await device.teams()}
        shared = sharing.shared_consents(team, person.id)
        joints = {c.joint_team: await device.open_team(c.joint_team)
                  for c in shared if c.joint_team in held}
        notes = [t("erase.shared" if c.joint_team in joints else "erase.shared_missing",
                   partner=c.partner_organisation) for c in shared]
        confirmed = await self.app.push_screen_wait(ConfirmScreen(
            t("erase.title", name=person.name),
            [t("erase.counts"), *count_lines(t, counts), *notes, "", t("erase.irreversible")],
            confirm_label=t("erase.confirm"), cancel_label=t("erase.cancel")))
        if not confirmed:
            return
        try:
            await sharing.erase_person(team, person.id, joints=joints)
        except ManoError as exc:
            self.mano.say(error_text(t, exc), error=True)
            return
        self.mano.say(t("erase.done", name=person.name))
        if self.is_current:
            self.app.pop_screen()  # back to the list the file was opened from

    def palette_commands(self) -> list[SystemCommand]:
        t = self.t
        return [SystemCommand(t("key.new_comment"), t("palette.new_comment"),
                              self.action_new_comment),
                SystemCommand(t("key.new_passage"), t("palette.new_passage"),
                              self.action_new_passage),
                SystemCommand(t("key.new_action"), t("palette.new_action"),
                              self.action_new_action),
                SystemCommand(t("key.out_of_list"), t("palette.out_of_list"),
                              self.action_out_of_list),
                SystemCommand(t("key.edit"), t("palette.edit_person"), self.action_edit),
                *([SystemCommand(t("key.erase"), t("palette.erase"), self.action_erase)]
                  if self.check_action("erase", ()) else [])]
