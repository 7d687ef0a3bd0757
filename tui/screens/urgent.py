"""Urgent items: urgent actions still to do and urgent comments, newest first."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from mano_core.errors import NotFoundError
from tui import format as fmt
from tui.navigation import OpenPerson
from tui.text import LONG_CELL_LIMIT, cells
from tui.widgets.table import LiteralTable

from .base import SectionScreen


class UrgentScreen(SectionScreen):
    section = "urgent"
    BINDINGS = [Binding("o", "open", "key.open_person")]

    def compose_body(self) -> ComposeResult:
        t = self.t
        yield Static("", id="urgent-title", classes="section-title")
        table: DataTable[Any] = LiteralTable(id="urgent", cursor_type="row", zebra_stripes=True)
        table.add_columns(t("col.date"), t("col.kind"), t("col.person"), t("col.text"))
        yield table

    def reload(self) -> None:
        t = self.t
        team = self.session.team
        rows = []
        for a in team.actions.urgent():
            rows.append((a.due_at, t("urgent.action"), a.persons[0] if a.persons else None,
                         f"{fmt.status(t, a.status)} {a.name}", a.id))
        for c in team.comments.urgent()[:300]:
            rows.append((c.date, t("urgent.comment"), c.person, c.text, c.id))
        rows.sort(key=lambda r: fmt.local(r[0]), reverse=True)
        table = self.query_one("#urgent", DataTable)
        table.clear()
        self._person: dict[str, str | None] = {}
        for when, kind, person, text, rid in rows:
            try:
                name = team.persons.get(person).name if person else ""
            except NotFoundError:
                name = ""
            self._person[rid] = person
            table.add_row(*cells(fmt.moment(when), kind, name, text,
                                 last_limit=LONG_CELL_LIMIT), key=rid)
        self.query_one("#urgent-title", Static).update(t("urgent.title", count=len(rows)))

    def action_open(self) -> None:
        table = self.query_one("#urgent", DataTable)
        if table.row_count == 0:
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        person = self._person.get(str(key))
        if person:
            self.post_message(OpenPerson(person))

    def on_data_table_row_selected(self, _event: DataTable.RowSelected) -> None:
        self.action_open()
