"""What every tab of the person file is, and the list of tabs.

A tab is a widget inside the file's TabbedContent: it draws itself from the person
(``reload``), and says which of the file's commands it answers (``commands``: action name →
method). The file binds the keys once (``n`` new, Enter open/edit, Suppr delete…) and hands
each press to the current tab, so a tab module adds a record family without touching the
others. A new tab (the documents) registers itself with ``register``:

    register(DocumentsTab, after="family")
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from textual.containers import Vertical
from textual.widgets import DataTable

from mano_core.errors import ManoError
from mano_core.model.records import Person
from tui.i18n import error_text
from tui.widgets.confirm import ConfirmScreen
from tui.widgets.forms import Field, FormScreen

if TYPE_CHECKING:
    from tui.app import ManoApp
    from tui.i18n import Translator
    from tui.session import Session

    from .screen import PersonFileScreen


class PersonTab(Vertical):
    """One tab's content. Subclasses set ``name`` (the pane is ``tab-<name>``, its title the
    catalog's ``file.tab.<name>``) and ``medical`` (shown on health devices only)."""

    name: ClassVar[str] = ""
    medical: ClassVar[bool] = False

    def __init__(self) -> None:
        super().__init__(id=f"{self.name}-tab", classes="person-tab")

    # --- what the file gives every tab ------------------------------------------------------

    @property
    def file(self) -> PersonFileScreen:
        return self.screen  # type: ignore[return-value]

    @property
    def mano(self) -> ManoApp:
        return self.app  # type: ignore[return-value]

    @property
    def t(self) -> Translator:
        return self.mano.t

    @property
    def session(self) -> Session:
        session = self.mano.session
        assert session is not None
        return session

    @property
    def person_id(self) -> str:
        return self.file.person_id

    # --- what a tab does ---------------------------------------------------------------------

    def reload(self, person: Person) -> None:
        """Redraw from the team's current data."""

    def commands(self) -> dict[str, Callable[[], Any]]:
        """The file's commands this tab answers: ``new``, ``open``, ``delete`` or its own."""
        return {}

    # --- helpers -----------------------------------------------------------------------------

    def form(self, title: str, fields: Sequence[Field], submit: Callable[[dict[str, Any]],
             Awaitable[Any]], saved: str | Callable[[Any], str] | None = None) -> None:
        """Open a form; once saved, say ``saved``."""
        t = self.t

        def done(result: Any) -> None:
            if result is not None and saved is not None:
                self.mano.say(saved(result) if callable(saved) else saved)

        self.app.push_screen(FormScreen(
            title, fields, submit, save_label=t("form.save"), cancel_label=t("form.cancel"),
            field_error=lambda f, m: t("form.field_error", field=f, message=m)), done)

    def own(self, record: Any) -> bool:
        """True for a comment this member wrote; else says so and False. Only its author
        edits or deletes a transmission (general or medical), as in MANO: the others answer
        it with a comment of their own."""
        if record.created_by == self.session.member:
            return True
        self.mano.say(self.t("comment.not_yours"), error=True)
        return False

    async def confirm(self, title: str, lines: list[str], confirm_label: str) -> bool:
        dialog = ConfirmScreen(title, lines, confirm_label=confirm_label,
                               cancel_label=self.t("erase.cancel"))
        return bool(await self.mano.push_screen_wait(dialog))  # type: ignore[arg-type]

    async def write(self, op: Awaitable[Any], done: str | None = None) -> Any:
        """Await an engine write; say ``done``, or the error in the interface's words."""
        try:
            result = await op
        except ManoError as exc:
            self.mano.say(error_text(self.t, exc), error=True)
            return None
        if done:
            self.mano.say(done)
        return result


def cursor_key(table: DataTable[Any]) -> str | None:
    """The row key under the table's cursor (None if empty)."""
    if table.row_count == 0:
        return None
    try:
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
    except Exception:  # noqa: BLE001 - an emptied table's stale cursor
        return None
    return str(key.value) if key.value is not None else None


def restore(table: DataTable[Any], key: str | None) -> None:
    """Put the cursor back on ``key`` after a redraw (if it is still there)."""
    if key is not None and key in table.rows:
        table.move_cursor(row=table.get_row_index(key))


TABS: list[type[PersonTab]] = []


def register(tab: type[PersonTab], after: str | None = None) -> type[PersonTab]:
    """Add a tab to the file (after the tab named ``after``, else at the end). Its number key
    is its place in the list."""
    if any(t.name == tab.name for t in TABS):
        return tab
    names = [t.name for t in TABS]
    TABS.insert(names.index(after) + 1 if after in names else len(TABS), tab)
    return tab
