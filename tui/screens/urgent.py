"""Urgent items: urgent actions still to do, the longest overdue first, then urgent comments,
newest first. An action without a time shows its day only."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from mano_core.errors import NotFoundError
from tui import format as fmt
from tui.day_items import comment_on
from tui.navigation import OpenAction, OpenPerson
from tui.text import LONG_CELL_LIMIT, cell, plain
from tui.widgets.fit import last_column_width
from tui.widgets.table import LiteralTable

from .base import SectionScreen

COMMENT_LIMIT = 300   # urgent comments listed (the newest); the person file shows every one
NAME_LIMIT = 24       # a person's name in this list (their file shows it whole)


class UrgentScreen(SectionScreen):
    section = "urgent"
    BINDINGS = [Binding("o", "open", "key.open_person"),
                Binding("v", "detail", "key.action_detail")]

    _action: dict[str, str] = {}  # (reload's: a comment's row key -> its action)

    def compose(self) -> ComposeResult:
        return self.framed(self.compose_body())

    def compose_body(self) -> ComposeResult:
        t = self.t
        yield Static("", id="urgent-title", classes="section-title")
        table: DataTable[Any] = LiteralTable(id="urgent", cursor_type="row", zebra_stripes=True)
        self._headers = [t("col.date"), t("col.kind"), t("col.person"), t("col.status"),
                         t("col.text")]
        table.add_columns(*self._headers)
        yield table

    def reload(self) -> None:
        t = self.t
        team = self.session.team
        today = fmt.local(self.mano.now()).date()
        rows: list[tuple[str, str, str | None, str, str, str]] = []
        actions = sorted(team.actions.urgent(), key=lambda a: (fmt.local(a.due_at), a.id))
        for a in actions:
            rows.append((fmt.due(a, today), t("urgent.action"),
                         a.persons[0] if a.persons else None,
                         fmt.status(t, a.status), a.name, f"action:{a.id}"))
        comments = team.comments.urgent()[:COMMENT_LIMIT]
        self._action: dict[str, str] = {}  # a comment on an action: v opens that action
        for c in comments:
            on = comment_on(team, c)
            if on.action is not None:
                self._action[f"comment:{c.id}"] = on.action
            rows.append((_moment(c.date, today), t("urgent.comment"), on.person, "",
                         on.lead + c.text, f"comment:{c.id}"))
        table = self.query_one("#urgent", DataTable)
        keep = table.cursor_row
        table.clear()
        self._person: dict[str, str | None] = {}
        shown: list[tuple[Text, Text, Text, Text, str, str]] = []
        for when, kind, person, status, text, key in rows:
            try:
                name = team.persons.get(person).name if person else ""
            except NotFoundError:
                name = ""
            self._person[key] = person
            shown.append((cell(when), cell(kind), cell(name, NAME_LIMIT), cell(status), text,
                          key))
        width = min(LONG_CELL_LIMIT, last_column_width(self.app.size.width,
                                                       self._headers, shown))
        for when_, kind_, name_, status_, text, key in shown:
            table.add_row(when_, kind_, name_, status_, cell(text, width), key=key)
        if table.row_count:
            table.move_cursor(row=min(keep, table.row_count - 1))
        overdue = sum(1 for a in actions if fmt.local(a.due_at).date() < today)
        self.query_one("#urgent-title", Static).update(plain(
            f"{t('urgent.title', count=len(rows))} — "
            f"{t('urgent.actions', count=len(actions), overdue=overdue)}, "
            f"{t('urgent.comments', count=len(comments))}"))

    def on_resize(self) -> None:
        self.reload()

    def _key(self) -> str | None:
        table = self.query_one("#urgent", DataTable)
        if table.row_count == 0:
            return None
        value = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return str(value) if value else None

    def action_open(self) -> None:
        key = self._key()
        person = self._person.get(key) if key else None
        if person:
            self.post_message(OpenPerson(person))

    def action_detail(self) -> None:
        key = self._key()
        if key and key.startswith("action:"):
            self.post_message(OpenAction(key.removeprefix("action:")))
        elif key in self._action:
            self.post_message(OpenAction(self._action[key]))

    def on_data_table_row_selected(self, _event: DataTable.RowSelected) -> None:
        self.action_open()


def _moment(when: dt.datetime, today: dt.date) -> str:
    """A comment's date and time, the year only when it is not this one."""
    local = fmt.local(when)
    return f"{local:%d/%m %H:%M}" if local.year == today.year else f"{local:%d/%m/%Y %H:%M}"
