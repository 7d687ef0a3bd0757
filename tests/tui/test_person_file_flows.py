"""Pilot tests of the person file's flows, one per record family: each asserts what the
engine then holds and what the screen shows."""

from __future__ import annotations

import datetime as dt

import pytest
from textual.widgets import DataTable, Input, Select, TabbedContent

from tui.screens.person_file import PersonFileScreen
from tui.widgets.forms import FormScreen

from .conftest import NOW
from .pilots import confirm, error, field, form_open, new_person, open_file, save, wait_for
from .rendered import screen_text, shows

pytestmark = pytest.mark.timeout(180)
BIG = (120, 40)  # person_file's size unless a test says otherwise
LONG = ("Vu ce matin porte de la Chapelle, très fatigué, demande un rendez-vous au CMP. "
        * 8 + "FIN DU TEXTE")


async def test_flow_out_of_active_list(person_file):
    async with person_file() as (app, pilot, p):
        team = app.session.team
        form = await form_open(pilot, "o")
        assert field(form, "outOfActiveListDate").value == "20/11/2026"
        field(form, "outOfActiveListDate").value = "18/11/2026"
        reasons = field(form, "outOfActiveListReasons")
        boxes = {str(b.label): b for b in reasons.query("Check")}
        boxes["Hébergée"].value = True
        boxes["Hospitalisée"].value = True
        await save(pilot)
        await wait_for(pilot, lambda: team.persons.get(p.id).out_of_active_list)
        out = team.persons.get(p.id)
        assert out.out_of_active_list_date == dt.date(2026, 11, 18)
        assert sorted(out.out_of_active_list_reasons) == ["Hospitalisée", "Hébergée"]
        await wait_for(pilot, lambda: shows(app, "Sortie de la file active le 18 nov. 2026"),
                       what="the summary says since when")
        assert shows(app, "HORS FILE ACTIVE")
        assert shows(app, "Hébergée") and shows(app, "Hospitalisée")
        # back in: confirmed, date and reasons cleared
        await pilot.press("o")
        await confirm(pilot)
        await wait_for(pilot, lambda: not team.persons.get(p.id).out_of_active_list)
        back = team.persons.get(p.id)
        assert back.out_of_active_list_date is None and back.out_of_active_list_reasons == []
        await wait_for(pilot, lambda: not shows(app, "HORS FILE ACTIVE"))


async def test_out_of_active_list_needs_a_date(person_file):
    async with person_file() as (app, pilot, p):
        form = await form_open(pilot, "o")
        field(form, "outOfActiveListDate").value = ""
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "obligatoire" in error(form, "outOfActiveListDate"),
                       what="the date said required")
        field(form, "outOfActiveListDate").value = "32/13/2026"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "date attendue" in error(form, "outOfActiveListDate"),
                       what="the date said invalid")
        assert not app.session.team.persons.get(p.id).out_of_active_list


async def test_flow_comment_edit(person_file):
    """A long comment is read whole under the list; its author edits it (urgent, family) and
    deletes it; a teammate's comment cannot be edited."""
    async with person_file((80, 24)) as (app, pilot, p):
        team = app.session.team
        form = await form_open(pilot, "c")
        form.query_one("#field-text").insert(LONG)
        await save(pilot)
        await wait_for(pilot, lambda: team.comments.of_person(p.id), what="the comment")
        c = team.comments.of_person(p.id)[0]
        assert c.text == LONG and c.created_by == app.session.member
        # the whole text is under the list, wrapped; its box scrolls to the end (Tab, End)
        await wait_for(pilot, lambda: shows(app, "Vu ce matin porte de la Chapelle"))
        box = app.screen.query_one("#comment-box")
        box.focus()
        await pilot.press("end")
        await wait_for(pilot, lambda: shows(app, "FIN DU TEXTE"), what="the comment's end")
        # edit: Enter on the row
        app.screen.query_one("#comments", DataTable).focus()
        form = await form_open(pilot, "enter")
        area = form.query_one("#field-text")
        area.text = "Rendez-vous CMP pris pour le 25/11."
        field(form, "urgent").value = True
        field(form, "group").value = True
        await save(pilot)
        await wait_for(pilot, lambda: team.comments.get(c.id).urgent)
        edited = team.comments.get(c.id)
        assert edited.text == "Rendez-vous CMP pris pour le 25/11." and edited.group
        await wait_for(pilot, lambda: shows(app, "URGENT") and shows(app, "FAMILLE"))
        # a teammate's comment: refused, said in French
        other = await team.comments.create(text="Écrit par un collègue", person=p.id,
                                           date=NOW + dt.timedelta(minutes=1))
        await team.comments.update(other.id)
        assert team.comments.get(other.id).created_by == app.session.member
        # delete (own), confirmed
        table = app.screen.query_one("#comments", DataTable)
        await wait_for(pilot, lambda: table.row_count == 2)
        table.move_cursor(row=table.get_row_index(c.id))
        table.focus()
        await pilot.press("delete")
        await confirm(pilot)
        await wait_for(pilot, lambda: team.comments.get(c.id, include_deleted=True).deleted)
        await wait_for(pilot, lambda: table.row_count == 1)


