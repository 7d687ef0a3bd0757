"""Pilot tests of structures and territories: searching and leaving the search as in
Persons, phone and postcode checked, territories created and edited with the team's types,
observations with the team's observation fields."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Input

from tui.screens.agenda import AgendaScreen
from tui.screens.structures import StructuresScreen, valid_phone
from tui.widgets.forms import FormScreen
from tui.widgets.paged_table import PagedTable

from .conftest import SIZE, app_on, wait_for
from .rendered import shows

pytestmark = pytest.mark.timeout(60)


def test_phone_numbers_as_people_write_them():
    for good in ("115", "3919", "01 42 00 00 00", "01.42.00.00.00", "+33 6 12 34 56 78",
                 "(0)1-42-00-00-00"):
        assert valid_phone(good), good
    for bad in ("12", "appeler le matin", "06 12 34 56 78 90 12 34 5", "06+12", "06/12"):
        assert not valid_phone(bad), bad


async def test_flow_structure_search_and_checked_fields(demo_store):
    app = app_on(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, AgendaScreen))
        await pilot.press("f4")
        await wait_for(pilot, lambda: isinstance(app.screen, StructuresScreen))
        screen = app.screen
        table = screen.query_one(PagedTable)
        await wait_for(pilot, lambda: table.items, what="the structures")
        await pilot.press("slash")
        search = screen.query_one("#search", Input)
        assert search.has_focus
        await pilot.press("escape")                         # back to the list, as in Persons
        assert table.table.has_focus and isinstance(app.screen, StructuresScreen)
        assert shows(app, "Structures :")

        team = app.session.team
        before = len(team.structures.list())
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        form = app.screen
        form.query_one("#field-name", Input).value = "Accueil de jour du canal"
        form.query_one("#field-phone", Input).value = "le matin"
        form.query_one("#field-postcode", Input).value = "7501"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "téléphone" in str(form.query_one("#error-phone").render())
        assert len(team.structures.list()) == before
        form.query_one("#field-phone", Input).value = "01 42 00 00 00"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "5 chiffres" in str(form.query_one("#error-postcode").render())
        assert len(team.structures.list()) == before
        form.query_one("#field-postcode", Input).value = "75010"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: len(team.structures.list()) == before + 1,
                       what="the structure saved")
        saved = next(s for s in team.structures.list() if s.name == "Accueil de jour du canal")
        assert (saved.phone, saved.postcode) == ("01 42 00 00 00", "75010")
        await wait_for(pilot, lambda: isinstance(app.screen, StructuresScreen))
        await wait_for(pilot, lambda: saved.id in {s.id for s in table.items})
        assert isinstance(table.table, DataTable)
