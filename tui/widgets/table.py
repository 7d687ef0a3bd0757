"""A DataTable whose text cells are always literal (``tui.text.cell``): a name holding
``[/]`` or an escape sequence is shown as typed, never parsed as markup nor sent to the
terminal. Every table of the app is one of these.

Its columns fit the table's width (80 columns included): when the cells are wider than the
table, the widest columns are cut (with ``…``) to the same width, down to ``FIT_MIN``, so
that every column stays on screen and the record's own view shows the whole text. Without
it the last columns (the flags, the sub-teams, a phone number) hid behind a sideways
scrollbar at 80 columns."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.text import Text
from textual import events
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey

from tui.text import cell

FIT_MIN = 8   # characters a cut column keeps at least (below, the table scrolls sideways)


def fit_level(natural: list[int], room: int, minimum: int = FIT_MIN) -> int | None:
    """The width to cut the widest columns to so that they all fit in ``room`` characters
    (None: they fit as they are); never below ``minimum``."""
    if sum(natural) <= room:
        return None
    low, high = minimum, max(natural)
    while low < high:   # the largest level whose cut columns still fit
        mid = (low + high + 1) // 2
        if sum(min(n, mid) for n in natural) <= room:
            low = mid
        else:
            high = mid - 1
    return low


class LiteralTable(DataTable[Any]):
    """``add_row`` takes str cells as literal text (cut at ``tui.text.CELL_LIMIT``); cells
    already built by ``tui.text`` (a ``Text``) are kept as they are."""

    def add_row(self, *cells: Any, height: int | None = 1, key: str | None = None,
                label: Any = None) -> RowKey:
        return super().add_row(*(c if isinstance(c, Text) else cell(c) for c in cells),
                               height=height, key=key, label=label)

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        super()._update_dimensions(new_rows)
        if self._fit_columns():
            super()._update_dimensions(())   # the virtual size with the new widths

    def on_resize(self, event: events.Resize) -> None:
        if self._fit_columns():
            super()._update_dimensions(())

    def _fit_columns(self) -> bool:
        """Cut the widest columns so that all fit the table's width; True if a width
        changed (the rendering caches are then cleared)."""
        if self.size.width <= 0 or not self.columns:
            return False
        columns = list(self.columns.values())
        natural = [max(c.content_width, c.label.cell_len) for c in columns]
        room = (self.size.width - self.styles.scrollbar_size_vertical
                - 2 * self.cell_padding * len(columns))
        level = fit_level(natural, room)
        changed = False
        for column, width in zip(columns, natural, strict=True):
            auto = level is None or width <= level
            if auto != column.auto_width or (not auto and column.width != level):
                column.auto_width = auto
                if not auto:
                    assert level is not None
                    column.width = level
                changed = True
        if changed:
            self._clear_caches()
            self.refresh()
        return changed