async def test_a_teammates_comment_is_not_editable(demo_app):
    async with demo_app(BIG, notifications=True) as (app, pilot):
        team = app.session.team
        mine = app.session.member
        theirs = next(c for c in team.comments.list() if c.person and c.created_by != mine)
        await open_file(pilot, theirs.person)
        await pilot.press("3")
        table = app.screen.query_one("#comments", DataTable)
        await wait_for(pilot, lambda: theirs.id in table.rows)
        table.move_cursor(row=table.get_row_index(theirs.id))
        table.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: "Seul l'auteur" in " ".join(
            str(t.render()) for t in app.screen.query("Toast")), what="the refusal's notice")
        assert isinstance(app.screen, PersonFileScreen)
        assert team.comments.get(theirs.id).text == theirs.text


async def test_flow_passage(person_file):
    """Three passages at once for the person, then an anonymous one: the engine holds them,
    the passages tab lists them."""
    async with person_file() as (app, pilot, p):
        team = app.session.team
        form = await form_open(pilot, "p")
        assert field(form, "person").value == p.id
        field(form, "count").value = "3"
        form.query_one("#field-comment").insert("Petit déjeuner, douche")
        await save(pilot)
        await wait_for(pilot, lambda: len(team.passages.filter(lambda x: x.person == p.id))
                       == 3, what="three passages")
        made = team.passages.filter(lambda x: x.person == p.id)
        assert all(x.team == app.session.subteam and x.comment == "Petit déjeuner, douche"
                   for x in made)
        assert app.screen.query_one(TabbedContent).active == "tab-visits"
        table = app.screen.query_one("#visits", DataTable)
        await wait_for(pilot, lambda: table.row_count == 3 and shows(app, "Petit déjeuner, douche"),
                       what="three rows drawn")
        # a bad count is said under it
        form = await form_open(pilot, "p")
        field(form, "count").value = "0"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "de 1 à 50" in error(form, "count"),
                       what="the count's bounds said")
        # anonymous: nobody chosen
        picker = field(form, "person")
        picker.pick(None)
        field(form, "count").value = "1"
        before = len(team.passages.filter(lambda x: x.person is None))
        await save(pilot)
        await wait_for(pilot, lambda: len(team.passages.filter(lambda x: x.person is None))
                       == before + 1, what="an anonymous passage")


async def test_flow_encounter(person_file):
    async with person_file() as (app, pilot, p):
        team = app.session.team
        await pilot.press("5")
        form = await form_open(pilot, "n")
        field(form, "date").value = "19/11/2026 22:15"
        form.query_one("#field-comment").insert("Rencontré sous le pont, va bien")
        await save(pilot)
        await wait_for(pilot, lambda: team.encounters.filter(lambda x: x.person == p.id))
        e = team.encounters.filter(lambda x: x.person == p.id)[0]
        assert e.date == dt.datetime(2026, 11, 19, 21, 15, tzinfo=dt.UTC)  # 22:15 in Paris
        assert e.comment == "Rencontré sous le pont, va bien"
        await wait_for(pilot, lambda: shows(app, "19 nov. 2026, 22:15"), what="its row")
        assert shows(app, "rencontre")
        # corrected: Enter on the row
        app.screen.query_one("#visits", DataTable).focus()
        form = await form_open(pilot, "enter")
        form.query_one("#field-comment").text = "Rencontré sous le pont, mal au pied"
        await save(pilot)
        await wait_for(pilot, lambda: team.encounters.get(e.id).comment.endswith("au pied"))
        await wait_for(pilot, lambda: shows(app, "mal au pied"))


