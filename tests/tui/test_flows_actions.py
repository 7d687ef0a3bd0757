"""Pilot tests of actions: several persons (homonyms told apart), categories and sub-teams,
a structure, the family flag, with or without a time; edit, duplicate, delete; comments on
an action. Each checks the engine's record and what the screen shows."""

from __future__ import annotations

import datetime as dt

import pytest
from textual.widgets import Button, DataTable, Input, Select, TextArea

from tui.screens.actions_common import ActionDetailScreen
from tui.screens.agenda import AgendaScreen
from tui.widgets.action_form import ActionFormScreen, Ticks
from tui.widgets.confirm import ConfirmScreen
from tui.widgets.forms import FormScreen
from tui.widgets.paged_table import PagedTable
from tui.widgets.toggle import Check

from .conftest import NOW, app_on, wait_for
from .rendered import screen_text, shows

pytestmark = pytest.mark.timeout(180)
SIZE = (120, 44)
PARIS = dt.timezone(dt.timedelta(hours=1))   # Paris in November


async def opened(pilot) -> None:
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, AgendaScreen), what="agenda")
    await pilot.pause()


def tick(form: ActionFormScreen, field: str, label: str) -> None:
    ticks = form.query_one(f"#field-{field}", Ticks)
    for (shown, _value), box in zip(ticks._options, ticks.query(Check), strict=True):
        if shown == label:
            box.value = True
            return
    raise AssertionError(f"no {label!r} in {field}")


async def test_flow_action_multi(demo_store):
    app = app_on(demo_store)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await opened(pilot)
        team = app.session.team
        # two homonyms and a third person: the matches tell the homonyms apart
        first = await team.persons.create(name="Sami Homonyme", birthdate=dt.date(1980, 5, 1))
        second = await team.persons.create(name="Sami Homonyme", birthdate=dt.date(1992, 7, 9))
        other = await team.persons.create(name="Lila Autre")
        await wait_for(pilot, lambda: len(app.persons_index.query(
            __import__("tui.people_index", fromlist=["PersonQuery"]).PersonQuery(
                text="Sami Homonyme"))) == 2, what="the index")
        structure = await team.structures.create(name="CMP du secteur")
        subteams = app.session.subteams()
        categories = sorted(team.settings.values("actionCategories"))[:2]

        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: isinstance(app.screen, ActionFormScreen), what="form")
        form = app.screen
        form.query_one("#field-name", Input).value = "Rendez-vous CMP en famille"
        search = form.query_one("#field-person-search", Input)
        search.focus()
        search.value = "sami homo"
        await wait_for(pilot, lambda: form.query_one("#person-matches").display)
        assert shows(app, "naissance : 01/05/1980") and shows(app, "naissance : 09/07/1992")
        # the second line is the younger homonym: pick it with Down then Enter
        options = form.query_one("#person-matches")
        ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
        options.highlighted = ids.index(second.id)
        await pilot.press("enter")
        await wait_for(pilot, lambda: form.query_one("#field-persons", Ticks).selected
                       == [second.id], what="the homonym added")
        search.value = "lila"
        await wait_for(pilot, lambda: form.query_one("#person-matches").display)
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(form.query_one("#field-persons", Ticks).selected) == 2)
        form.query_one("#field-day", Input).value = "24/11/2026"
        form.query_one("#field-time", Input).value = "14h30"
        for name in categories:
            tick(form, "categories", name)
        for s in subteams[:2]:
            tick(form, "teams", s.name)
        form.query_one("#field-structure", Select).value = structure.id
        form.query_one("#field-group", Check).value = True
        form.query_one("#field-urgent", Check).value = True
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: any(a.name == "Rendez-vous CMP en famille"
                                          for a in team.actions.list()), what="the action")
        a = next(a for a in team.actions.list() if a.name == "Rendez-vous CMP en famille")
        assert a.persons == [second.id, other.id] and first.id not in a.persons
        assert sorted(a.categories) == categories
        assert set(a.teams) >= {s.id for s in subteams[:2]}
        assert a.structure == structure.id and a.group and a.urgent and a.with_time
        assert a.due_at == dt.datetime(2026, 11, 24, 14, 30, tzinfo=PARIS)

        # without a time: the day only, never a made-up hour
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: isinstance(app.screen, ActionFormScreen))
        form = app.screen
        form.query_one("#field-name", Input).value = "Appeler la CAF"
        form.query_one("#field-time", Input).value = ""
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: any(x.name == "Appeler la CAF"
                                          for x in team.actions.list()))
        plain = next(x for x in team.actions.list() if x.name == "Appeler la CAF")
        assert not plain.with_time and plain.persons == []
        table = app.screen.query_one(PagedTable)
        await wait_for(pilot, lambda: plain.id in {x.id for x in table.items})
        row = [str(c) for c in table.table.get_row(plain.id)]
        assert row[0] == "20/11"

        # the agenda row names the persons; the detail lists all of it
        await pilot.press("4")                      # the next seven days
        await wait_for(pilot, lambda: a.id in {x.id for x in table.items})
        row = [str(c) for c in table.table.get_row(a.id)]
        assert row[0] == "24/11 14:30" and "Sami Homonyme" in row[3] and "Lila Autre" in row[3]
        table.table.move_cursor(row=table.table.get_row_index(a.id))
        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(app.screen, ActionDetailScreen))
        await pilot.pause()
        assert shows(app, "CMP du secteur") and shows(app, "FAMILLE")
        assert shows(app, "24/11/2026 14:30")


