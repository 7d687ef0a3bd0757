"""Snapshots of the main screens at 80×24 (pytest-textual-snapshot; update with
``pytest tests/tui --snapshot-update`` after a deliberate change, and look at the SVGs).

No fixed pause before a snapshot: each waits for the screen's content (filled by a worker)
and for every worker to finish, so a slow machine takes the same picture."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Input, Static

from tui.screens.agenda import AgendaScreen
from tui.screens.person_file import PersonFileScreen
from tui.screens.persons import PersonsScreen
from tui.screens.report import ReportScreen
from tui.screens.start import UnlockScreen
from tui.screens.stats import StatsScreen
from tui.widgets.paged_table import PagedTable

from .conftest import app_on, wait_for

pytestmark = pytest.mark.timeout(180)
SMALL = (80, 24)


def _text(pilot, selector: str) -> str:
    return str(pilot.app.screen.query_one(selector, Static).render())


async def _settled(pilot, ready, what: str) -> None:
    """Wait until ``ready()`` holds and no worker runs any more, then for the screen's
    pending messages (a thread worker's results arrive through the message queue)."""
    await wait_for(pilot, lambda: ready() and all(w.is_finished for w in pilot.app.workers),
                   what=what)
    await pilot.pause()


async def _agenda(pilot) -> None:
    await _settled(pilot, lambda: isinstance(pilot.app.screen, AgendaScreen), "the agenda")


async def _persons(pilot) -> None:
    await _agenda(pilot)
    await pilot.press("f3")
    await _settled(pilot, lambda: isinstance(pilot.app.screen, PersonsScreen)
                   and pilot.app.screen.query_one(PagedTable).table.row_count > 0, "the list")


def test_unlock_screen(snap_compare, demo_store):
    async def run(pilot) -> None:
        await _settled(pilot, lambda: isinstance(pilot.app.screen, UnlockScreen)
                       and pilot.app.screen.query_one("#passphrase", Input).has_focus,
                       "the unlock screen, its field focused")
    assert snap_compare(app_on(demo_store, passphrase=None), terminal_size=SMALL,
                        run_before=run)


def test_agenda(snap_compare, demo_store):
    assert snap_compare(app_on(demo_store), terminal_size=SMALL, run_before=_agenda)


def test_persons(snap_compare, demo_store):
    assert snap_compare(app_on(demo_store), terminal_size=SMALL, run_before=_persons)


@pytest.mark.slow
def test_person_file_in_english(snap_compare, demo_store):
    async def run(pilot) -> None:
        await _persons(pilot)
        await pilot.press("enter")
        await _settled(pilot, lambda: isinstance(pilot.app.screen, PersonFileScreen)
                       and _text(pilot, "#summary").strip() != "", "the file's summary")
        await pilot.press("3")  # the comments, with their authors' names
        await _settled(pilot, lambda: pilot.app.screen.query_one("#comments", DataTable)
                       .row_count > 0, "the comments")
    assert snap_compare(app_on(demo_store, lang="en"), terminal_size=SMALL, run_before=run)


def test_report(snap_compare, demo_store):
    async def run(pilot) -> None:
        await _agenda(pilot)
        await pilot.press("f6")
        await _settled(pilot, lambda: isinstance(pilot.app.screen, ReportScreen)
                       and _text(pilot, "#report-title").strip() != "", "the report")
    assert snap_compare(app_on(demo_store), terminal_size=SMALL, run_before=run)


@pytest.mark.slow
def test_statistics(snap_compare, demo_store):
    async def run(pilot) -> None:
        await _agenda(pilot)
        await pilot.press("f7")
        await _settled(pilot, lambda: isinstance(pilot.app.screen, StatsScreen)
                       and not pilot.app.screen.query_one("#stats-busy").display
                       and _text(pilot, "#stats-figures").strip() != "", "the statistics")
    assert snap_compare(app_on(demo_store), terminal_size=(100, 40), run_before=run)
