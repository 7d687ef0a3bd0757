"""Settings through the keyboard, asserting what the engine then holds and what the screen
shows: the team's lists in groups, sub-teams, custom fields of every flag and their options."""

from __future__ import annotations

import pytest
from textual.widgets import Input, Select

from mano_core.mano_compat.groups import group_of
from tui.screens.agenda import AgendaScreen
from tui.screens.settings import SettingsScreen
from tui.widgets.confirm import ConfirmScreen
from tui.widgets.forms import FormScreen

from .conftest import SIZE, app_on, wait_for
from .rendered import shows

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


async def tab(pilot, key: str, table: str) -> SettingsScreen:
    app = pilot.app
    if not isinstance(app.screen, SettingsScreen):
        await pilot.press("f9")
        await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen), what="settings")
    await pilot.press(key)
    await wait_for(pilot, lambda: app.focused is not None and app.focused.id == table,
                   what=f"{table} focused")
    return app.screen


async def fill(pilot, key: str, **values) -> None:
    app = pilot.app
    await pilot.press(key)
    await wait_for(pilot, lambda: isinstance(app.screen, FormScreen), what="the form")
    for name, value in values.items():
        widget = app.screen.query_one(f"#field-{name}")
        widget.value = value
    await pilot.press("ctrl+s")
    await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen), what="saved")


async def confirm(pilot, key: str, names: str) -> None:
    app = pilot.app
    await pilot.press(key)
    await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
    assert names in app.screen.body
    await pilot.click("#confirm")
    await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen), what="done")


def select_row(screen, table_id: str, key: str) -> None:
    table = screen.query_one(f"#{table_id}")
    table.move_cursor(row=table.get_row_index(key))


async def test_flow_settings_lists(demo_store):
    app = app_on(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, AgendaScreen), what="agenda")
        team = app.session.team
        settings = team.settings
        screen = await tab(pilot, "4", "list-values")

        # add a category in a group
        await fill(pilot, "n", name="Maraude de rue", group="Accompagnement")
        assert "Maraude de rue" in settings.values("actionCategories")
        assert group_of(settings, "actionCategories", "Maraude de rue") == "Accompagnement"
        await wait_for(pilot, lambda: shows(app, "Maraude de rue"), what="listed")

        # rename a category actions hold: the actions follow, the group is kept
        used = next(c for c in settings.values("actionCategories")
                    if team.actions.by_category(c))
        holders = {a.id for a in team.actions.by_category(used)}
        group = group_of(settings, "actionCategories", used)
        select_row(screen, "list-values", used)
        await fill(pilot, "r", name="Catégorie renommée")
        assert used not in settings.values("actionCategories")
        assert {a.id for a in team.actions.by_category("Catégorie renommée")} == holders
        assert not team.actions.by_category(used)
        assert group_of(settings, "actionCategories", "Catégorie renommée") == group
        await wait_for(pilot, lambda: shows(app, "Catégorie renommée"), what="renamed")

        # remove it: no longer offered, the actions keep what was recorded
        select_row(screen, "list-values", "Catégorie renommée")
        await confirm(pilot, "x", "Catégorie renommée")
        assert "Catégorie renommée" not in settings.values("actionCategories")
        assert {a.id for a in team.actions.by_category("Catégorie renommée")} == holders

        # the other lists, one key away
        await pilot.press("l")
        await wait_for(pilot, lambda: screen.query_one("#list-kind", Select).value
                       == "structureCategories", what="the next list")
        await fill(pilot, "n", name="Bagagerie solidaire", group="Vie quotidienne")
        assert "Bagagerie solidaire" in settings.values("structureCategories")

        # sub-teams: night flag, rename, delete
        screen = await tab(pilot, "2", "subteams")
        sub = app.session.subteams()[0]
        select_row(screen, "subteams", sub.id)
        await pilot.press("t")
        await wait_for(pilot, lambda: team.subteams.get(sub.id).night_session
                       is not sub.night_session, what="the night flag")
        select_row(screen, "subteams", sub.id)
        await fill(pilot, "r", name="Équipe renommée")
        assert team.subteams.get(sub.id).name == "Équipe renommée"
        await wait_for(pilot, lambda: shows(app, "Équipe renommée"), what="renamed")
        select_row(screen, "subteams", sub.id)
        await confirm(pilot, "x", "Équipe renommée")
        assert sub.id not in {s.id for s in team.subteams.list()}


async def test_flow_custom_fields_settings(demo_store):
    app = app_on(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, AgendaScreen), what="agenda")
        team = app.session.team
        screen = await tab(pilot, "5", "fields")
        sub = app.session.subteams()[0]
        await fill(pilot, "n", label="Hébergement souhaité", type="enum", options="Foyer, Hôtel",
                   required=True, show_in_stats=True, **{f"team_{sub.id}": True})
        d = next(d for d in team.custom_fields.list() if d.label_text == "Hébergement souhaité")
        assert (d.scope, d.type, d.options) == ("person", "enum", ["Foyer", "Hôtel"])
        assert (d.required, d.show_in_stats, d.health_only, d.enabled_teams) == (
            True, True, False, [sub.id])
        await wait_for(pilot, lambda: shows(app, "Hébergement souhaité"), what="listed")

        # an option renamed: the value a person holds follows
        person = team.persons.list()[0]
        await team.persons.update(person.id, custom_fields={d.key: "Hôtel"})
        select_row(screen, "fields", d.id)
        await fill(pilot, "o", option_1="Hôtel social", more="Pension de famille")
        assert team.custom_fields.get(d.id).options == ["Foyer", "Hôtel social",
                                                        "Pension de famille"]
        assert team.persons.get(person.id).custom_fields[d.key] == "Hôtel social"

        # disabled, then removed: the person's file stays editable (no record is locked)
        select_row(screen, "fields", d.id)
        await pilot.press("t")
        await wait_for(pilot, lambda: not team.custom_fields.get(d.id).enabled,
                       what="disabled")
        select_row(screen, "fields", d.id)
        await confirm(pilot, "x", "Hébergement souhaité")
        assert d.id not in {x.id for x in team.custom_fields.list()}
        await team.persons.update(person.id, phone="06 39 98 00 22")
        assert team.persons.get(person.id).phone == "06 39 98 00 22"

        # a consultation field needs one of the consultation types
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        form = app.screen
        form.query_one("#field-label", Input).value = "Tension"
        form.query_one("#field-scope", Select).value = "consultation"
        form.query_one("#field-section", Input).value = "Pas un type"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: shows(app, "le type de consultation"), what="refused")
        assert isinstance(app.screen, FormScreen)