async def test_flow_action_edit(demo_store):
    app = app_on(demo_store)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await opened(pilot)
        team = app.session.team
        person = await team.persons.create(name="Personne de l'action")
        a = await team.actions.create(name="Domiciliation", persons=[person.id],
                                      due_at=NOW, with_time=False, categories=[])
        table = app.screen.query_one(PagedTable)
        await wait_for(pilot, lambda: a.id in {x.id for x in table.items})
        table.table.move_cursor(row=table.table.get_row_index(a.id))

        # edit: the form holds the action's values; the change is saved on the same record
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, ActionFormScreen))
        form = app.screen
        assert form.query_one("#field-name", Input).value == "Domiciliation"
        assert form.query_one("#field-persons", Ticks).selected == [person.id]
        assert form.query_one("#field-time", Input).value == ""
        form.query_one("#field-name", Input).value = "Domiciliation CCAS"
        form.query_one("#field-time", Input).value = "09:15"
        form.query_one("#field-description", TextArea).text = "Apporter la pièce d'identité"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: team.actions.get(a.id).name == "Domiciliation CCAS",
                       what="the edit saved")
        edited = team.actions.get(a.id)
        assert edited.with_time and edited.description == "Apporter la pièce d'identité"
        assert fmt_time(edited.due_at) == "09:15"
        assert [x.id for x in team.actions.list() if x.name == "Domiciliation CCAS"] == [a.id]
        await wait_for(pilot, lambda: "Domiciliation CCAS" in [
            str(c) for c in table.table.get_row(a.id)], what="the row redrawn")

        # duplicate: a new action with the same persons and day, to do
        await pilot.press("ctrl+d")
        await wait_for(pilot, lambda: isinstance(app.screen, ActionFormScreen))
        app.screen.query_one("#field-name", Input).value = "Domiciliation CCAS (relance)"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: any(x.name == "Domiciliation CCAS (relance)"
                                          for x in team.actions.list()), what="the copy")
        copy = next(x for x in team.actions.list() if x.name == "Domiciliation CCAS (relance)")
        assert copy.id != a.id and copy.persons == [person.id] and copy.status == "A FAIRE"
        assert copy.due_at == edited.due_at and team.actions.get(a.id).name == "Domiciliation CCAS"

        # comments on the action: read and add, from its detail
        await team.comments.create(text="Dossier déposé", action=a.id, date=NOW)
        await wait_for(pilot, lambda: isinstance(app.screen, AgendaScreen))
        table.table.move_cursor(row=table.table.get_row_index(a.id))
        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(app.screen, ActionDetailScreen))
        detail = app.screen
        comments = detail.query_one("#action-comments", DataTable)
        await wait_for(pilot, lambda: comments.row_count == 1 and shows(app, "Dossier déposé"),
                       what="the comment drawn")
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        app.screen.query_one("#field-text", TextArea).text = "Rappeler lundi"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: len(team.comments.of_action(a.id)) == 2,
                       what="the comment saved")
        assert {c.text for c in team.comments.of_action(a.id)} == {"Dossier déposé",
                                                                   "Rappeler lundi"}
        await wait_for(pilot, lambda: comments.row_count == 2 and shows(app, "Rappeler lundi"))

        # delete: asked first (Cancel has the focus), then gone, Ctrl+Z brings it back
        await pilot.press("delete")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("enter")                   # Enter alone never deletes
        await wait_for(pilot, lambda: app.screen is detail)
        assert not team.actions.get(a.id).deleted
        await pilot.press("delete")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        app.screen.query_one("#confirm", Button).press()
        await wait_for(pilot, lambda: team.actions.get(a.id, include_deleted=True).deleted,
                       what="the action deleted")
        await wait_for(pilot, lambda: isinstance(app.screen, AgendaScreen))
        await wait_for(pilot, lambda: a.id not in {x.id for x in table.items})
        await pilot.press("ctrl+z")
        await wait_for(pilot, lambda: not team.actions.get(a.id, include_deleted=True).deleted,
                       what="the action back")


