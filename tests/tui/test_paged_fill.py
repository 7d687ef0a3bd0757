"""A page's rows are added in slices, the UI loop handed back between them (issue 24): the
rows added late are there, selectable, in order; a new search drops the rest of the fill
before it; a redraw keeps the cursor on its row even when that row comes late."""

from __future__ import annotations

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
