"""The person file through two apps on two devices and a real relay subprocess: what one
writes in its forms (out of the active list, passages) the other's open file shows, and its
engine holds."""

from __future__ import annotations

import datetime as dt

import pytest
from textual.widgets import DataTable

from .pilots import field, form_open, open_file, save, wait_for
from .rendered import shows

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]
SIZE = (120, 36)


async def test_two_devices_share_the_person_file_flows(two_devices):
    async def prepare(team):
        sub = await team.subteams.create(name="Accueil de jour")
        return await team.persons.create(name="Personne T", assigned_teams=[sub.id])

    devices = await two_devices(prepare)
    person = devices.prepared
    async with devices.apps(SIZE) as (pa, pb):
        app_a, app_b = pa.app, pb.app
        team_a, team_b = app_a.session.team, app_b.session.team
        await wait_for(pb, lambda: person.id in {p.id for p in team_b.persons.list()},
                       what="B has A's person")
        await open_file(pa, person.id)
        await open_file(pb, person.id)

        # A: out of the active list, through its form
        form = await form_open(pa, "o")
        field(form, "outOfActiveListDate").value = "19/11/2026"
        {str(b.label): b for b in field(form, "outOfActiveListReasons").query("Check")}[
            "Hébergée"].value = True
        await save(pa)
        await wait_for(pb, lambda: team_b.persons.get(person.id).out_of_active_list,
                       what="B's engine holds it")
        got = team_b.persons.get(person.id)
        assert got.out_of_active_list_date == dt.date(2026, 11, 19)
        assert got.out_of_active_list_reasons == ["Hébergée"]
        await wait_for(pb, lambda: shows(app_b, "HORS FILE ACTIVE")
                       and shows(app_b, "Hébergée"), what="B's open file shows it")

        # B: two passages at once; A's passages tab lists them, with B's name
        form = await form_open(pb, "p")
        field(form, "count").value = "2"
        form.query_one("#field-comment").insert("Douche et café")
        await save(pb)
        await wait_for(pa, lambda: len(team_a.passages.filter(
            lambda x: x.person == person.id)) == 2, what="A receives both")
        await pa.press("5")
        table = app_a.screen.query_one("#visits", DataTable)
        await wait_for(pa, lambda: table.row_count == 2, what="A's tab lists them")
        rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
        assert all("Basile" in r and "Douche et café" in r and "passage" in r
                   for r in rows), rows