def fmt_time(moment: dt.datetime) -> str:
    return f"{moment.astimezone(PARIS):%H:%M}"


async def test_a_cancelled_action_says_annulee_le(demo_store):
    """The action's detail says when it was cancelled as 'Annulée le', when it was done as
    'Faite le' (before: 'Faite ou annulée le' for both)."""
    app = app_on(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        team = app.session.team
        at = NOW - dt.timedelta(hours=2)
        cancelled = await team.actions.create(
            name="RDV CAF annulé", teams=[app.session.subteam], due_at=NOW, status="ANNULEE",
            completed_at=at)
        done = await team.actions.create(
            name="Domiciliation faite", teams=[app.session.subteam], due_at=NOW, status="FAIT",
            completed_at=at)
        table = app.screen.query_one(PagedTable)
        for action, said in ((cancelled, "Annulée le 20/11/2026 08:30"),
                             (done, "Faite le 20/11/2026 08:30")):
            await wait_for(pilot, lambda a=action: a.id in {x.id for x in table.items},
                           what="the action listed")
            table.table.focus()
            table.table.move_cursor(row=table.table.get_row_index(action.id))
            await pilot.press("v")
            await wait_for(pilot, lambda: isinstance(app.screen, ActionDetailScreen))
            await wait_for(pilot, lambda s=said: shows(app, s), what=said)
            assert not shows(app, "ou annulée")
            await pilot.press("escape")
            await wait_for(pilot, lambda: isinstance(app.screen, AgendaScreen))


async def test_a_long_category_ends_with_an_ellipsis_in_the_action_form(demo_store):
    """A category longer than the form's column reads cut with '…' (it was cut mid-word with
    nothing to say so: 'Accompagnement dans les démarc', read as the whole name); still
    ticked and saved whole."""
    long_name = "Accompagnement dans les démarches administratives et juridiques"
    app = app_on(demo_store)
    async with app.run_test(size=(100, 32)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, AgendaScreen), what="the agenda")
        team = app.session.team
        await team.settings.add("actionCategories", long_name)
        await pilot.pause()
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: isinstance(app.screen, ActionFormScreen), what="the form")
        await pilot.pause()
        line = next(line for line in screen_text(app).splitlines()
                    if "Accompagnement dans" in line)
        assert "Accompagnement dans les démar…" in line, line
        ticks = app.screen.query_one("#field-categories", Ticks)
        box = next(b for b in ticks.query(Check) if "Accompagnement dans" in str(b.label))
        box.value = True
        assert long_name in ticks.selected   # the choice itself is whole
