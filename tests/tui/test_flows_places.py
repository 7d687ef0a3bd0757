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

pytestmark = pytest.mark.timeout(180)


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


async def test_a_structure_is_corrected_in_full_and_deleted(demo_store):
    """Every field of a structure can be corrected: several categories (ticked, unticked),
    the public it serves, shown in its detail; and a structure entered by mistake can be
    deleted (asked first, Ctrl+Z brings it back). Before, the form had one category (the
    others kept, never removable) and no public served, and nothing deleted a structure."""
    from tui.widgets.confirm import ConfirmScreen
    from tui.widgets.forms import MultiCheck
    from tui.widgets.toggle import Check

    from .pilots import confirm

    app = app_on(demo_store)
    async with app.run_test(size=(120, 44), notifications=True) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, AgendaScreen))
        team = app.session.team
        s = await team.structures.create(name="Halte de nuit du canal",
                                         categories=["Hygiène", "Santé"])
        await pilot.press("f4")
        await wait_for(pilot, lambda: isinstance(app.screen, StructuresScreen))
        table = app.screen.query_one(PagedTable)
        await wait_for(pilot, lambda: s.id in {x.id for x in table.items}, what="listed")
        table.table.focus()
        table.table.move_cursor(row=table.table.get_row_index(s.id))
        await pilot.press("ctrl+e")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen), what="the form")
        form = app.screen
        boxes = {str(box.label): box for box in form.query_one(MultiCheck).query(Check)}
        assert boxes["Hygiène"].value and boxes["Santé"].value
        boxes["Hygiène"].value = False
        boxes["Alimentation"].value = True
        form.query_one("#field-public", Input).value = "Hommes isolés, avec animaux"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: team.structures.get(s.id).public != "", what="saved")
        saved = team.structures.get(s.id)
        assert sorted(saved.categories) == ["Alimentation", "Santé"]
        assert saved.public == "Hommes isolés, avec animaux"
        await wait_for(pilot, lambda: shows(app, "Public accueilli : Hommes isolés, avec"),
                       what="the public served in the detail")

        table.table.focus()
        await pilot.press("delete")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="asked")
        assert "Halte de nuit du canal" in app.screen.title_text
        await confirm(pilot)
        await wait_for(pilot, lambda: s.id not in {x.id for x in team.structures.list()},
                       what="deleted")
        await wait_for(pilot, lambda: s.id not in {x.id for x in table.items}, what="unlisted")
        await pilot.press("ctrl+z")
        await wait_for(pilot, lambda: s.id in {x.id for x in team.structures.list()},
                       what="brought back")


async def test_flow_territory_create(demo_store):
    from textual.widgets import Select

    from tui.screens.territories import TerritoriesScreen
    from tui.widgets.action_form import Ticks
    from tui.widgets.territory_form import TerritoryFormScreen
    from tui.widgets.toggle import Check

    app = app_on(demo_store)
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, AgendaScreen))
        team = app.session.team
        types = team.settings.values("territoryTypes")
        assert len(types) >= 2
        # a field of the team's own for observations, asked for in the form
        await team.custom_fields.create(key="custom-chiens", label_text="Chiens présents",
                                        type="number", scope="observation")
        await team.custom_fields.create(key="custom-besoins", label_text="Besoins",
                                        type="multi-choice", scope="observation",
                                        options=["Eau", "Couvertures", "Soins"])
        await pilot.press("f5")
        await wait_for(pilot, lambda: isinstance(app.screen, TerritoriesScreen))
        screen = app.screen
        # the section is current before it has drawn its list (its title comes with it)
        await wait_for(pilot, lambda: shows(app, "Territoires : "), what="the list's title")

        # a new territory with two of the team's types
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: isinstance(app.screen, TerritoryFormScreen))
        form = app.screen
        form.query_one("#field-name", Input).value = "Square du marché"
        boxes = list(form.query_one("#field-types", Ticks).query(Check))
        boxes[0].value = boxes[1].value = True
        form.query_one("#field-perimeter", Input).value = "Entre la rue et le canal"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: any(x.name == "Square du marché"
                                          for x in team.territories.list()), what="saved")
        terr = next(x for x in team.territories.list() if x.name == "Square du marché")
        assert terr.types == list(types[:2]) and terr.perimeter == "Entre la rue et le canal"
        await wait_for(pilot, lambda: isinstance(app.screen, TerritoriesScreen))
        table = screen.query_one("#territories", DataTable)
        await wait_for(pilot, lambda: terr.id in table.rows)
        assert screen._territory() == terr.id              # the new one is highlighted
        assert shows(app, "Observations de « Square du marché » : 0")

        # edited: renamed, one type less, the same record
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, TerritoryFormScreen))
        form = app.screen
        assert form.query_one("#field-name", Input).value == "Square du marché"
        form.query_one("#field-name", Input).value = "Square du marché couvert"
        list(form.query_one("#field-types", Ticks).query(Check))[1].value = False
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: team.territories.get(terr.id).name
                       == "Square du marché couvert", what="the edit")
        assert team.territories.get(terr.id).types == [types[0]]
        assert len([x for x in team.territories.list() if x.name.startswith("Square")]) == 1

        # an observation with the custom fields; a wrong number is said under its field
        await wait_for(pilot, lambda: isinstance(app.screen, TerritoriesScreen))
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        form = app.screen
        assert shows(app, "Chiens présents")
        form.query_one("#field-men", Input).value = "4"
        form.query_one("#field-atmosphere", Select).value = "Tensions"
        form.query_one("#field-custom__custom_chiens", Input).value = "deux"
        form.query_one("#field-custom__custom_besoins", Input).value = "Eau, Soins"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "Chiens présents" in str(form.query_one("#error-custom__custom_chiens").render())
        assert not team.observations.filter(lambda o: o.territory == terr.id)
        form.query_one("#field-custom__custom_chiens", Input).value = "2"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: team.observations.filter(
            lambda o: o.territory == terr.id), what="the observation")
        obs = team.observations.filter(lambda o: o.territory == terr.id)[0]
        assert obs.men == 4 and obs.atmosphere == "Tensions"
        assert obs.custom_fields == {"custom-chiens": 2, "custom-besoins": ["Eau", "Soins"]}
        await wait_for(pilot, lambda: shows(app, "Chiens présents : 2"),
                       what="the custom value in the table")
        assert shows(app, "Observations de « Square du marché couvert » : 1")


