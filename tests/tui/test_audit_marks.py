"""The verified field history on the person file and the action detail (issue 11, audit)."""

from __future__ import annotations

from typing import Any

import pytest
from pycrdt import Map
from textual.widgets import DataTable

from mano_core.ids import Compartment
from tui.screens.actions_common import ActionDetailScreen
from tui.screens.agenda import AgendaScreen
from tui.screens.person_file import PersonFileScreen
from tui.widgets.paged_table import PagedTable

from .conftest import SIZE, app_on, wait_for

pytestmark = pytest.mark.timeout(180)


def rows(table: DataTable[Any]) -> list[list[str]]:
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def test_person_file_history_shows_who_and_whether_the_signature_holds(demo_store):
    app = app_on(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, AgendaScreen), what="the agenda")
        team = app.session.team
        person = await team.persons.create(name="Personne Z")
        await team.persons.update(person.id, phone="0639980011")
        # a tampered entry (its new value rewritten in the shared document)
        created = team.history_of(person.id)[0]
        history = team.doc.doc.get("history", type=Map)
        history[created.id] = {**dict(history[created.id]), "new": "falsifié"}
        await team.compartment(Compartment.GENERAL).commit()

        app.push_screen(PersonFileScreen(person.id))
        await wait_for(pilot, lambda: isinstance(app.screen, PersonFileScreen))
        await pilot.press("7")
        table = app.screen.query_one("#history", DataTable)
        await wait_for(pilot, lambda: table.row_count == 2, what="two history lines")
        phone, tampered = rows(table)  # newest first
        me = app.session.member_name(team.info.member, app.t)
        # the field by its label, not its engine name
        assert phone[1:] == [me, "Téléphone", "— → 0639980011", "✓ signé"]
        assert tampered[2:] == ["Création", "— → falsifié", "⚠ signature invalide"]


async def test_action_detail_shows_its_verified_history_in_english(demo_store):
    app = app_on(demo_store, lang="en")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, AgendaScreen), what="the agenda")
        await pilot.pause()
        table = app.screen.query_one(PagedTable)
        await wait_for(pilot, lambda: bool(table.items), what="actions of the day")
        action_id = table.current_key()
        assert action_id
        team = app.session.team
        await pilot.press("r")  # to do (if it was not), then done: the status changes, signed
        await wait_for(pilot, lambda: team.actions.get(action_id).status == "A FAIRE")
        await pilot.press("d")
        await wait_for(pilot, lambda: team.actions.get(action_id).status == "FAIT")
        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(app.screen, ActionDetailScreen),
                       what="the action detail")
        assert app.screen.action_id == action_id
        history = app.screen.query_one("#history", DataTable)
        await wait_for(pilot, lambda: history.row_count >= 2, what="the status change")
        by_field: dict[str, list[str]] = {}
        for row in rows(history):  # newest first: keep each field's last change
            by_field.setdefault(row[2], row)
        me = app.session.member_name(team.info.member, app.t)
        # the field by its label, the statuses as the agenda shows them
        assert by_field["Status"][1] == me
        assert by_field["Status"][3] == "☐ TO DO → ✓ DONE"
        assert by_field["Status"][4] == "✓ signed"
        assert team.actions.get(action_id).name in str(
            app.screen.query_one("#file-title").render())
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, AgendaScreen))
