"""Pilot tests of the day report: its text is never lost, the day's items are listed, and
collaborations are added from the team's list."""

from __future__ import annotations

import datetime as dt

import pytest
from textual.widgets import Button, DataTable, Select, TextArea

from mano_core.reporting import daily
from tui.screens.agenda import AgendaScreen
from tui.screens.report import ReportScreen
from tui.widgets.choice import UnsavedScreen
from tui.widgets.forms import FormScreen

from .conftest import NOW, SIZE, app_on, wait_for
from .rendered import shows

pytestmark = pytest.mark.timeout(180)
TODAY = dt.date(2026, 11, 20)


async def open_report(pilot) -> ReportScreen:
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, AgendaScreen), what="the agenda")
    await pilot.press("f6")
    await wait_for(pilot, lambda: isinstance(app.screen, ReportScreen), what="the report")
    await pilot.pause()
    return app.screen


async def type_in_report(pilot, screen: ReportScreen, text: str) -> None:
    area = screen.query_one("#description", TextArea)
    area.focus()
    await pilot.pause()
    area.insert(text)
    await pilot.pause()
    screen.query_one("#services", DataTable).focus()   # where < and > change the day
    await pilot.pause()


async def test_flow_report_unsaved_guard(demo_store):
    app = app_on(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_report(pilot)
        team = app.session.team
        sub = app.session.subteam
        await type_in_report(pilot, screen, "Maraude calme, 3 nouvelles personnes. ")
        await wait_for(pilot, lambda: shows(app, "Modifications non enregistrées"),
                       what="the unsaved mark")

        # a teammate changes the text meanwhile: what is typed stays on screen
        await daily.set_description(team, sub, TODAY, "Texte d'un équipier")
        await wait_for(pilot, lambda: shows(app, "Un équipier a modifié ce texte"),
                       what="the changed-meanwhile warning")
        area = screen.query_one("#description", TextArea)
        assert "Maraude calme" in area.text

        # next day: asked first; Escape stays on the same day with the text kept
        await pilot.press("full_stop")
        await wait_for(pilot, lambda: isinstance(app.screen, UnsavedScreen), what="the question")
        await wait_for(pilot, lambda: shows(app, "Texte non enregistré"), what="the question")
        assert app.session.subteam_name(sub) in app.screen.body
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen)
        assert screen.day == TODAY and "Maraude calme" in area.text

        # the sub-team: asked too, and staying puts the sub-team back
        other = next(s.id for s in app.session.subteams() if s.id != sub)
        screen.query_one("#subteam", Select).value = other
        await wait_for(pilot, lambda: isinstance(app.screen, UnsavedScreen), what="the question")
        await pilot.press("escape")
        await wait_for(pilot, lambda: screen.query_one("#subteam", Select).value == sub,
                       what="the sub-team put back")
        assert "Maraude calme" in area.text and app.session.subteam == sub

        # next day again, this time saving: the text lands on the day it was typed for
        screen.query_one("#services", DataTable).focus()
        await pilot.press("full_stop")
        await wait_for(pilot, lambda: isinstance(app.screen, UnsavedScreen))
        await pilot.click("#save")
        await wait_for(pilot, lambda: screen.day == TODAY + dt.timedelta(days=1),
                       what="the next day")
        saved = daily.get(team, sub, TODAY)
        assert saved is not None and "Maraude calme" in saved.description
        nxt = daily.get(team, sub, TODAY + dt.timedelta(days=1))
        assert area.text == (nxt.description if nxt else "")

        # quitting with unsaved text asks; dropping it quits and writes nothing
        await type_in_report(pilot, screen, "Brouillon à jeter")
        await pilot.press("f2")                      # even from another section
        await wait_for(pilot, lambda: isinstance(app.screen, AgendaScreen))
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: isinstance(app.screen, UnsavedScreen), what="asked")
        assert app.current_mode == "report"          # the text meant is the one behind
        await pilot.press("escape")                  # stay: the app still runs
        await wait_for(pilot, lambda: app.screen is screen)
        assert app.is_running and "Brouillon à jeter" in area.text
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: isinstance(app.screen, UnsavedScreen))
        app.screen.query_one("#discard", Button).press()
        await wait_for(pilot, lambda: not app.is_running, what="the app closed")
    # the dropped draft never reached the team, the saved text did
    reopened = app_on(demo_store)
    async with reopened.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(reopened.screen, AgendaScreen))
        team = reopened.session.team
        nxt = daily.get(team, sub, TODAY + dt.timedelta(days=1))
        assert nxt is None or "Brouillon" not in nxt.description
        assert "Maraude calme" in daily.get(team, sub, TODAY).description


