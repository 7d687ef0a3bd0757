"""What a worker sees of consent, erasure and retention: the consent on the person file, the
erasure confirmation with its counts (then the person is gone from the list), the retention
dry run listing who would be erased."""

from __future__ import annotations

import datetime as dt

import pytest
from textual.widgets import DataTable, Input, Static

from mano_core import sharing
from mano_core.retention import months_before
from tui.screens.person_file import PersonFileScreen
from tui.screens.persons import PersonsScreen
from tui.screens.settings import SettingsScreen
from tui.widgets.confirm import ConfirmScreen
from tui.widgets.forms import FormScreen
from tui.widgets.paged_table import PagedTable

from .conftest import NOW, REFERENCE, SIZE, app_on, wait_for
from .test_flows import opened

pytestmark = pytest.mark.timeout(180)


def text_of(screen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def open_file(pilot, name: str) -> PersonFileScreen:
    """Find ``name`` in the persons list (all statuses) and open the file from there."""
    app = pilot.app
    await pilot.press("f3")
    await wait_for(pilot, lambda: isinstance(app.screen, PersonsScreen))
    app.screen.action_cycle_status()
    app.screen.action_cycle_status()  # active → out → all (letters typed here would search)
    app.screen.query_one("#search", Input).value = name
    table = app.screen.query_one(PagedTable)
    await wait_for(pilot, lambda: [p.name for p in table.items] == [name], what=name)
    await pilot.press("escape", "enter")
    await wait_for(pilot, lambda: isinstance(app.screen, PersonFileScreen), what="the file")
    await pilot.pause()
    return app.screen


@pytest.mark.slow
async def test_the_person_file_shows_her_consent(demo_store):
    app = app_on(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        team = app.session.team
        person = await team.persons.create(name="Nadia Consentie")
        given = await sharing.record_consent(
            team, person.id, collected_at=dt.date(2026, 10, 2), collected_by=team.info.member,
            partner_organisation="CAARUD Sud", scope=["identity", "comments"],
            joint_team="5b1f1b0e-0000-4000-8000-000000000001")
        screen = await open_file(pilot, "Nadia Consentie")
        summary = text_of(screen, "#summary")
        assert "Consentement au suivi partagé" in summary
        assert "✓ en vigueur" in summary and "02/10/2026" in summary
        assert "CAARUD Sud" in summary and "identité, commentaires" in summary
        collector = app.session.member_name(team.info.member, app.t)
        assert f"par {collector}" in summary
        await team.consents.update(given.id, withdrawn_at=NOW)
        await wait_for(pilot, lambda: "✗ retiré le 20/11/2026" in text_of(screen, "#summary"),
                       what="the withdrawal on the file")


@pytest.mark.slow
async def test_in_a_joint_team_the_file_says_who_shared_the_person(demo_store):
    app = app_on(demo_store, lang="en")
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        team = app.session.team  # the demo team stands for the joint team here
        person = await team.persons.create(name="Samir Partagé")
        await team.shares.create(person=person.id, organisation="CAARUD Sud",
                                 shared_by="ab" * 32,
                                 consent="c0ffee00-0000-4000-8000-000000000001",
                                 scope=["identity", "actions"],
                                 consented_at=dt.date(2026, 9, 14),
                                 collected_by=team.info.member)
        screen = await open_file(pilot, "Samir Partagé")
        summary = text_of(screen, "#summary")
        assert "Shared by CAARUD Sud under the consent of 14/09/2026" in summary
        assert "scope: identity, actions" in summary


@pytest.mark.slow
async def test_erasure_shows_counts_asks_and_removes_the_person_from_the_list(demo_store):
    app = app_on(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        team = app.session.team
        person = await team.persons.create(name="Bruno Effacé")
        await team.persons.create(name="Bruno Gardé")  # the search must show him
        for name in ("Domiciliation", "Rendez-vous CMP"):
            await team.actions.create(name=name, persons=[person.id], due_at=NOW)
        for text in ("Vu gare du Nord", "Dort sous le pont", "Demande un duvet"):
            await team.comments.create(text=text, person=person.id, date=NOW)
        screen = await open_file(pilot, "Bruno Effacé")
        assert screen.check_action("erase", ()) is True  # the demo device is an admin

        # cancelled first: nothing happens
        await pilot.press("E")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the dialog")
        dialog = app.screen
        body = dialog.body
        assert "Effacer définitivement « Bruno Effacé » ?" in body
        assert "    1  dossier de personne" in body
        assert "    2  actions" in body
        assert "    3  informations transmises" in body
        assert "impossible d'annuler" in body
        await pilot.press("enter")  # focus starts on Cancel
        await wait_for(pilot, lambda: isinstance(app.screen, PersonFileScreen))
        assert team.persons.get(person.id).name == "Bruno Effacé"

        await pilot.press("E")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.click("#confirm")
        await wait_for(pilot, lambda: isinstance(app.screen, PersonsScreen),
                       what="back to the list")
        assert not team.persons.filter(lambda p: p.id == person.id)
        assert not team.comments.of_person(person.id)
        table = app.screen.query_one(PagedTable)
        app.screen.query_one("#search", Input).value = "Bruno"
        names = lambda: [p.name for p in table.items]  # noqa: E731
        await wait_for(pilot, lambda: "Bruno Gardé" in names()
                       and all("Bruno" in n for n in names()), what="the search's result")
        assert "Bruno Effacé" not in names()
        assert all(p.id != person.id for p in table.items)


@pytest.mark.slow
async def test_erasing_a_person_shared_into_a_joint_team_this_device_lacks_is_refused(
        demo_store):
    app = app_on(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        team = app.session.team
        person = await team.persons.create(name="Inès Partagée")
        given = await sharing.record_consent(
            team, person.id, collected_at=dt.date(2026, 10, 2), collected_by=team.info.member,
            partner_organisation="CAARUD Sud", scope=["identity"],
            joint_team="5b1f1b0e-0000-4000-8000-000000000001")
        await team.consents.update(given.id, shared_as="5b1f1b0e-0000-4000-8000-0000000000aa")
        await open_file(pilot, "Inès Partagée")
        await pilot.press("E")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the dialog")
        assert "Partagée avec CAARUD Sud dans une équipe commune absente" in app.screen.body
        await pilot.click("#confirm")
        await wait_for(pilot, lambda: isinstance(app.screen, PersonFileScreen))
        await wait_for(pilot, lambda: any(n.severity == "error" for n in app._notifications),
                       what="the refusal shown")
        assert team.persons.get(person.id).name == "Inès Partagée"  # nothing erased
        assert team.erasure_records.list() == []


@pytest.mark.slow
async def test_retention_dry_run_lists_who_would_be_erased(demo_store):
    app = app_on(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        team = app.session.team
        old = await team.persons.create(name="Gérard Parti", out_of_active_list=True,
                                        out_of_active_list_date=dt.date(2024, 2, 1),
                                        out_of_active_list_reasons=["Relogée"])
        await team.persons.create(name="Lucie Récente", out_of_active_list=True,
                                  out_of_active_list_date=REFERENCE - dt.timedelta(days=30))
        await pilot.press("f9")
        await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen))
        screen = app.screen
        await pilot.press("6")   # the retention tab; its keys apply once the focus is in it
        await wait_for(pilot, lambda: app.focused is screen.query_one("#retention"))
        assert "Désactivée" in text_of(screen, "#retention-status")
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        app.screen.query_one("#field-months", Input).value = "24"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen))
        await pilot.press("r")
        table = screen.query_one("#retention", DataTable)
        await wait_for(pilot, lambda: table.row_count > 0, what="the dry run")
        cutoff = months_before(REFERENCE, 24)
        expected = {p.name for p in team.persons.list(include_deleted=True)
                    if p.out_of_active_list and p.out_of_active_list_date < cutoff}
        shown = {str(table.get_row_at(i)[0]) for i in range(table.row_count)}
        assert "Gérard Parti" in shown and "Lucie Récente" not in shown
        assert shown == expected
        row = table.get_row(old.id)
        assert (str(row[1]), str(row[2])) == ("01/02/2024", "Relogée")
        assert "Simulation" in text_of(screen, "#retention-status")
        assert team.persons.get(old.id).name == "Gérard Parti"  # nothing erased by a dry run

        # apply, with a confirmation that names him
        await pilot.press("R")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "Gérard Parti (01/02/2024)" in app.screen.body
        await pilot.click("#confirm")
        await wait_for(pilot, lambda: not team.persons.filter(lambda p: p.id == old.id),
                       what="the erasure")
        assert [p.name for p in team.persons.list() if p.name == "Lucie Récente"]
        erasures = screen.query_one("#erasures", DataTable)
        await wait_for(pilot, lambda: erasures.row_count == 1, what="the pending erasure")
        assert str(erasures.get_row_at(0)[1]) == "conservation"
        # The erasure shows (a redraw on the change) before the apply's worker has redrawn
        # the pane: leaving then, the worker redrew a pane being removed (NoMatches, once
        # under load). The test ends once it is done.
        await wait_for(pilot, lambda: not [w for w in app.workers if w.group == "write"
                                           and not w.is_finished], what="the apply done")
