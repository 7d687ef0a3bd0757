"""Two app instances on two devices, through a real relay subprocess, see each other's edits
and who has a person file open."""

from __future__ import annotations

import pytest

from tui.screens.person_file import PersonFileScreen

from .conftest import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


async def test_two_apps_see_each_others_edits(two_devices):
    async def prepare(team):
        return await team.persons.create(name="Personne T")

    devices = await two_devices(prepare)
    person = devices.prepared
    async with devices.apps() as (pa, pb):
        app_a, app_b = pa.app, pb.app
        team_a, team_b = app_a.session.team, app_b.session.team
        await wait_for(pb, lambda: person.id in {p.id for p in team_b.persons.list()},
                       what="B has A's person")

        # B opens the file: A sees who has it open once A opens it too
        for pilot in (pb, pa):  # the persons list holds only him: F3, Enter opens his file
            await pilot.press("f3")
            await wait_for(pilot, lambda p=pilot: p.app.screen.query("PagedTable")
                           and p.app.screen.query_one("PagedTable").items)
            await pilot.press("enter")
            await wait_for(pilot, lambda p=pilot: isinstance(p.app.screen, PersonFileScreen)
                           and p.app.screen.person_id == person.id)
        await wait_for(pa, lambda: "Basile" in str(
            app_a.screen.query_one("#viewers").render()),
            what="A sees that Basile has the file open")

        # an edit on A appears in B's open file, and the other way round
        await team_a.persons.update(person.id, phone="06 39 98 00 11")
        await wait_for(pb, lambda: "06 39 98 00 11" in str(
            app_b.screen.query_one("#summary").render()),
            what="B's file shows A's edit")
        await team_b.comments.create(text="Vu gare du Nord", person=person.id,
                                     date=app_b.now())
        await wait_for(pa, lambda: team_a.comments.of_person(person.id),
                       what="A receives B's comment")
        await wait_for(pa, lambda: app_a.screen.query_one("#comments").row_count == 1,
                       what="A's open file lists it")
        assert "Awa" in str(app_b.screen.query_one("SyncBar").render()) or \
            app_b.session.sync.state.online_teammates()

