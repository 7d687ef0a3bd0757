"""Persons followed: a searchable, filterable, paged list, and the person form."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Checkbox, Input, Select

from mano_core.model.records import GENDERS, Person
from tui import format as fmt
from tui.people_index import ACTIVE, ALL, OUT, PersonQuery
from tui.navigation import OpenPerson
from tui.text import Visible, cell, cells
from tui.widgets.forms import Field, FieldError, FormScreen
from tui.widgets.paged_table import PagedTable
from tui.widgets.toggle import Check

from .base import ManoScreen, SectionScreen


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
        self.run_query(self.query_state(), keep_page=True)

    @on(Input.Changed, "#search")
    @on(Select.Changed)
    @on(Checkbox.Changed)
    def _filters_changed(self) -> None:
        self.run_query(self.query_state())

    @on(Input.Submitted, "#search")
    def _search_done(self) -> None:
        self.action_focus_table()

    @work(exclusive=True, thread=True, group="persons-query")
    def run_query(self, q: PersonQuery, keep_page: bool = False) -> None:
        found = self.mano.persons_index.query(q)  # plain records: safe off the UI thread
        self.app.call_from_thread(self._show, found, keep_page)

    def _show(self, found: list[Person], keep_page: bool) -> None:
        self.query_one(PagedTable).set_items(found, keep_page=keep_page)

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


def person_fields(screen: ManoScreen, person: Person | None = None) -> list[Field]:
    t = screen.t
    subs = [(s.name, s.id) for s in screen.session.subteams()]
    default_team = (person.assigned_teams[0] if person and person.assigned_teams
                    else screen.session.subteam)
    return [
        Field("name", t("field.name"), value=person.name if person else "", wire=("name",)),
        Field("other_names", t("field.aliases"), placeholder=t("field.aliases_hint"),
              value=", ".join(person.other_names) if person else "", wire=("otherNames",)),
        Field("birthdate", t("field.birthdate"), placeholder=t("field.date_hint"),
              value=fmt.day(person.birthdate) if person else "", wire=("birthdate",)),
        Field("gender", t("field.gender"), kind="select",
              options=[(g, g) for g in GENDERS], value=person.gender if person else None,
              wire=("gender",)),
        Field("phone", t("field.phone"), value=person.phone if person else "",
              wire=("phone",)),
        Field("subteam", t("field.subteam"), kind="select", options=subs,
              value=default_team, wire=("assignedTeams",)),
        Field("alertness", t("field.vulnerable"), kind="check",
              value=person.alertness if person else False, wire=("alertness",)),
        Field("description", t("field.description"), kind="area",
              value=person.description if person else "", wire=("description",)),
    ]


def parse_optional_day(value: str, field: str, t: Any) -> dt.date | None:
    if not value.strip():
        return None
    try:
        return fmt.parse_day(value)
    except ValueError:
        raise FieldError(field, t("error.date")) from None


def open_person_form(screen: ManoScreen, person: Person | None = None,
                     then_open: bool = True) -> None:
    """The person form (new, or edit ``person``); a new person's file opens once saved."""
    t = screen.t
    team = screen.session.team

    async def submit(v: dict[str, Any]) -> Person:
        changes: dict[str, Any] = {
            "name": v["name"].strip(),
            "other_names": [a.strip() for a in v["other_names"].split(",") if a.strip()],
            "birthdate": parse_optional_day(v["birthdate"], "birthdate", t),
            "gender": v["gender"],
            "phone": v["phone"].strip(),
            "alertness": v["alertness"],
            "description": v["description"],
            "assigned_teams": [v["subteam"]] if v["subteam"] else [],
        }
        if person is None:
            return await team.persons.create(**changes, followed_since=screen.mano.now().date())
        changed = {k: val for k, val in changes.items() if getattr(person, k) != val}
        return await team.persons.update(person.id, **changed) if changed else person

    def done(result: Person | None) -> None:
        if result is not None:
            screen.mano.say(t("persons.saved", name=result.name))
            if person is None and then_open:
                screen.post_message(OpenPerson(result.id))

    screen.app.push_screen(
        FormScreen(t("persons.new") if person is None else t("persons.edit", name=person.name),
                   person_fields(screen, person), submit, save_label=t("form.save"),
                   cancel_label=t("form.cancel"),
                   field_error=lambda f, m: t("form.field_error", field=f, message=m)),
        done)
