"""Persons followed: a searchable, filterable, paged list, and the person form.

The search runs once typing pauses (``SEARCH_PAUSE``; Enter at once): every key shows in the
field at once, and the list is searched (in a worker thread) and drawn once for the name
typed, not once per letter (a search and a redraw of the list per key, 40–80 ms of the UI
loop each, issue 24). A filter chosen searches at once; the last search asked is the one
shown."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal
from textual.css.query import NoMatches
from textual.timer import Timer
from textual.widgets import Checkbox, Input, Static

from mano_core.model.records import Person
from tui import format as fmt
from tui.people_index import ACTIVE, ALL, OUT, PersonQuery
from tui.navigation import OpenPerson
from tui.text import Visible, cell, cells
from tui.records.build import form_fields, record_changes
from tui.records.spec import PERSON_SPEC
from tui.widgets.forms import FormScreen
from tui.widgets.paged_table import PagedTable
from tui.widgets.toggle import Check
from tui.widgets.select import Select

from .base import ManoScreen, SectionScreen

SEARCH_PAUSE = 0.25   # seconds without a key typed in the search before the list is searched


class PersonsScreen(SectionScreen):
    section = "persons"
    BINDINGS = [
        # Letters typed on the list go to the search field (tui.widgets.paged_table): the
        # commands are on keys that cannot be part of a name.
        Binding("ctrl+n", "new_person", "key.new_person"),
        Binding("slash", "search", "key.search"),
        Binding("enter", "open_person", "key.open", show=False),
        Binding("escape", "focus_table", "key.to_list", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._search_timer: Timer | None = None   # a search waiting for typing to pause
        self._queries = 0                          # searches asked so far
        self._asked: PersonQuery | None = None     # the last one (what the list shows)

    def compose(self) -> ComposeResult:
        return self.framed(self.compose_body())

    def compose_body(self) -> ComposeResult:
        t = self.t
        with Horizontal(classes="filters"):
            yield Input(compact=True, placeholder=t("persons.search"), id="search",
                        highlighter=Visible(), select_on_focus=False)
            yield Select(compact=True, options=[(t("persons.status.active"), ACTIVE),
                                                (t("persons.status.out"), OUT),
                                                (t("persons.status.all"), ALL)],
                         value=ACTIVE, allow_blank=False, id="status")
            yield Select(compact=True, options=[(cell(s.name), s.id)
                                                for s in self.session.subteams()],
                         prompt=t("filter.all_subteams"), id="subteam")
            yield Check(compact=True, label=t("persons.vulnerable_only"), id="vulnerable")
        yield Static("", id="hidden-by-filters", classes="hidden-note")
        yield PagedTable(
            [t("col.name"), t("col.aliases"), t("col.birthdate"), t("col.flags"),
             t("col.subteams")],
            self._row, lambda p: p.id, page_size=self.mano.config.page_size,
            pager_text=lambda a, b, n: t("pager", start=a, end=b, total=n), id="persons",
            search="#search")

    def _row(self, p: Person) -> tuple[Text, ...]:
        t = self.t
        flags = " ".join(x for x in (fmt.flag(t, p.alertness, "flag.vulnerable"),
                                     fmt.flag(t, p.out_of_active_list, "flag.out")) if x)
        teams = ", ".join(self.session.subteam_name(s) for s in p.assigned_teams)
        return cells(p.name, ", ".join(p.other_names), fmt.day(p.birthdate), flags, teams)

    def query_state(self) -> PersonQuery:
        sub = self.query_one("#subteam", Select).value
        return PersonQuery(text=self.query_one("#search", Input).value,
                           status=str(self.query_one("#status", Select).value),
                           subteam=None if sub is Select.NULL else str(sub),
                           vulnerable=self.query_one("#vulnerable", Check).value)

    def reload(self) -> None:
        # The team's data moved (a teammate's edit, a record saved): the list is searched again
        # as it stands, for the search last asked, not for letters typed since whose pause has
        # not come (the list jumped to a half-typed name's results as she typed).
        self.run_query(self._asked or self.query_state(), keep_page=True)

    @on(Input.Changed, "#search")
    def _search_typed(self) -> None:
        # Each key restarts the wait: the list is searched and drawn once typing pauses (a
        # search and a redraw of the list per key kept the screen busy while she typed).
        self._stop_waiting()
        self._search_timer = self.set_timer(SEARCH_PAUSE, self._search_now)

    @on(Select.Changed)
    @on(Checkbox.Changed)
    def _search_now(self) -> None:
        self._stop_waiting()
        self.run_query(self.query_state())

    def _stop_waiting(self) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
            self._search_timer = None

    @on(Input.Submitted, "#search")
    def _search_done(self) -> None:
        if self._search_timer is not None:   # Enter searches what is typed, without waiting
            self._search_now()
        self.action_focus_table()

    def run_query(self, q: PersonQuery, keep_page: bool = False) -> None:
        """Search ``q`` in a worker thread; of several searches under way, the list shows
        the one asked last (an older one's result arriving later is dropped)."""
        self._queries += 1
        self._asked = q
        self._query_in_thread(q, keep_page, self._queries)

    @work(exclusive=True, thread=True, group="persons-query")
    def _query_in_thread(self, q: PersonQuery, keep_page: bool, asked: int) -> None:
        # plain records: safe off the UI thread
        found, hidden = self.mano.persons_index.search(q)
        self.app.call_from_thread(self._show, found, hidden, keep_page, asked)

    def _show(self, found: list[Person], hidden: int, keep_page: bool, asked: int) -> None:
        if asked != self._queries:
            return   # a newer search was asked: its result is the one to show
        try:
            self.query_one(PagedTable).set_items(found, keep_page=keep_page)
            note = self.query_one("#hidden-by-filters", Static)
        except NoMatches:
            # The result came back as the screen is taken down (the app quits, Ctrl+Q during a
            # search): its parts are being removed and there is nothing left to draw. Before,
            # the search's worker failed on the missing part and the app closed on a crash.
            return
        # a search that the filters narrow says so: the person looked for may be out of the
        # active list, in another team or not flagged vulnerable
        note.update(self.t("persons.hidden", count=hidden) if hidden else "")
        note.display = bool(hidden)

    # --- actions --------------------------------------------------------------------------------

    def action_search(self) -> None:
        self.query_one("#search", Input).focus()

    def action_focus_table(self) -> None:
        self.query_one(PagedTable).focus_table()

    def action_cycle_status(self) -> None:
        select = self.query_one("#status", Select)
        order = [ACTIVE, OUT, ALL]
        select.value = order[(order.index(str(select.value)) + 1) % 3]

    def action_toggle_vulnerable(self) -> None:
        box = self.query_one("#vulnerable", Check)
        box.value = not box.value

    def action_open_person(self) -> None:
        key = self.query_one(PagedTable).current_key()
        if key:
            self.post_message(OpenPerson(key))

    def on_data_table_row_selected(self, _event: Any) -> None:
        self.action_open_person()

    def action_new_person(self) -> None:
        open_person_form(self)

    def palette_commands(self) -> list[SystemCommand]:
        t = self.t
        return [SystemCommand(t("key.new_person"), t("palette.new_person"),
                              self.action_new_person),
                SystemCommand(t("key.active_filter"), t("palette.cycle_status"),
                              self.action_cycle_status),
                SystemCommand(t("key.vulnerable_filter"), t("palette.vulnerable"),
                              self.action_toggle_vulnerable)]


def open_person_form(screen: ManoScreen, person: Person | None = None,
                     then_open: bool = True) -> None:
    """The person form (new, or edit ``person``), made from the person spec and the team's
    custom fields; a new person's file opens once saved. Every assigned sub-team is kept."""
    t = screen.t
    session = screen.session
    team = session.team
    today = fmt.local(screen.mano.now()).date()
    fields = form_fields(PERSON_SPEC, session, t, person, defaults={
        "followedSince": today,
        "assignedTeams": [session.subteam] if session.subteam else []})

    async def submit(v: dict[str, Any]) -> Person:
        changes = record_changes(PERSON_SPEC, v, person)
        if person is None:
            return await team.persons.create(**changes)
        return await team.persons.update(person.id, **changes) if changes else person

    def done(result: Person | None) -> None:
        if result is not None:
            screen.mano.say(t("persons.saved", name=result.name))
            if person is None and then_open:
                screen.post_message(OpenPerson(result.id))

    screen.app.push_screen(
        FormScreen(t("persons.new") if person is None else t("persons.edit", name=person.name),
                   fields, submit, save_label=t("form.save"), cancel_label=t("form.cancel"),
                   field_error=lambda f, m: t("form.field_error", field=f, message=m)),
        done)
