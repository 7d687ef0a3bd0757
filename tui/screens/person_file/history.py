"""The person's field history in words (``tui.records.history``)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import DataTable

from mano_core.model.records import Person
from tui.records.history import fill_history, history_columns
from tui.widgets.table import LiteralTable

from .tab import PersonTab, register


class HistoryTab(PersonTab):
    name = "history"

    def compose(self) -> ComposeResult:
        yield LiteralTable(id="history", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.query_one("#history", DataTable).add_columns(*history_columns(self.t))

    def reload(self, person: Person) -> None:
        fill_history(self.session, self.t, self.query_one("#history", DataTable), "persons",
                     person.id)


register(HistoryTab)
