"""The person form and the form framework, as a worker goes through them with the keyboard:
every field kept (all sub-teams, e-mail, dates), custom fields of every type, errors said
under their field in French, and the person picker that tells homonyms apart."""

from __future__ import annotations

import datetime as dt

import pytest
from textual.widgets import Input, OptionList, Select

from tui.screens.person_file import PersonFileScreen
from tui.widgets.forms import FormScreen, MultiCheck, safe_id
from tui.widgets.person_picker import PersonPicker
from tui.widgets.toggle import Check

from .conftest import NOW, SIZE, app_on
from .pilots import error, field, form_open, open_file, opened, save, wait_for
from .rendered import screen_text, shows

__all__ = ["error", "field", "form_open", "open_file", "save"]  # used by other test modules

pytestmark = pytest.mark.timeout(180)


async def test_flow_person_keeps_every_subteam(demo_store):
    """A person followed by two sub-teams keeps both when someone edits her phone (the old
    form had one select and silently dropped the second team)."""
    app = app_on(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        team = app.session.team
        two = next(p for p in team.persons.list() if len(p.assigned_teams) >= 2)
        await open_file(pilot, two.id)
        form = await form_open(pilot, "e")
        teams = field(form, "assignedTeams")
        assert isinstance(teams, MultiCheck)
        assert sorted(teams.value) == sorted(two.assigned_teams)
        field(form, "phone").value = "06 11 22 33 44"
        await save(pilot)
        await wait_for(pilot, lambda: team.persons.get(two.id).phone == "06 11 22 33 44")
        assert sorted(team.persons.get(two.id).assigned_teams) == sorted(two.assigned_teams)
        names = [app.session.subteam_name(s) for s in two.assigned_teams]
        await wait_for(pilot, lambda: all(shows(app, n) for n in names),
                       what="both sub-teams in the summary")


async def test_flow_person_every_field(demo_store):
    """A new person with every field: e-mail, on the street since, followed since (not forced
    to today), two sub-teams; the file shows them in words."""
    app = app_on(demo_store)
    async with app.run_test(size=(100, 40)) as pilot:
        await opened(pilot)
        team = app.session.team
        subs = app.session.subteams()
        await pilot.press("f3")
        form = await form_open(pilot, "ctrl+n")
        field(form, "name").value = "Personne Z"
        field(form, "otherNames").value = "La Zoé, Zouzou"
        field(form, "email").value = "personne.z@example.org"
        field(form, "birthdate").value = "03/02/1980"
        field(form, "wanderingAt").value = "01/06/2019"
        assert field(form, "followedSince").value == "20/11/2026"  # today by default
        field(form, "followedSince").value = "15/03/2024"
        field(form, "gender").value = "Femme"
        boxes = list(field(form, "assignedTeams").query(Check))
        for box in boxes[:2]:
            box.value = True
        field(form, "alertness").value = True
        await save(pilot)
        await wait_for(pilot, lambda: isinstance(app.screen, PersonFileScreen))
        p = next(p for p in team.persons.list() if p.name == "Personne Z")
        assert p.email == "personne.z@example.org"
        assert p.other_names == ["La Zoé", "Zouzou"] or sorted(p.other_names) == [
            "La Zoé", "Zouzou"]
        assert p.birthdate == dt.date(1980, 2, 3)
        assert p.wandering_at == dt.date(2019, 6, 1)
        assert p.followed_since == dt.date(2024, 3, 15)
        assert p.gender == "Femme" and p.alertness
        assert {subs[0].id, subs[1].id} <= set(p.assigned_teams)
        await pilot.pause()
        for text in ("Courriel : personne.z@example.org", "En rue depuis le : 1 juin 2019",
                     "Suivi(e) depuis le : 15 mars 2024", "Personne très vulnérable : Oui",
                     subs[0].name, subs[1].name):
            assert shows(app, text), (text, screen_text(app))


async def test_flow_custom_fields(demo_store):
    """Custom fields of every type, grouped by section: a bad number is said under its field
    in French, the others are kept as typed; once saved the engine holds typed values and
    the summary shows them in words."""
    app = app_on(demo_store)
    async with app.run_test(size=(100, 40)) as pilot:
        await opened(pilot)
        team = app.session.team
        await team.custom_fields.create(
            key="custom-suivi-asso", label_text="Suivi par une association", type="boolean",
            section="Accompagnement")
        person = await team.persons.create(name="Personne J",
                                           assigned_teams=[app.session.subteam])
        await open_file(pilot, person.id)
        form = await form_open(pilot, "e")
        sections = [str(w.render()) for w in form.query(".form-section")]
        assert sections[:1] == ["Informations"] and {"Droits", "Famille",
                                                     "Accompagnement"} <= set(sections)
        field(form, "custom.custom-enfants").value = "deux"
        field(form, "custom.custom-fin-titre-sejour").value = "31/12/2027"
        field(form, "custom.custom-animal").value = True
        field(form, "custom.custom-couverture-maladie").value = "AME"
        ressources = field(form, "custom.custom-ressources")
        ressources.query(Check)[0].value = True   # RSA
        ressources.query(Check)[1].value = True   # AAH
        field(form, "custom.custom-suivi-asso").value = True
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, FormScreen)  # refused: nothing saved
        assert "nombre attendu" in error(form, "custom.custom-enfants")
        assert "Nombre d'enfants" in error(form, "custom.custom-enfants")
        assert field(form, "custom.custom-fin-titre-sejour").value == "31/12/2027"
        assert team.persons.get(person.id).custom_fields == {}
        field(form, "custom.custom-enfants").value = "2"
        await save(pilot)
        await wait_for(pilot, lambda: team.persons.get(person.id).custom_fields)
        values = team.persons.get(person.id).custom_fields
        assert values["custom-enfants"] == 2
        assert values["custom-fin-titre-sejour"] == "2027-12-31"
        assert values["custom-animal"] is True
        assert values["custom-couverture-maladie"] == "AME"
        assert sorted(values["custom-ressources"]) == ["AAH", "RSA"]
        assert values["custom-suivi-asso"] is True
        await wait_for(pilot, lambda: shows(app, "Nombre d'enfants : 2"), what="the summary")
        for text in ("Fin de validité du titre de séjour : 31 déc. 2027",
                     "Animal de compagnie : Oui", "Couverture maladie : AME",
                     "Ressources : RSA, AAH", "Suivi par une association : Oui",
                     "Accompagnement"):
            assert shows(app, text), (text, screen_text(app))


