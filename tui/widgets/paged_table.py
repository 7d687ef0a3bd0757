"""A DataTable that never holds more than one page of rows (tens of thousands stay fluid).

A page's rows are added in slices (issue 24: ``DataTable.add_row`` with its cells built is
0.1–0.6 ms a row on the UI loop, 100 rows 25–120 ms): the rows a screen shows first, at
once, then the others in slices of ``FILL_SLICE`` seconds with the loop handed back between
them (keys answered, the screen drawn). A new fill (a search typed, another page) drops
what is left of the previous one. Every row's cells are built at the start of a fill and the
columns widened to them at once (``LiteralTable.widen``): a wider row in a later slice
redrew every visible line (and moved the columns under the eyes)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from textual import events
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Input, Static

from tui.text import plain
from tui.widgets.table import LiteralTable

T = TypeVar("T")
Row = tuple[Sequence[Any], str]   # a row's cells and its key

FIRST_ROWS = 40       # rows added at once: a screenful of a 40-line terminal and more
FILL_SLICE = 0.008    # seconds of adding rows before the loop is handed back


class PagedTable(Vertical, Generic[T]):
    """Rows are built for the current page only; ``]``/``[`` (or ctrl+→/←) change page.

    ``row(item)`` turns an item into cells; the row key is ``key(item)``."""

    BINDINGS = [
        Binding("right_square_bracket,ctrl+right", "page(1)", "key.next_page", show=False),
        Binding("left_square_bracket,ctrl+left", "page(-1)", "key.prev_page", show=False),
    ]

    def __init__(self, columns: Sequence[str], row: Callable[[T], Sequence[Any]],
                 key: Callable[[T], str], *, page_size: int = 200, pager_text:
                 Callable[[int, int, int], str] = lambda a, b, n: f"{a}–{b} / {n}",
                 id: str | None = None, search: str | None = None) -> None:
        super().__init__(id=id, classes="paged")
        self._columns = list(columns)
        self._row = row
        self._key = key
        self.page_size = page_size
        self._pager_text = pager_text
        self.items: list[T] = []
        self.page_index = 0
        self._search = search   # selector of the screen's search Input, if it has one
        self._typing = False    # letters were sent to the search field, which has no focus yet
        self._fills = 0         # fills started: a slice of an older one stops
        self._keep: str | None = None   # the row to put the cursor on once it is added
        self.filling = False    # rows of the page are still being added

    def compose(self):  # type: ignore[no-untyped-def]
        table: DataTable[Any] = LiteralTable(cursor_type="row", zebra_stripes=True)
        yield table
        yield Static("", classes="pager")

    def on_mount(self) -> None:
        self.table.add_columns(*self._columns)

    @property
    def table(self) -> LiteralTable:
        return self.query_one(LiteralTable)

    def set_items(self, items: list[T], *, keep_page: bool = False) -> None:
        """Show these items from the first page (or the same page, if it still exists)."""
        current = self.current_key()
        self.items = items
        if not keep_page or self.page_index * self.page_size >= max(1, len(items)):
            self.page_index = 0
        self._fill(current if keep_page else None)

    def _fill(self, keep: str | None = None) -> None:
        table = self.table
        table.clear()
        self._fills += 1
        self._keep = keep
        start = self.page_index * self.page_size
        page = [(self._row(item), self._key(item))
                for item in self.items[start:start + self.page_size]]
        table.widen(cells for cells, _key in page)
        first = self.first_rows()
        self._add_rows(page[:first])
        end = start + len(page)
        self.query_one(".pager", Static).update(plain(
            self._pager_text(start + 1 if page else 0, end, len(self.items))))
        self.filling = len(page) > first
        if self.filling:
            fill, rest = self._fills, page[first:]

            async def work() -> None:   # a function: if cancelled before it starts, no
                await self._fill_rest(fill, rest)   # coroutine is left never awaited
            # (Textual's WorkType makes mypy infer Never for a coroutine function's result)
            self.run_worker(work, group="paged-fill", exclusive=True)  # type: ignore[arg-type]

    def first_rows(self) -> int:
        """How many rows of a page are added at once: what the table shows, and more."""
        return max(FIRST_ROWS, self.table.size.height + 10)

    def _add_rows(self, rows: Sequence[Row], deadline: float | None = None) -> int:
        """Add these rows (until ``deadline``, checked every 4 rows); how many."""
        table = self.table
        added = 0
        for cells, key in rows:
            table.add_row(*cells, key=key)
            added += 1
            if deadline is not None and added % 4 == 0 and time.perf_counter() >= deadline:
                break
        # The row kept (a redraw after a change) gets the cursor once it is there, unless
        # the cursor was moved meanwhile.
        if self._keep is not None and self._keep in table.rows:
            if table.cursor_row == 0:
                table.move_cursor(row=table.get_row_index(self._keep))
            self._keep = None
        return added

    async def _fill_rest(self, fill: int, rows: Sequence[Row]) -> None:
        done = 0
        try:
            while done < len(rows):
                await asyncio.sleep(0)   # the loop runs: keys, drawing, a newer fill
                if fill != self._fills:
                    return
                done += self._add_rows(rows[done:], time.perf_counter() + FILL_SLICE)
        finally:
            if fill == self._fills:
                self.filling = False

    def action_page(self, delta: int) -> None:
        last = max(0, (len(self.items) - 1) // self.page_size)
        new = min(last, max(0, self.page_index + delta))
        if new != self.page_index:
            self.page_index = new
            self._fill()

    def current_key(self) -> str | None:
        table = self.table
        if table.row_count == 0:
            return None
        try:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        except Exception:  # noqa: BLE001 - an empty or moving table
            return None
        return str(key.value) if key.value is not None else None

    def on_key(self, event: events.Key) -> None:
        """A character typed on the list goes to the search field, as in the list views
        people know (typing a name never runs the letters as commands)."""
        if self._search is None or not event.is_printable or not event.character:
            return
        if event.key in self.screen.active_bindings:
            return  # a key bound here ("/", "[", "]") does what it says
        found = self.screen.query(self._search)
        if not found:
            return
        field = found.first(Input)
        event.stop()
        event.prevent_default()
        # Typing on the list starts a new search; the keys typed before the field has taken
        # the focus (a fast typist, a paste) continue it instead of each starting anew.
        field.value = field.value + event.character if self._typing else event.character
        field.cursor_position = len(field.value)
        self._typing = True
        field.focus()

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        if event.widget is self.table:
            self._typing = False   # back on the list: the next letter starts a new search

    def focus_table(self) -> None:
        self.table.focus()