async def test_flow_an_observation_is_corrected_and_deleted(demo_store):
    # Before: an observation could be created and read, never corrected nor deleted (a count
    # typed wrong, the wrong territory's evening, stayed in the statistics for good).
    import datetime as dt

    from textual.widgets import Button

    from tui.screens.territories import TerritoriesScreen
    from tui.widgets.confirm import ConfirmScreen

    from .rendered import notices

    app = app_on(demo_store)
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, AgendaScreen))
        team = app.session.team
        # first in the list (names in alphabetical order): highlighted when the section opens
        terr = await team.territories.create(name="Abri bus de la mairie")
        seen = dt.datetime(2026, 11, 19, 20, 15, tzinfo=dt.UTC)
        obs = await team.observations.create(
            territory=terr.id, observed_at=seen, men=21, women=1, atmosphere="RAS",
            comment="Distribution de soupe")
        await pilot.press("f5")
        await wait_for(pilot, lambda: isinstance(app.screen, TerritoriesScreen))
        screen = app.screen
        await wait_for(pilot, lambda: screen._territory() == terr.id, what="highlighted")
        await wait_for(pilot, lambda: shows(app, "Entrée corriger"), what="the title's keys")
        table = screen.query_one("#observations", DataTable)
        await wait_for(pilot, lambda: obs.id in table.rows, what="the observation listed")
        table.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen), what="its form")
        form = app.screen
        assert shows(app, "Modifier l'observation — Abri bus de la mairie")
        assert form.query_one("#field-men", Input).value == "21"       # its values
        assert form.query_one("#field-comment").text == "Distribution de soupe"
        assert form.query_one("#field-observed_at", Input).value == "19/11/2026 21:15"
        form.query_one("#field-men", Input).value = "12"
        form.query_one("#field-observed_at", Input).value = "31/11/2026 21:15"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "Observée le" in str(form.query_one("#error-observed_at").render())
        assert team.observations.get(obs.id).men == 21              # nothing written
        form.query_one("#field-observed_at", Input).value = "18/11/2026 22:40"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: team.observations.get(obs.id).men == 12, what="saved")
        saved = team.observations.get(obs.id)
        assert saved.observed_at == dt.datetime(2026, 11, 18, 21, 40, tzinfo=dt.UTC)
        assert (saved.women, saved.comment, saved.atmosphere) == (1, "Distribution de soupe",
                                                                 "RAS")
        assert len(team.observations.filter(lambda o: o.territory == terr.id)) == 1
        await wait_for(pilot, lambda: isinstance(app.screen, TerritoriesScreen))
        await wait_for(pilot, lambda: shows(app, "12 H, 1 F"), what="the table corrected")

        # deleted after a confirmation, taken back with Ctrl+Z
        table.focus()
        await pilot.press("delete")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="asked")
        assert "Supprimer l'observation du 18/11/2026 22:40 ?" in app.screen.body
        app.screen.query_one("#confirm", Button).press()
        await wait_for(pilot, lambda: not team.observations.filter(
            lambda o: o.territory == terr.id), what="deleted")
        await wait_for(pilot, lambda: "Observation du 18/11/2026 22:40 supprimée." in
                       notices(app), what="said")
        await wait_for(pilot, lambda: shows(app, "« Abri bus de la mairie » : 0"))
        await pilot.press("ctrl+z")
        await wait_for(pilot, lambda: team.observations.filter(
            lambda o: o.territory == terr.id), what="restored")

        # the territory: kept while it holds an observation (the statistics count it), then
        # deleted once it holds none, after a confirmation, and taken back with Ctrl+Z.
        # Before, nothing deleted a territory (one created by mistake stayed for good).
        territories = screen.query_one("#territories", DataTable)
        territories.focus()
        await pilot.press("delete")
        await wait_for(pilot, lambda: "« Abri bus de la mairie » garde 1 observation" in
                       notices(app), what="refused while it holds one")
        assert not isinstance(app.screen, ConfirmScreen)
        assert team.territories.get(terr.id).name == "Abri bus de la mairie"
        await wait_for(pilot, lambda: table.row_count == 1, what="listed again")
        table.focus()
        await pilot.press("delete")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="asked")
        app.screen.query_one("#confirm", Button).press()
        await wait_for(pilot, lambda: not team.observations.filter(
            lambda o: o.territory == terr.id), what="deleted again")
        territories.focus()
        await pilot.press("delete")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="asked")
        assert "Supprimer le territoire « Abri bus de la mairie » ?" in app.screen.body
        app.screen.query_one("#confirm", Button).press()
        await wait_for(pilot, lambda: terr.id not in {x.id for x in team.territories.list()},
                       what="the territory deleted")
        await wait_for(pilot, lambda: terr.id not in territories.rows, what="unlisted")
        await pilot.press("ctrl+z")
        await wait_for(pilot, lambda: terr.id in {x.id for x in team.territories.list()},
                       what="the territory restored")