async def test_custom_field_enabled_for_other_teams_is_not_asked(demo_store):
    """A field enabled for the night team only is neither asked nor shown for a person of
    another team."""
    app = app_on(demo_store)
    async with app.run_test(size=(100, 40)) as pilot:
        await opened(pilot)
        team = app.session.team
        night = next(d for d in team.custom_fields.list() if d.enabled_teams)
        other = next(s.id for s in app.session.subteams() if s.id not in night.enabled_teams)
        person = await team.persons.create(name="Sans Nuit", assigned_teams=[other])
        await open_file(pilot, person.id)
        assert not shows(app, night.label_text)
        form = await form_open(pilot, "e")
        assert not form.query(f"#field-{safe_id('custom.' + night.key)}")
        await pilot.press("escape")


async def test_engine_refusal_is_said_in_french_under_its_field(demo_store):
    """An empty name: the engine's ValidationError lands under the name, in French (from its
    code), with no English word."""
    app = app_on(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        await pilot.press("f3")
        form = await form_open(pilot, "ctrl+n")
        await pilot.press("ctrl+s")
        await pilot.pause()
        text = error(form, "name")
        assert "obligatoire" in text and "required" not in text
        assert isinstance(app.screen, FormScreen)


async def test_flow_person_picker(demo_store):
    """Eight persons with the same first name and no alias: the picker shows eight lines that
    differ (birth date, sub-teams, followed since), and the one picked is the one linked."""
    app = app_on(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await opened(pilot)
        team = app.session.team
        subs = app.session.subteams()
        same = []
        for i in range(8):
            same.append(await team.persons.create(
                name="Mohamed", birthdate=dt.date(1970 + i, 1 + i, 1),
                assigned_teams=[subs[i % len(subs)].id]))
        target = same[5]
        owner = await team.persons.create(name="Personne B")
        await open_file(pilot, owner.id)
        await pilot.press("6")  # the family tab
        form = await form_open(pilot, "n")
        picker = field(form, "other")
        assert isinstance(picker, PersonPicker)
        picker.search_input.focus()
        picker.search_input.value = "moham"
        await pilot.pause()
        matches = picker.query_one(OptionList)
        lines = [str(matches.get_option_at_index(i).prompt)
                 for i in range(matches.option_count)]
        assert len(lines) == 8 and len(set(lines)) == 8, lines
        at = next(i for i, line in enumerate(lines) if "né(e) le 1 juin 1975" in line)
        # Down into the matches, down to her line, Enter picks it
        await pilot.press("down", *["down"] * at, "enter")
        await pilot.pause()
        assert picker.value == target.id
        assert shows(app, "✓ choisie : Mohamed · né(e) le 1 juin 1975")
        form.query_one("#field-what", Input).value = "cousin"
        await save(pilot)
        groups = team.groups.filter(lambda g: owner.id in g.persons)
        assert groups and target.id in groups[0].persons
        assert f"{owner.id}|{target.id}|cousin" in groups[0].relations
        await wait_for(pilot, lambda: shows(app, "cousin"), what="the link in the family tab")


async def test_search_in_any_word_order_and_by_phone(demo_store):
    from tui.people_index import ACTIVE, ALL, PersonIndex, PersonQuery
    app = app_on(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        team = app.session.team
        p = await team.persons.create(name="HOMONYME Premier", phone="06 11 22 33 44")
        out = await team.persons.create(name="HOMONYME Seconde", out_of_active_list=True,
                                        out_of_active_list_date=NOW.date())
        index = PersonIndex(team.persons.list())
        assert [x.id for x in index.query(PersonQuery("premier homonyme", status=ALL))] == [p.id]
        assert [x.id for x in index.query(PersonQuery("pre hom", status=ALL))] == [p.id]
        assert [x.id for x in index.query(PersonQuery("0611", status=ALL))] == [p.id]
        assert [x.id for x in index.query(PersonQuery("06.11.22", status=ALL))] == [p.id]
        assert index.query(PersonQuery("premier dupont", status=ALL)) == []
        found, hidden = index.search(PersonQuery("homonyme", status=ACTIVE))
        assert [x.id for x in found] == [p.id] and hidden == 1
        assert out.id not in [x.id for x in found]
        # the list says a filter hides someone
        await pilot.press("f3")
        await pilot.pause()
        search = app.screen.query_one("#search", Input)
        search.focus()
        search.value = "seconde homonyme"
        await wait_for(pilot, lambda: shows(app, "1 personne correspond hors des filtres"),
                       what="the hidden-by-filter notice")
        app.screen.query_one("#status", Select).value = ALL
        await wait_for(pilot, lambda: shows(app, "HOMONYME Seconde"), what="her, once shown")
