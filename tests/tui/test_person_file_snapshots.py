"""Snapshots of the person file at 80×24 and 160×45 (update with ``--snapshot-update`` after a
deliberate change, and look at the SVGs): every tab title readable, the summary's fields in
words, the footer's keys."""

from __future__ import annotations

import pytest

from tui.screens.person_file import PersonFileScreen

from .conftest import app_on
from .test_snapshots import _persons, _settled, _text

pytestmark = pytest.mark.timeout(180)


async def _file(pilot) -> None:
    await _persons(pilot)
    await pilot.press("enter")
    await _settled(pilot, lambda: isinstance(pilot.app.screen, PersonFileScreen)
                   and _text(pilot, "#summary").strip() != "", "the file's summary")


def test_person_file_80x24(snap_compare, demo_store):
    assert snap_compare(app_on(demo_store), terminal_size=(80, 24), run_before=_file)


def test_person_file_160x45(snap_compare, demo_store):
    assert snap_compare(app_on(demo_store), terminal_size=(160, 45), run_before=_file)


def test_person_file_medical_tab_80x24(snap_compare, demo_store):
    async def run(pilot) -> None:
        await _file(pilot)
        await pilot.press("8")
        await _settled(pilot, lambda: _text(pilot, "#medical").strip() != "", "medical")
    assert snap_compare(app_on(demo_store), terminal_size=(80, 24), run_before=run)
