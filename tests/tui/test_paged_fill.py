"""A page's rows are added in slices, the UI loop handed back between them (issue 24): the
rows added late are there, selectable, in order; a new search drops the rest of the fill
before it; a redraw keeps the cursor on its row even when that row comes late."""

from __future__ import annotations

import asyncio

import pytest

from tui.screens.person_file import PersonFileScreen
from tui.screens.persons import PersonsScreen
from tui.widgets import paged_table
from tui.widgets.paged_table import PagedTable

from .conftest import SIZE, app_on, wait_for
from .pilots import opened

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def small_first_page(monkeypatch: pytest.MonkeyPatch) -> None:
    """Three rows at once, then four a slice: the demo team's 30 persons take many slices."""
    monkeypatch.setattr(PagedTable, "first_rows", lambda self: 3)
    monkeypatch.setattr(paged_table, "FILL_SLICE", 0.0)


def keys(table: PagedTable) -> list[str]:
    return [str(k.value) for k in table.table.rows]


async def filled(pilot, table: PagedTable) -> None:
    await wait_for(pilot, lambda: not table.filling and table.table.row_count
                   == min(len(table.items), table.page_size), what="the page filled")


async def test_rows_added_late_are_shown_in_order_and_selectable(demo_store, small_first_page):
    app = app_on(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        await pilot.press("f3")
        await wait_for(pilot, lambda: isinstance(app.screen, PersonsScreen)
                       and app.screen.query_one(PagedTable).items, what="the persons list")
        table = app.screen.query_one(PagedTable)
        await filled(pilot, table)
        assert len(table.items) > 10   # many slices of four after the first three
        assert keys(table) == [p.id for p in table.items]
        last = table.items[-1]
        table.focus_table()
        await pilot.press("ctrl+end")
        await wait_for(pilot, lambda: table.current_key() == last.id, what="the last row")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PersonFileScreen),
                       what="the last person's file")
        assert app.screen.person_id == last.id


async def test_a_new_fill_drops_what_was_left_of_the_previous_one(demo_store,
                                                                  small_first_page):
    app = app_on(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        await pilot.press("f3")
        await wait_for(pilot, lambda: isinstance(app.screen, PersonsScreen)
                       and app.screen.query_one(PagedTable).items, what="the persons list")
        table = app.screen.query_one(PagedTable)
        await filled(pilot, table)
        everyone = list(table.items)
        few = everyone[-5:]
        table.set_items(everyone)   # its rows after the first three still to come…
        assert table.filling
        table.set_items(few)        # …when another search shows five
        await filled(pilot, table)
        assert keys(table) == [p.id for p in few]


async def test_a_redraw_keeps_the_cursor_on_a_row_added_late(demo_store, small_first_page):
    app = app_on(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        await pilot.press("f3")
        await wait_for(pilot, lambda: isinstance(app.screen, PersonsScreen)
                       and app.screen.query_one(PagedTable).items, what="the persons list")
        table = app.screen.query_one(PagedTable)
        await filled(pilot, table)
        target = table.items[20]
        table.table.move_cursor(row=20)
        assert table.current_key() == target.id
        table.set_items(list(table.items), keep_page=True)   # a teammate's edit redraws
        await filled(pilot, table)
        assert table.current_key() == target.id


async def test_the_columns_take_their_width_at_once_not_as_the_page_fills(monkeypatch):
    """A page's columns are as wide as its widest rows from its first rows on: a name
    longer than the others coming in a late slice does not widen the column under the eyes
    (and redraw every line) while the page fills."""
    from textual.app import App, ComposeResult

    from tui.text import cells

    monkeypatch.setattr(PagedTable, "first_rows", lambda self: 3)
    monkeypatch.setattr(paged_table, "FILL_SLICE", 0.0)
    go = asyncio.Event()
    fill_rest = PagedTable._fill_rest

    async def held(self, *args):
        await go.wait()                 # the rest of the page waits for the test
        await fill_rest(self, *args)

    monkeypatch.setattr(PagedTable, "_fill_rest", held)
    names = [f"Nom {i}" for i in range(30)]
    names[20] = "Un nom bien plus long que tous les autres"

    class Paged(App[None]):
        def compose(self) -> ComposeResult:
            yield PagedTable(["Nom", "Rang"], lambda n: cells(n, str(names.index(n))),
                             lambda n: n, page_size=100)

    app = Paged()
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(PagedTable)
        table.set_items(list(names))
        await pilot.pause()
        assert table.table.row_count == 3 and table.filling
        first = [c.get_render_width(table.table) for c in table.table.ordered_columns]
        go.set()
        await filled(pilot, table)
        assert keys(table) == names
        assert [c.get_render_width(table.table)
                for c in table.table.ordered_columns] == first
        assert first[0] >= len(names[20])


async def test_the_columns_are_cut_to_the_table_when_the_page_is_filled():
    """Cells wider than the table cut the widest columns at once, when the page is filled,
    not at the next idle when the rows are measured: the lines first drawn stay valid (the
    table was drawn in full twice on a section's first show, once at the natural widths)."""
    from textual.app import App, ComposeResult

    from tui.text import cells

    long = [f"{i} " + "un nom qui ne tient pas dans la table " * 4 for i in range(60)]

    class Paged(App[None]):
        CSS = "PagedTable, LiteralTable { height: 1fr; }"   # as in the app: no resize

        def compose(self) -> ComposeResult:
            yield PagedTable(["Nom", "Autre"], lambda n: cells(n, n), lambda n: n,
                             page_size=100)

    app = Paged()
    async with app.run_test(size=SIZE) as pilot:
        paged = app.query_one(PagedTable)
        await pilot.pause()
        paged.set_items(list(long))
        table = paged.table
        at_fill = [c.get_render_width(table) for c in table.ordered_columns]
        drawn_at = table._update_count
        assert sum(at_fill) <= table.size.width
        await filled(pilot, paged)
        await pilot.pause()
        assert [c.get_render_width(table) for c in table.ordered_columns] == at_fill
        assert table._update_count == drawn_at   # no line drawn again at other widths