async def test_flow_place(person_file):
    async with person_file() as (app, pilot, p):
        team = app.session.team
        known = team.places.list()[0]
        await pilot.press("4")
        form = await form_open(pilot, "n")
        field(form, "place").value = known.id
        await save(pilot)
        form = await form_open(pilot, "n")
        assert known.id not in [v for _l, v in form.query_one("#field-place", Select)._options]
        field(form, "new_place").value = "Square des Deux-Moulins"
        await save(pilot)
        await wait_for(pilot, lambda: len(team.person_places.filter(
            lambda x: x.person == p.id)) == 2, what="two links")
        new = next(x for x in team.places.list() if x.name == "Square des Deux-Moulins")
        assert {x.place for x in team.person_places.filter(lambda x: x.person == p.id)} == {
            known.id, new.id}
        await wait_for(pilot, lambda: shows(app, "Square des Deux-Moulins")
                       and shows(app, known.name))
        # unlink the new one: the place stays, the link goes
        table = app.screen.query_one("#places", DataTable)
        link = next(x for x in team.person_places.filter(lambda x: x.person == p.id)
                    if x.place == new.id)
        table.move_cursor(row=table.get_row_index(link.id))
        table.focus()
        await pilot.press("delete")
        await confirm(pilot)
        await wait_for(pilot, lambda: len(team.person_places.filter(
            lambda x: x.person == p.id)) == 1)
        assert team.places.get(new.id).name == "Square des Deux-Moulins"
        await wait_for(pilot, lambda: not shows(app, "Square des Deux-Moulins"))


async def test_flow_family_link(demo_app):
    """Linking two persons with a relation; the other file shows it too; a family comment
    shows on both; unlinking removes it."""
    async with demo_app(BIG) as (app, pilot):
        team = app.session.team
        mother = await new_person(app, "Mère Filiation", birthdate=dt.date(1985, 4, 2))
        son = await new_person(app, "Fils Filiation", birthdate=dt.date(2010, 9, 9))
        await open_file(pilot, mother.id)
        await pilot.press("6")
        form = await form_open(pilot, "n")
        picker = field(form, "other")
        picker.search_input.focus()
        picker.search_input.value = "fils filiation"
        await wait_for(pilot, lambda: picker.query_one(".picker-matches").option_count == 1,
                       what="the one match")
        await pilot.press("enter")  # the only match
        assert picker.value == son.id
        form.query_one("#field-what", Input).value = "fils"
        await save(pilot)
        await wait_for(pilot, lambda: team.groups.filter(lambda g: son.id in g.persons))
        g = team.groups.filter(lambda g: son.id in g.persons)[0]
        assert set(g.persons) == {mother.id, son.id}
        assert g.relations == [f"{mother.id}|{son.id}|fils"]
        await wait_for(pilot, lambda: shows(app, "Fils Filiation") and shows(app, "fils"))
        await team.comments.create(text="Toute la famille vue au 115", person=mother.id,
                                   date=NOW, group=True)
        app.pop_screen()
        await open_file(pilot, son.id)
        await pilot.press("6")
        await wait_for(pilot, lambda: shows(app, "Mère Filiation") and shows(app, "fils"))
        await pilot.press("3")
        await wait_for(pilot, lambda: shows(app, "Toute la famille vue au 115"),
                       what="the family comment on the son's file")
        await pilot.press("6")
        app.screen.query_one("#family", DataTable).focus()
        # the relation corrected (Enter): it was typed wrong; before, only unlinking did
        form = await form_open(pilot, "enter")
        assert field(form, "what").value == "fils"
        field(form, "what").value = "mère"
        await save(pilot)
        await wait_for(pilot, lambda: team.groups.get(g.id).relations
                       == [f"{mother.id}|{son.id}|mère"], what="the relation corrected")
        await wait_for(pilot, lambda: shows(app, "mère") and not shows(app, " fils "))
        await pilot.press("delete")
        await confirm(pilot)
        await wait_for(pilot, lambda: not team.groups.filter(lambda g: son.id in g.persons))
        await wait_for(pilot, lambda: not shows(app, "Mère Filiation"))


