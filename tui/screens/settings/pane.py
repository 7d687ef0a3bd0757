"""What every settings tab shares: the app, its texts and session, forms and confirmations.

A tab is a container with its own key bindings: they apply while the focus is inside it
(its table), so the same letter means "rename" on the lists and on the sub-teams."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from textual.containers import Vertical
from textual.widgets import DataTable

from mano_core.errors import ManoError
from tui.i18n import Translator
from tui.session import Session
from tui.widgets.confirm import ConfirmScreen
from tui.widgets.forms import Field, FormScreen
from tui.widgets.table import LiteralTable


class SettingsPane(Vertical):
    """One tab of the settings; ``reload()`` redraws it from the team's data."""

    @property
    def mano(self) -> Any:
        return self.app          # the Mano app: .t, .session, .say, .now

    @property
    def t(self) -> Translator:
        return self.mano.t  # type: ignore[no-any-return]

    @property
    def session(self) -> Session:
        session = self.mano.session
        assert session is not None
        return session  # type: ignore[no-any-return]

    def reload(self) -> None:
        """Redraw from the team's current data."""

    def current_key(self, table_id: str) -> str | None:
        table = self.query_one(f"#{table_id}", DataTable)
        if table.row_count == 0:
            return None
        return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    def refill(self, table_id: str, rows: list[tuple[str, tuple[Any, ...]]]) -> None:
        """Redraw a table with ``rows`` (key, cells), keeping the cursor on the same record:
        a redraw while someone reads the table (a teammate's edit, the sync moving) never
        moves the selection under them onto another record. Unchanged rows: no redraw."""
        table = self.query_one(f"#{table_id}", LiteralTable)
        drawn: dict[str, object] = self.__dict__.setdefault("_drawn", {})
        if drawn.get(table_id) == rows:
            return
        current = self.current_key(table_id)
        table.clear()
        for key, cells in rows:
            table.add_row(*cells, key=key)
        drawn[table_id] = rows
        keys = [key for key, _cells in rows]
        if current in keys:
            table.move_cursor(row=keys.index(current), animate=False)

    def form(self, title: str, fields: list[Field],
             submit: Callable[[dict[str, Any]], Awaitable[Any]],
             done: Callable[[Any], None] | None = None) -> None:
        """A form; ``done`` gets what ``submit`` returned (None when cancelled). The tab is
        redrawn once it closes."""
        t = self.t

        def closed(result: Any) -> None:
            self.reload()
            if done is not None:
                done(result)
        self.app.push_screen(FormScreen(
            title, fields, submit, save_label=t("form.save"), cancel_label=t("form.cancel"),
            field_error=lambda f, m: t("form.field_error", field=f, message=m)), closed)

    async def confirm(self, title: str, lines: list[str], confirm: str) -> bool:
        """Ask before something that cannot be taken back (run in a worker)."""
        dialog: Any = ConfirmScreen(title, lines, confirm_label=confirm,
                                    cancel_label=self.t("form.cancel"))
        return bool(await self.app.push_screen_wait(dialog))

    async def attempt(self, write: Awaitable[Any], done: str) -> bool:
        """Await ``write``; say ``done``, or the engine's refusal in the interface's words."""
        try:
            await write
        except ManoError as exc:
            self.mano.say(self.mano.error_text(exc), error=True)
            return False
        finally:
            self.reload()
        self.mano.say(done)
        return True


def table(wid: str, *columns: str) -> LiteralTable:
    out = LiteralTable(id=wid, cursor_type="row", classes="settings-table")
    out.add_columns(*columns)
    return out
