"""The person's actions, to do first; ``a`` plans a new one, ``d``/``x``/``r`` mark the one
under the cursor done, cancelled or to do again (Ctrl+Z takes it back)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.app import ComposeResult
from textual.widgets import DataTable

from mano_core.model.records import Person
from tui.widgets.table import LiteralTable

from ..actions_common import action_columns, action_row, set_status
from .tab import PersonTab, cursor_key, register, restore


class ActionsTab(PersonTab):
    name = "actions"

    def compose(self) -> ComposeResult:
        yield LiteralTable(id="actions", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.query_one("#actions", DataTable).add_columns(*action_columns(self.file))

    def reload(self, person: Person) -> None:
        table = self.query_one("#actions", DataTable)
        keep = cursor_key(table)
        table.clear()
        for a in sorted(self.session.team.actions.of_person(person.id),
                        key=lambda a: (a.status != "A FAIRE", a.due_at)):
            table.add_row(*action_row(self.file, a), key=a.id)
        restore(table, keep)

    def commands(self) -> dict[str, Callable[[], Any]]:
        return {"status": self.status}

    async def status(self, status: str = "FAIT") -> None:
        await set_status(self.file, cursor_key(self.query_one("#actions", DataTable)), status)


register(ActionsTab)
