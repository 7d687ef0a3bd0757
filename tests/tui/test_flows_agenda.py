"""Pilot tests of the agenda and the urgent screen: the order a worker reads them in, dates
with their year when it is not this one, no invented time on an action without one."""

from __future__ import annotations

import datetime as dt

import pytest
from textual.widgets import DataTable

from tui.screens.agenda import AgendaScreen
from tui.screens.urgent import UrgentScreen
from tui.widgets.paged_table import PagedTable

from .conftest import NOW, SIZE, app_on, wait_for
from .rendered import shows

pytestmark = pytest.mark.timeout(180)


async def opened(pilot) -> None:
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, AgendaScreen), what="agenda")
    await pilot.pause()


def rows(table: DataTable) -> list[list[str]]:
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def test_flow_urgent_sorted_and_laid_out(demo_store):
    app = app_on(demo_store)
    async with app.run_test(size=(160, 40)) as pilot:
        await opened(pilot)
        team = app.session.team
        far = await team.actions.create(name="Dossier retraite (dans deux ans)", urgent=True,
                                        due_at=NOW + dt.timedelta(days=700), with_time=False)
        old = await team.actions.create(name="Appel SIAO oublié", urgent=True,
                                        due_at=dt.datetime(2025, 3, 2, 13, 15, tzinfo=dt.UTC),
                                        with_time=True)
        soon = await team.actions.create(name="Rendez-vous CMP", urgent=True,
                                         due_at=NOW + dt.timedelta(days=2), with_time=False)
        await pilot.press("f8")
        await wait_for(pilot, lambda: isinstance(app.screen, UrgentScreen))
        table = app.screen.query_one("#urgent", DataTable)
        await wait_for(pilot, lambda: table.row_count >= 3, what="the urgent rows")
        shown = rows(table)
        names = [r[4] for r in shown]
        # the longest overdue first, then what comes soon, the far future last of the actions
        assert names.index(old.name) < names.index(soon.name) < names.index(far.name)
        assert names.index(far.name) < next(i for i, r in enumerate(shown)
                                            if r[1] == "Commentaire")
        by_name = {r[4]: r for r in shown}
        assert by_name[old.name][0] == "02/03/2025 14:15"      # another year: with its year
        assert by_name[soon.name][0] == "22/11"                # no time: no "01:00"
        assert by_name[far.name][0] == "20/10/2028"
        assert not any("01:00" in r[0] for r in shown)
        # laid out like the other sections: section bar, title, sync bar, nothing cut off
        assert shows(app, "F8 [Urg.]") and shows(app, "Urgences :")
        assert shows(app, "4 actions à faire (dont 1 en retard)")
        assert shows(app, "Local seulement")
        assert shows(app, "Dossier retraite (dans deux ans)")
        assert table.virtual_size.width <= table.size.width   # no sideways scrolling


async def test_day_view_lists_what_is_to_do_first(demo_store):
    app = app_on(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        team = app.session.team
        early = await team.actions.create(name="Petit déjeuner fait", with_time=True,
                                          due_at=NOW.replace(hour=6))
        await team.actions.mark_done(early.id, at=NOW)
        late = await team.actions.create(name="Maraude du soir", with_time=True,
                                         due_at=NOW.replace(hour=19))
        table = app.screen.query_one(PagedTable)
        await wait_for(pilot, lambda: {early.id, late.id} <= {a.id for a in table.items},
                       what="both actions in the day")
        statuses = [a.status for a in table.items]
        assert statuses == sorted(statuses, key=lambda s: s != "A FAIRE")
        ids = [a.id for a in table.items]
        assert ids.index(late.id) < ids.index(early.id)
        assert shows(app, "Maraude du soir")


async def test_an_urgent_comment_on_an_action_names_its_person_and_opens(demo_store):
    # Before: its Personne cell was empty, Enter opened nothing and v nothing: "plaie
    # infectée, voir l'infirmière" said about whom only inside the action.
    from tui.screens.actions_common import ActionDetailScreen
    from tui.screens.person_file import PersonFileScreen

    app = app_on(demo_store)
    async with app.run_test(size=(160, 40)) as pilot:
        await opened(pilot)
        team = app.session.team
        person = await team.persons.create(name="Gaëlle Urgente")
        action = await team.actions.create(name="Pansement au pied", persons=[person.id],
                                           due_at=NOW, with_time=False)
        comment = await team.comments.create(text="Plaie infectée, voir l'infirmière",
                                             action=action.id, urgent=True, date=NOW)
        await pilot.press("f8")
        await wait_for(pilot, lambda: isinstance(app.screen, UrgentScreen))
        screen = app.screen
        table = screen.query_one("#urgent", DataTable)
        key = f"comment:{comment.id}"
        await wait_for(pilot, lambda: key in table.rows, what="the urgent comment")
        row = [str(c) for c in table.get_row(key)]
        assert row[1:3] == ["Commentaire", "Gaëlle Urgente"]
        assert row[4] == "Pansement au pied — Plaie infectée, voir l'infirmière"
        table.move_cursor(row=table.get_row_index(key))
        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(app.screen, ActionDetailScreen),
                       what="the action's detail")
        assert app.screen.action_id == action.id
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen)
        table.move_cursor(row=table.get_row_index(key))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PersonFileScreen),
                       what="her file")
        assert app.screen.person_id == person.id
