"""A DataTable whose text cells are always literal (``tui.text.cell``): a name holding
``[/]`` or an escape sequence is shown as typed, never parsed as markup nor sent to the
terminal. Every table of the app is one of these."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey

from tui.text import cell


class LiteralTable(DataTable[Any]):
    """``add_row`` takes str cells as literal text (cut at ``tui.text.CELL_LIMIT``); cells
    already built by ``tui.text`` (a ``Text``) are kept as they are."""

    def add_row(self, *cells: Any, height: int | None = 1, key: str | None = None,
                label: Any = None) -> RowKey:
        return super().add_row(*(c if isinstance(c, Text) else cell(c) for c in cells),
                               height=height, key=key, label=label)
