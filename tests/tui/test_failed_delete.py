"""A deletion that the engine refuses is said in the interface's language: an action or a
document that a teammate deleted while the confirmation was open. Before, the notice showed
the engine's own English message with the record's id ("actions: no record '…'")."""

from __future__ import annotations

import datetime as dt

import pytest
from textual.widgets import Button

from tui.screens.agenda import AgendaScreen
from tui.widgets.confirm import ConfirmScreen
from tui.widgets.paged_table import PagedTable
from tui.widgets.table import LiteralTable

from .conftest import NOW, SIZE, app_on, wait_for
from .rendered import notices
from .test_erasure_screens import open_file
from .test_flows import opened

pytestmark = pytest.mark.timeout(180)
GONE = "cette fiche n'existe plus"   # error.code.NotFoundError, in French


async def _confirmed_after_a_teammate_deleted(pilot, delete_meanwhile) -> str:
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="asked")
    await delete_meanwhile()
    app.screen.query_one("#confirm", Button).press()
    await wait_for(pilot, lambda: GONE in notices(app), what="the refusal said")
    return notices(app)


async def test_an_action_deleted_meanwhile_is_said_in_french(demo_store):
    app = app_on(demo_store)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, AgendaScreen))
        team = app.session.team
        person = (await team.persons.create(name="Lucie Supprimée")).id
        action = await team.actions.create(name="Appeler le SIAO", persons=[person],
                                           due_at=NOW + dt.timedelta(hours=1), with_time=True)
        table = app.screen.query_one(PagedTable)
        await wait_for(pilot, lambda: action.id in {x.id for x in table.items}, what="listed")
        table.table.move_cursor(row=table.table.get_row_index(action.id))
        await pilot.press("delete")

        async def teammate() -> None:
            await team.actions.delete(action.id)

        said = await _confirmed_after_a_teammate_deleted(pilot, teammate)
        assert "no record" not in said and action.id not in said


async def test_a_document_deleted_meanwhile_is_said_in_french(demo_store):
    app = app_on(demo_store)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await opened(pilot)
        team = app.session.team
        person = await team.persons.create(name="Nadia Papiers")
        doc = await team.documents.add(person.id, "carte-ame.pdf", b"%PDF carte")
        screen = await open_file(pilot, "Nadia Papiers")
        await pilot.press("9")
        await pilot.pause()
        table = screen.query_one("#documents", LiteralTable)
        await wait_for(pilot, lambda: table.row_count == 1, what="listed")
        table.focus()
        await pilot.press("delete")

        async def teammate() -> None:
            await team.documents.delete(doc.id)

        said = await _confirmed_after_a_teammate_deleted(pilot, teammate)
        assert "no record" not in said and doc.id not in said
