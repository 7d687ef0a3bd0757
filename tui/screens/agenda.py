"""The agenda: the day, the week, overdue and upcoming actions, with filters; new action;
mark done or cancelled in one key."""

from __future__ import annotations

import datetime as dt

from textual import on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Checkbox, DataTable, Static

from mano_core.errors import NotFoundError
from mano_core.model.records import Action
from tui import format as fmt
from tui.navigation import OpenAction, OpenPerson
from tui.text import cell, plain
from tui.widgets.paged_table import PagedTable
from tui.widgets.toggle import Check
from tui.widgets.select import Select

from .actions_common import (
    action_columns,
    action_row,
    confirm_delete_action,
    open_action_form,
    set_status,
)
from .base import SectionScreen

VIEWS = ("day", "week", "overdue", "upcoming")


class AgendaScreen(SectionScreen):
    section = "agenda"
    BINDINGS = [
        Binding("ctrl+n", "new_action", "key.new_action"),
        Binding("d", "status('FAIT')", "key.done"),
        Binding("x", "status('ANNULEE')", "key.cancel_action"),
        Binding("r", "status('A FAIRE')", "key.reopen", show=False),
        Binding("o", "open_person", "key.open_person"),
        Binding("v", "detail", "key.action_detail", show=False),
        Binding("e", "edit", "key.edit"),
        Binding("ctrl+d", "duplicate", "key.duplicate", show=False),
        Binding("delete", "delete", "key.delete_action", show=False),
        Binding("1", "view('day')", "key.view_day", show=False),
        Binding("2", "view('week')", "key.view_week", show=False),
        Binding("3", "view('overdue')", "key.view_overdue", show=False),
        Binding("4", "view('upcoming')", "key.view_upcoming", show=False),
        Binding("less_than_sign,comma", "move(-1)", "key.previous", show=False),
        Binding("greater_than_sign,full_stop", "move(1)", "key.next", show=False),
        Binding("t", "today", "key.today", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.view = "day"
        self.day = fmt.local(self.mano.now()).date()

    def compose(self) -> ComposeResult:
        return self.framed(self.compose_body())

    def compose_body(self) -> ComposeResult:
        t = self.t
        yield Static("", id="agenda-title", classes="section-title")
        with Horizontal(classes="filters"):
            yield Select(compact=True, options=[(t(f"agenda.view.{v}"), v) for v in VIEWS],
                         value="day", allow_blank=False, id="view")
            yield Select(compact=True, options=[(cell(s.name), s.id)
                                                for s in self.session.subteams()],
                         prompt=t("filter.all_subteams"), id="subteam")
            yield Select(compact=True, options=[(cell(c), c) for c in sorted(
                self.session.team.settings.values("actionCategories"))],
                prompt=t("filter.all_categories"), id="category")
            yield Select(compact=True, options=[(fmt.status(t, s), s)
                                                for s in ("A FAIRE", "FAIT", "ANNULEE")],
                         prompt=t("filter.all_statuses"), id="status")
            yield Check(compact=True, label=t("filter.urgent"), id="urgent")
        yield PagedTable(action_columns(self), lambda a: action_row(self, a), lambda a: a.id,
                         page_size=self.mano.config.page_size,
                         pager_text=lambda a, b, n: t("pager", start=a, end=b, total=n),
                         id="agenda")

    def on_mount(self) -> None:   # then SectionScreen's Mount handler
        self.query_one(PagedTable).focus_table()

    # --- data -----------------------------------------------------------------------------------

    def _range(self) -> tuple[str, list[Action]]:
        t = self.t
        actions = self.session.team.actions
        now = self.mano.now()
        if self.view == "day":
            title = t("agenda.title.day", day=_day_name(t, self.day))
            return title, actions.due_on(self.day, tz=fmt.PARIS)
        if self.view == "week":
            monday = self.day - dt.timedelta(days=self.day.weekday())
            found: list[Action] = []
            for i in range(7):
                found += actions.due_on(monday + dt.timedelta(days=i), tz=fmt.PARIS)
            return t("agenda.title.week", start=fmt.day(monday),
                     end=fmt.day(monday + dt.timedelta(days=6))), found
        if self.view == "overdue":
            return t("agenda.title.overdue"), actions.overdue(now, tz=fmt.PARIS)
        return t("agenda.title.upcoming"), actions.upcoming(now, days=7, tz=fmt.PARIS)

    def reload(self) -> None:
        title, found = self._range()
        sub = self.query_one("#subteam", Select).value
        cat = self.query_one("#category", Select).value
        status = self.query_one("#status", Select).value
        urgent = self.query_one("#urgent", Check).value
        shown = [a for a in found
                 if (sub is Select.NULL or sub in a.teams)
                 and (cat is Select.NULL or cat in a.categories)
                 and (status is Select.NULL or a.status == status)
                 and (not urgent or a.urgent)]
        if self.view == "day":   # what is left to do first, then what is done or cancelled
            shown.sort(key=lambda a: (a.status != "A FAIRE", fmt.local(a.due_at), a.id))
        todo = sum(1 for a in shown if a.status == "A FAIRE")
        self.query_one("#agenda-title", Static).update(
            plain(f"{title} — {self.t('agenda.count', count=len(shown), todo=todo)}"))
        self.query_one(PagedTable).set_items(shown, keep_page=True)

    @on(Select.Changed)
    @on(Checkbox.Changed)
    def _filters(self, event: Select.Changed | Checkbox.Changed) -> None:
        if isinstance(event, Select.Changed) and event.select.id == "view":
            self.view = str(event.value)
        self.reload()

    # --- actions --------------------------------------------------------------------------------

    def action_view(self, view: str) -> None:
        self.query_one("#view", Select).value = view

    def action_move(self, delta: int) -> None:
        step = 7 if self.view == "week" else 1
        self.day += dt.timedelta(days=delta * step)
        if self.view not in ("day", "week"):
            self.action_view("day")
        else:
            self.reload()

    def action_today(self) -> None:
        self.day = fmt.local(self.mano.now()).date()
        self.reload()

    def action_new_action(self) -> None:
        open_action_form(self, day=self.day if self.view == "day" else None)

    @work(group="write")
    async def action_status(self, status: str) -> None:
        await set_status(self, self.query_one(PagedTable).current_key(), status)

    def _current(self) -> Action | None:
        key = self.query_one(PagedTable).current_key()
        try:
            return self.session.team.actions.get(key) if key else None
        except NotFoundError:
            return None

    def action_edit(self) -> None:
        if (a := self._current()) is not None:
            open_action_form(self, action=a)

    def action_duplicate(self) -> None:
        if (a := self._current()) is not None:
            open_action_form(self, action=a, duplicate=True)

    def action_delete(self) -> None:
        confirm_delete_action(self, self.query_one(PagedTable).current_key())

    def action_open_person(self) -> None:
        key = self.query_one(PagedTable).current_key()
        if not key:
            return
        try:
            action = self.session.team.actions.get(key)
        except NotFoundError:
            return
        if action.persons:
            self.post_message(OpenPerson(action.persons[0]))

    def action_detail(self) -> None:
        key = self.query_one(PagedTable).current_key()
        if key:
            self.post_message(OpenAction(key))

    def on_data_table_row_selected(self, _event: DataTable.RowSelected) -> None:
        self.action_open_person()

    def palette_commands(self) -> list[SystemCommand]:
        t = self.t
        return [SystemCommand(t("key.new_action"), t("palette.new_action"),
                              self.action_new_action),
                SystemCommand(t("key.action_detail"), t("palette.action_detail"),
                              self.action_detail),
                *[SystemCommand(t(f"agenda.view.{v}"), t("palette.agenda_view"),
                                lambda v=v: self.action_view(v)) for v in VIEWS]]


def _day_name(t: object, day: dt.date) -> str:
    from tui.i18n import Translator
    assert isinstance(t, Translator)
    return f"{t('weekday.' + str(day.weekday()))} {fmt.day(day)}"