async def test_quitting_without_unsaved_text_asks_nothing(demo_store):
    app = app_on(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_report(pilot)
        await type_in_report(pilot, screen, "Texte enregistré avant de partir")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not screen.has_unsaved(), what="the text saved")
        assert "avant de partir" in daily.get(app.session.team, app.session.subteam,
                                              TODAY).description
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: not app.is_running, what="the app closed")


async def test_flow_report_items(demo_store):
    app = app_on(demo_store)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, AgendaScreen))
        team = app.session.team
        sub = app.session.subteam
        person = await team.persons.create(name="Personne du jour", assigned_teams=[sub])
        at = NOW - dt.timedelta(hours=1)
        await team.comments.create(text="Commentaire du jour", person=person.id, date=at,
                                   team=sub)
        await team.passages.create(person=None, team=sub, date=at, comment="Passage anonyme")
        await team.encounters.create(person=person.id, team=sub, date=at,
                                     comment="Rencontre rue")
        territory = await team.territories.create(name="Gare du Nord")
        await team.observations.create(territory=territory.id, team=sub, observed_at=at,
                                       men=3, women=1, atmosphere="RAS")
        action = await team.actions.create(name="Douche à réserver", persons=[person.id],
                                           teams=[sub], due_at=at)
        await team.actions.mark_done(action.id, at=at)
        # a comment on the action: about its person (before: the action's name stood in the
        # person column), the action's name leading its text
        await team.comments.create(text="Réservée pour 18 h", action=action.id, date=at,
                                   team=sub)
        consultation = await team.medical.consultations.create(
            person=person.id, type="Infirmier", name="Pansement", due_at=at, teams=[sub])
        await open_report(pilot)
        table = app.screen.query_one("#day-items", DataTable)

        def rows() -> list[str]:
            return [" | ".join(str(c) for c in table.get_row_at(i))
                    for i in range(table.row_count)]

        await wait_for(pilot, lambda: any("Pansement" in r for r in rows()),
                       what="the consultation among the items")
        text = "\n".join(rows())
        for expected in ("Commentaire | Personne du jour | Commentaire du jour",
                         "Passage | anonyme | Passage anonyme",
                         "Rencontre | Personne du jour | Rencontre rue",
                         "Observation |  | Gare du Nord",
                         "Action faite | Personne du jour | Douche à réserver",
                         "Commentaire | Personne du jour | Douche à réserver — Réservée pour",
                         "Consultation | Personne du jour"):
            assert expected in text, expected
        assert shows(app, "Éléments du jour")
        assert shows(app, "Douche à réserver")
        assert consultation.id

        # a collaboration from the settings' list
        partner = sorted(team.settings.values("collaborations"))[0]
        rep = daily.get(team, sub, TODAY)
        assert rep is None or partner not in rep.collaborations
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen), what="the form")
        app.screen.query_one("#field-partner", Select).value = partner
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: (r := daily.get(team, sub, TODAY)) is not None
                       and partner in r.collaborations, what="the collaboration saved")
        await wait_for(pilot, lambda: isinstance(app.screen, ReportScreen))
        await wait_for(pilot, lambda: shows(app, f"Collaborations : {partner}"),
                       what="the collaboration shown")


async def test_unsaved_text_outlives_an_abrupt_end(demo_store):
    """The app closed without asking (a crash, a lock, a closed terminal): the text typed
    is kept on this device, encrypted like the rest, and comes back unsaved."""
    import asyncio
    import json

    from tui.screens.report import DRAFT_KEY
    from tui.session import PREFS

    app = app_on(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_report(pilot)
        sub = app.session.subteam
        store = app.session.device.store
        await type_in_report(pilot, screen, "Texte tapé avant la coupure")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while (raw := await store.get(PREFS, DRAFT_KEY)) is None:
            assert loop.time() < deadline, "the draft was never kept"
            await pilot.pause(0.1)
        assert "coupure" in json.loads(raw)["text"]
        app.exit()                                   # no question asked
    again = app_on(demo_store)
    async with again.run_test(size=SIZE, notifications=True) as pilot:
        screen = await open_report(pilot)
        area = screen.query_one("#description", TextArea)
        await wait_for(pilot, lambda: "Texte tapé avant la coupure" in area.text,
                       what="the text back")
        assert screen.has_unsaved() and shows(again, "Modifications non enregistrées")
        rep = daily.get(again.session.team, sub, TODAY)
        assert rep is None or "coupure" not in rep.description   # still not saved
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not screen.has_unsaved())
        assert "coupure" in daily.get(again.session.team, sub, TODAY).description
        store = again.session.device.store
        deadline = asyncio.get_running_loop().time() + 10
        while await store.get(PREFS, DRAFT_KEY) is not None:   # forgotten once saved
            assert asyncio.get_running_loop().time() < deadline
            await pilot.pause(0.1)