async def test_flow_consultation(person_file):
    """A consultation with its type's field, visible only to its author; done, it gets a
    completion date; the medical tab lists it with its status as elsewhere."""
    async with person_file() as (app, pilot, p):
        team = app.session.team
        await pilot.press("8")
        medical = app.screen.query_one("#medical-tabs", TabbedContent)
        medical.active = "med-consultations"
        await pilot.pause()
        await team.custom_fields.create(
            key="custom-plaie", label_text="Localisation de la plaie", type="text",
            scope="consultation", section="Soins", health_only=True,
            consultation_types=["Infirmier"])
        # first the type (its own fields follow from it), then the consultation
        form = await form_open(pilot, "n")
        assert [f.name for f in form.fields] == ["type"]
        field(form, "type").value = "Infirmier"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen)
                       and app.screen is not form, what="the consultation form")
        form = app.screen
        names = [f.name for f in form.fields]
        assert "custom.custom-plaie" in names and "custom.custom-motif" in names
        assert field(form, "type").value == "Infirmier"
        field(form, "custom.custom-plaie").value = "pied gauche"
        field(form, "name").value = "Pansement pied"
        field(form, "dueAt").value = "21/11/2026 14:00"
        field(form, "custom.custom-motif").value = "Plaie"
        me = app.session.member
        field(form, "onlyVisibleBy").query("Check")[0].value = True
        await save(pilot)
        coll = team.medical.consultations
        await wait_for(pilot, lambda: coll.filter(lambda c: c.person == p.id))
        c = coll.filter(lambda c: c.person == p.id)[0]
        assert c.name == "Pansement pied" and c.type == "Infirmier" and c.status == "A FAIRE"
        assert c.due_at == dt.datetime(2026, 11, 21, 13, 0, tzinfo=dt.UTC)
        assert c.custom_fields == {"custom-motif": "Plaie", "custom-plaie": "pied gauche"}
        assert c.only_visible_by == [me]
        table = app.screen.query_one("#consultations", DataTable)
        await wait_for(pilot, lambda: table.row_count == 1 and shows(app, "À FAIRE")
                       and shows(app, "Pansement pied"), what="the row drawn")
        # done: Enter, status FAIT, saved with a completion date
        table.focus()
        form = await form_open(pilot, "enter")
        field(form, "status").value = "FAIT"
        await save(pilot)
        await wait_for(pilot, lambda: coll.get(c.id).status == "FAIT")
        assert coll.get(c.id).completed_at is not None
        await wait_for(pilot, lambda: shows(app, "✓ FAIT"))


async def test_flow_treatment(person_file):
    async with person_file() as (app, pilot, p):
        team = app.session.team
        await pilot.press("8")
        app.screen.query_one("#medical-tabs", TabbedContent).active = "med-treatments"
        await pilot.pause()
        form = await form_open(pilot, "n")
        field(form, "name").value = "Amoxicilline"
        field(form, "dosage").value = "1 g"
        field(form, "frequency").value = "3 fois par jour"
        field(form, "endDate").value = "13/11/2026"         # before its start: said, kept
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "avant la date de début" in str(
            form.query_one("#error-endDate").render()), what="the end before the start said")
        assert not team.medical.treatments.filter(lambda x: x.person == p.id)
        field(form, "endDate").value = "27/11/2026"
        await save(pilot)
        coll = team.medical.treatments
        await wait_for(pilot, lambda: coll.filter(lambda x: x.person == p.id))
        tr = coll.filter(lambda x: x.person == p.id)[0]
        assert (tr.name, tr.dosage, tr.frequency) == ("Amoxicilline", "1 g", "3 fois par jour")
        assert tr.start_date == dt.date(2026, 11, 20) and tr.end_date == dt.date(2026, 11, 27)
        table = app.screen.query_one("#treatments", DataTable)
        await wait_for(pilot, lambda: table.row_count == 1 and shows(app, "27 nov. 2026"),
                       what="the row drawn")
        table.focus()
        form = await form_open(pilot, "enter")
        field(form, "dosage").value = "500 mg"
        await save(pilot)
        await wait_for(pilot, lambda: coll.get(tr.id).dosage == "500 mg")
        await wait_for(pilot, lambda: shows(app, "500 mg"))

        # a medical comment: written, corrected by its author (text, urgent), deleted
        app.screen.query_one("#medical-tabs", TabbedContent).active = "med-notes"
        await pilot.pause()
        form = await form_open(pilot, "n")
        form.query_one("#field-text").insert("Tension 12/8, revoir jeudi.")
        await save(pilot)
        notes = team.medical.comments
        await wait_for(pilot, lambda: notes.filter(lambda x: x.person == p.id), what="the note")
        note = notes.filter(lambda x: x.person == p.id)[0]
        table = app.screen.query_one("#medical-comments", DataTable)
        await wait_for(pilot, lambda: table.row_count == 1 and shows(app, "Tension 12/8"))
        table.focus()
        form = await form_open(pilot, "enter")
        assert form.query_one("#field-text").text == "Tension 12/8, revoir jeudi."
        form.query_one("#field-text").text = "Tension 13/8, revoir jeudi à 10 h."
        field(form, "urgent").value = True
        await save(pilot)
        await wait_for(pilot, lambda: notes.get(note.id).urgent, what="the note corrected")
        assert notes.get(note.id).text == "Tension 13/8, revoir jeudi à 10 h."
        await wait_for(pilot, lambda: shows(app, "URGENT") and shows(app, "revoir jeudi à 10 h"))
        await pilot.press("delete")
        await confirm(pilot)
        await wait_for(pilot, lambda: notes.get(note.id, include_deleted=True).deleted,
                       what="the note deleted")
        await wait_for(pilot, lambda: table.row_count == 0)


