"""The persons' search waits for typing to pause (issue 24: a search and a redraw of the list
per key held the UI loop while the name was typed): the letters show at once, the list once,
for the whole name; Enter searches at once; the last search asked is the one shown."""

from __future__ import annotations

import threading

import pytest
from textual.widgets import Input

from tui.screens import persons as persons_screen
from tui.screens.persons import PersonsScreen
from tui.widgets.paged_table import PagedTable

from .conftest import SIZE, app_on, wait_for
from .pilots import opened

pytestmark = pytest.mark.timeout(180)


async def _persons(pilot):
    app = pilot.app
    await pilot.press("f3")
    await wait_for(pilot, lambda: isinstance(app.screen, PersonsScreen), what="the list")
    table = app.screen.query_one(PagedTable)
    await wait_for(pilot, lambda: table.items, what="the list's rows")
    return app.screen, table, app.screen.query_one("#search", Input)


async def test_a_name_typed_is_searched_once_typing_pauses_and_the_last_key_wins(demo_store):
    app = app_on(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        target = await app.session.team.persons.create(
            name="Zéphyr Quatre", assigned_teams=[app.session.subteam])
        _screen, table, search = await _persons(pilot)
        search.focus()
        for text in ("z", "ze", "zep", "zeph", "zephyr q"):   # one burst of keys
            search.value = text
        await wait_for(pilot, lambda: [p.id for p in table.items] == [target.id],
                       what="the list of the whole name, once typing paused")
        assert search.value == "zephyr q" and search.has_focus


async def test_keys_typed_search_nothing_until_the_pause_and_enter_searches_at_once(
        demo_store, monkeypatch):
    monkeypatch.setattr(persons_screen, "SEARCH_PAUSE", 3600.0)   # no pause comes
    app = app_on(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        target = await app.session.team.persons.create(
            name="Zéphyr Quatre", assigned_teams=[app.session.subteam])
        screen, table, search = await _persons(pilot)
        asked: list[str] = []
        run_query = screen.run_query

        def counted(q, keep_page=False):
            asked.append(q.text)
            run_query(q, keep_page)

        monkeypatch.setattr(screen, "run_query", counted)
        search.focus()
        await pilot.press(*"zeph")
        await wait_for(pilot, lambda: search.value == "zeph", what="the letters shown")
        await pilot.press("enter")
        await wait_for(pilot, lambda: [p.id for p in table.items] == [target.id],
                       what="the list searched on Enter")
        # one search, for the whole name: none per key. A reload of the list as it stood
        # (the person created above reaching the screen as a change) may land in between on a
        # slow machine: it searches the list as shown (no text), not the letters typed.
        assert [text for text in asked if text] == ["zeph"]
        assert table.table.has_focus      # Enter also goes to the list, as before


async def test_a_change_arriving_as_she_types_refreshes_the_list_not_a_half_typed_search(
        demo_store, monkeypatch):
    monkeypatch.setattr(persons_screen, "SEARCH_PAUSE", 3600.0)   # no pause comes
    app = app_on(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        _screen, table, search = await _persons(pilot)
        listed = len(table.items)
        search.focus()
        await pilot.press(*"zeph")
        await wait_for(pilot, lambda: search.value == "zeph", what="the letters shown")
        # a record saved meanwhile (a teammate's, or hers from another screen): the list is
        # the one she was looking at, with the new person, not "zeph"'s results
        target = await app.session.team.persons.create(
            name="Zéphyr Quatre", assigned_teams=[app.session.subteam])
        await wait_for(pilot, lambda: target.id in [p.id for p in table.items],
                       what="the new person in the list")
        assert len(table.items) == listed + 1 and search.value == "zeph"
        await pilot.press("enter")   # and what she typed is searched when she asks
        await wait_for(pilot, lambda: [p.id for p in table.items] == [target.id],
                       what="the list searched on Enter")


async def test_an_older_search_answering_late_never_replaces_the_newer_one(
        demo_store, monkeypatch):
    app = app_on(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        team = app.session.team
        old = await team.persons.create(name="Fiche Vieillie",
                                        assigned_teams=[app.session.subteam])
        new = await team.persons.create(name="Fiche Étrennée",
                                        assigned_teams=[app.session.subteam])
        screen, table, search = await _persons(pilot)
        index = app.persons_index
        search_of = index.search
        hold = threading.Event()

        held: list[object] = []

        def slow_for_the_old(q):
            if q.text == "vieillie" and not held:   # the first one only: the persons created
                held.append(q)                     # above may reload the list meanwhile
                hold.wait(120)            # answers once the newer search is shown
            return search_of(q)

        answered: list[list[str]] = []
        show = screen._show

        def shown(found, *args):
            answered.append([p.id for p in found])
            show(found, *args)

        monkeypatch.setattr(index, "search", slow_for_the_old)
        monkeypatch.setattr(screen, "_show", shown)
        search.focus()
        search.value = "vieillie"
        await pilot.press("enter")        # searched at once, held in its thread
        search.focus()
        search.value = "etrennee"
        await pilot.press("enter")
        await wait_for(pilot, lambda: [p.id for p in table.items] == [new.id],
                       what="the newer search shown")
        newer = answered.index([new.id])
        hold.set()
        await wait_for(pilot, lambda: [old.id] in answered[newer:],
                       what="the older search answered")   # it did come, after
        await pilot.pause()
        assert [p.id for p in table.items] == [new.id]
