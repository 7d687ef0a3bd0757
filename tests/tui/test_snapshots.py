"""Snapshots of the main screens at 80×24 (pytest-textual-snapshot; update with
``pytest tests/tui --snapshot-update`` after a deliberate change, and look at the SVGs)."""

from __future__ import annotations

import pytest

from tui.screens.agenda import AgendaScreen
from tui.screens.person_file import PersonFileScreen

from .conftest import app_on, wait_for

pytestmark = pytest.mark.timeout(60)
SMALL = (80, 24)


async def _agenda(pilot) -> None:
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, AgendaScreen))
    await pilot.pause()


def test_unlock_screen(snap_compare, demo_store):
    assert snap_compare(app_on(demo_store, passphrase=None), terminal_size=SMALL)


def test_agenda(snap_compare, demo_store):
    assert snap_compare(app_on(demo_store), terminal_size=SMALL, run_before=_agenda)


def test_persons(snap_compare, demo_store):
    async def run(pilot) -> None:
        await _agenda(pilot)
        await pilot.press("f3")
        await pilot.pause(0.3)
    assert snap_compare(app_on(demo_store), terminal_size=SMALL, run_before=run)


def test_person_file_in_english(snap_compare, demo_store):
    async def run(pilot) -> None:
        await _agenda(pilot)
        await pilot.press("f3")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, PersonFileScreen))
        await pilot.pause(0.2)  # the summary tab (authors' names depend on the hash seed)
    assert snap_compare(app_on(demo_store, lang="en"), terminal_size=SMALL, run_before=run)


def test_report(snap_compare, demo_store):
    async def run(pilot) -> None:
        await _agenda(pilot)
        await pilot.press("f6")
        await pilot.pause(0.3)
    assert snap_compare(app_on(demo_store), terminal_size=SMALL, run_before=run)


def test_statistics(snap_compare, demo_store):
    async def run(pilot) -> None:
        await _agenda(pilot)
        await pilot.press("f7")
        await wait_for(pilot, lambda: not pilot.app.screen.query_one("#stats-busy").display)
        await pilot.pause(0.2)
    assert snap_compare(app_on(demo_store), terminal_size=(100, 40), run_before=run)