async def test_flow_medical_file(person_file):
    async with person_file() as (app, pilot, p):
        team = app.session.team
        await pilot.press("8")
        form = await form_open(pilot, "n")
        form.query_one("#field-custom_custom-antecedents-" + _digest("custom.custom-antecedents")
                       ).insert("Diabète de type 2")
        field(form, "custom.custom-suivi-psy").value = True
        await save(pilot)
        files = team.medical.medical_files
        await wait_for(pilot, lambda: files.filter(lambda f: f.person == p.id))
        f = files.filter(lambda f: f.person == p.id)[0]
        assert f.custom_fields == {"custom-antecedents": "Diabète de type 2",
                                   "custom-suivi-psy": True}
        await wait_for(pilot, lambda: shows(app, "Antécédents : Diabète de type 2"))
        assert shows(app, "Suivi psychologique en cours : Oui")


def _digest(name: str) -> str:
    from tui.widgets.forms import safe_id
    return safe_id(name).rsplit("-", 1)[1]


async def test_history_in_words(demo_app):
    """The history says field labels, team names and dates in French, statuses as shown."""
    async with demo_app((160, 45)) as (app, pilot):
        team = app.session.team
        subs = app.session.subteams()
        p = await new_person(app)
        await team.persons.update(p.id, assigned_teams=[subs[0].id, subs[1].id],
                                  wandering_at=dt.date(2020, 5, 4), phone="06 00 00 00 01")
        await open_file(pilot, p.id)
        await pilot.press("7")
        await wait_for(pilot, lambda: shows(app, "Équipes en charge"), what="the history")
        text = screen_text(app)
        assert "assignedTeams" not in text and "wanderingAt" not in text
        assert shows(app, "En rue depuis le") and shows(app, "— → 4 mai 2020")
        assert subs[1].name in text
        assert "Création" in text


async def test_a_consultation_s_date_is_said_by_its_status(person_file):
    """A cancelled consultation's date reads 'Annulée le', a done one's 'Faite le', and the
    label follows the status chosen in the form; before, every one said 'Faite le'."""
    async with person_file() as (app, pilot, p):
        team = app.session.team
        at = dt.datetime(2026, 11, 19, 15, 0, tzinfo=dt.UTC)
        await team.medical.consultations.create(
            person=p.id, type=team.settings.values("consultationTypes")[0], name="Podologue",
            due_at=at, status="ANNULEE", completed_at=at, teams=[app.session.subteam])
        await pilot.press("8")
        medical = app.screen.query_one("#medical-tabs", TabbedContent)
        medical.active = "med-consultations"
        table = app.screen.query_one("#consultations", DataTable)
        await wait_for(pilot, lambda: table.row_count == 1, what="the consultation listed")
        table.focus()
        form = await form_open(pilot, "enter")
        assert shows(app, "Annulée le") and not shows(app, "Faite le")
        field(form, "status").value = "FAIT"
        await wait_for(pilot, lambda: shows(app, "Faite le"), what="the label followed")
        assert not shows(app, "Annulée le")
        field(form, "status").value = "A FAIRE"
        await wait_for(pilot, lambda: shows(app, "Faite ou annulée le"), what="to do")
