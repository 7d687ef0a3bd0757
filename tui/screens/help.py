"""The help screen: every key binding of the screen below it and of the app, in words."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Static

from tui.i18n import is_key_text, key_text
from tui.widgets.table import LiteralTable


def declared_bindings(node: object) -> list[Binding]:
    """The bindings the node's classes declare (their public ``BINDINGS``), one per key,
    the most derived class first."""
    found: list[Binding] = []
    for cls in type(node).__mro__:
        found += Binding.make_bindings(cls.__dict__.get("BINDINGS", []))
    return found


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,f1,q", "close", "key.close")]

    def __init__(self, under: Screen[Any]) -> None:
        super().__init__(classes="form-screen")
        self.under = under

    def compose(self) -> ComposeResult:
        t = self.app.t  # type: ignore[attr-defined]
        with VerticalScroll(classes="form help"):
            yield Static(t("help.title"), classes="form-title")
            yield Static(t("help.intro"), classes="muted")
            table: DataTable[Any] = LiteralTable(id="help-keys", cursor_type="row")
            table.add_columns(t("col.key"), t("col.what"))
            yield table

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        rows: dict[str, list[str]] = {}
        # the keys of what is shown: not those of a hidden tab (the person file's Documents
        # keys are not listed on its Medical tab, where n is not "rename")
        nodes = [self.under, *(n for n in self.under.query("*") if _shown(n, self.under)),
                 self.app]
        t = self.app.t  # type: ignore[attr-defined]
        for node in nodes:
            for binding in declared_bindings(node):
                if not is_key_text(binding.description):
                    continue  # Textual's own widget keys (arrows, editing) are not listed
                keys = rows.setdefault(key_text(t, binding.description), [])
                shown = self.app.get_key_display(binding)
                if shown not in keys:
                    keys.append(shown)
        for what, keys in rows.items():
            table.add_row(", ".join(keys), what)
        table.focus()

    def action_close(self) -> None:
        self.dismiss(None)


def _shown(node: DOMNode, top: DOMNode) -> bool:
    """True unless ``node`` or one of its ancestors below ``top`` is not displayed."""
    current: DOMNode | None = node
    while current is not None and current is not top:
        if not current.display:
            return False
        current = current.parent
    return True
