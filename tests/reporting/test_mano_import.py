"""Importing MANO's own files (built from MANO's labels and layout: mano_files.py), compared
field by field with what MANO held."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mano_core.device import Device
from mano_core.mano_compat import MigrationResult, import_mano
from mano_core.mano_compat.migrate import MEMBER_NAMES_KEY
from mano_core.reporting.problems import ImportCode, NoticeCode
from mano_core.store import TEST_KDF, LocalStore
from mano_core.team import Team

from . import mano_files as m
from .conftest import PASS

UTC = dt.UTC


def report(result: MigrationResult, lang: str = "fr") -> str:
    """The report as the coordinator reads it (the interface's catalogs)."""
    from tui.i18n import Translator
    from tui.imports_text import mano_report
    return mano_report(Translator(lang), result)


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[LocalStore]:
    async with await LocalStore.create(tmp_path / "m.mano", PASS, kdf=TEST_KDF) as s:
        yield s


async def test_full_export_dry_run_reads_every_sheet_by_name_and_changes_nothing(
        store: LocalStore) -> None:
    team = await Team.create(store, name="Migration", member="member-a")
    result = await import_mano(team, m.full_export(), dry_run=True)
    assert result.problems == ()
    assert not result.applied
    by_sheet = {s.sheet: s for s in result.sheets}
    assert by_sheet["actions"].collection == "actions" and by_sheet["actions"].new == 2
    assert by_sheet["personnes suivies"].new == 2
    assert by_sheet["comments"].new == 2
    assert by_sheet["consultations"].new == 1
    assert team.persons.list() == [] and team.actions.list() == []  # nothing written
    text = report(result)
    assert "« personnes suivies » (personnes suivies) : 2 lignes, 2 à créer" in text
    assert "Langue parlée (personnes, texte ; type lu des valeurs)" in text
    assert "Type d'hébergement : Camion aménagé" in text or "Camion aménagé" in text
    assert "1 document (fichier joint) non importé" in text
    assert "Sheets read" not in text and "to create" not in text
    english = report(result, "en")  # the same report, wholly English in the English interface
    assert "“personnes suivies” (persons followed): 2 rows, 2 to create" in english
    assert "Langue parlée (persons, text; type read from the values)" in english
    assert "1 document (attached file) not imported" in english
    for french in ("Feuilles lues", "à créer", "lignes", "non importé", "Vérification"):
        assert french not in english, french


async def test_full_export_imports_every_collection_field_by_field(store: LocalStore) -> None:
    team = await Team.create(store, name="Migration", member="member-a")
    # MANO's export does not carry the organisation's lists: a category holding a comma is
    # read whole when the team lists it (else it would be two categories)
    await team.settings.add("actionCategories", "Démarches, papiers")
    progress: list[tuple[int, int]] = []
    result = await import_mano(team, m.full_export(),
                               progress=lambda d, t: progress.append((d, t)))
    assert result.problems == (), result.problems
    assert result.applied
    assert progress and progress[-1][0] == progress[-1][1]

    teams = {t.id: t for t in team.subteams.list()}
    assert teams[m.T1].name == "Maraude jour" and not teams[m.T1].night_session
    assert teams[m.T2].night_session
    assert team.settings.get(MEMBER_NAMES_KEY + m.U1) == "Coordinatrice A"

    fields = {d.label_text: d for d in team.custom_fields.list()}
    p1 = team.persons.get(m.P1)
    assert p1.name == "Personne Un" and p1.other_names == ["Pseudo un"]
    assert p1.gender == "Femme" and p1.birthdate == dt.date(1975, 3, 2)
    assert p1.wandering_at == dt.date(2019, 6, 1)  # 22:00 UTC is the next day in Paris
    assert p1.alertness and p1.phone == "0600000001"
    assert p1.assigned_teams == [m.T1, m.T2]
    assert p1.followed_since == dt.date(2022, 2, 1)
    assert p1.out_of_active_list and p1.out_of_active_list_date == dt.date(2023, 6, 15)
    assert p1.out_of_active_list_reasons == ["Relai vers autre structure", "Décès"]
    assert p1.created_by == m.U1 and p1.created_at == at("2022-02-01T10:00:00.000Z")
    assert p1.updated_at == at("2023-06-15T08:00:00.000Z")
    cf = p1.custom_fields
    assert cf[fields["Situation personnelle"].key] == "Femme isolée"
    assert fields["Situation personnelle"].key == "personalSituation"
    assert cf["hasAnimal"] is True and fields["Avec animaux"].type == "yes-no"
    assert cf["resources"] == ["RSA", "Pension d'invalidité"]
    assert cf["addressDetail"] == "Camion aménagé"
    assert "Camion aménagé" in fields["Type d'hébergement"].options
    assert fields["Type d'hébergement"].allow_create_option
    assert fields["Consommations"].health_only and cf["consumptions"] == ["Alcool", "Tabac"]
    # a health value lives in the medical compartment, never in the general document
    assert "consumptions" not in team.doc.persons._records()[m.P1].custom_fields
    assert team.medical is not None
    assert [(v.person, v.field) for v in team.medical.health_values.list()] == [
        (m.P1, "consumptions")]
    assert cf[fields["Langue parlée"].key] == "Arabe"
    assert fields["Nombre d'enfants"].type == "number" and cf[fields["Nombre d'enfants"].key] == 2
    assert "Relai vers autre structure" in team.settings.values("outOfActiveListReasons")

    history = [(h.field, h.old, h.new, h.author) for h in team.history_of(m.P1)
               if h.field != "created"]
    assert ("outOfActiveList", False, True, m.U2) in history
    assert ("gender", "Aucun", "Femme", m.U2) in history

    a1 = team.actions.get(m.A1)
    assert a1.name == "Rendez-vous CAF" and a1.persons == [m.P1] and a1.teams == [m.T1]
    assert a1.status == "FAIT" and a1.completed_at == at("2023-01-12T15:00:00.000Z")
    assert a1.categories == ["Accompagnement", "Démarches, papiers"]  # a comma inside a value
    assert a1.urgent and not a1.with_time and a1.created_by == m.U2
    a2 = team.actions.get(m.A2)
    assert a2.with_time and a2.group and a2.due_at == at("2023-09-20T14:30:00.000Z")
    assert set(team.settings.values("actionCategories")) >= {
        "Accompagnement", "Démarches, papiers", "Soins"}

    comments = {c.id: c for c in team.comments.list()}
    c1, c2 = comments[m.COMMENTS[0]["_id"]], comments[m.COMMENTS[1]["_id"]]
    assert c1.text == "Vue au parc, va mieux" and c1.person == m.P1 and c1.urgent
    assert c1.team == m.T1 and c1.date == at("2023-03-01T17:45:00.000Z")
    assert c2.action == m.A1 and c2.group and c2.created_by == m.U1

    terr = team.territories.get(m.TERR)
    assert terr.types == ["Lieu de conso", "Carrefour de passage"]
    assert terr.perimeter == "Parvis et quais"
    (obs,) = team.observations.list()
    assert obs.territory == m.TERR and obs.team == m.T2
    assert (obs.men, obs.women, obs.police, obs.material, obs.atmosphere) == (
        4, 1, True, "12", "Tensions")
    assert obs.comment == "Tensions entre groupes"
    assert obs.custom_fields == {"mediation": 2}
    assert team.places.get(m.PLACE).name == "Square Villemin"

    reports = {(r.team, r.date): r for r in team.reports.list()}
    night = reports[(m.T2, dt.date(2023, 2, 2))]
    assert night.description == "Nuit froide"
    assert night.collaborations == ["Samu social", "Croix-Rouge"]
    assert night.services == {"Repas": 14, "Kit hygiène": 3}
    assert reports[(m.T1, dt.date(2023, 2, 5))].services == {"Repas": 6}
    assert {"Repas", "Kit hygiène"} <= set(team.settings.values("services"))

    passages = {p.id: p for p in team.passages.list()}
    assert passages[m.PASSAGES[0]["_id"]].person == m.P1
    assert passages[m.PASSAGES[1]["_id"]].person is None
    (enc,) = team.encounters.list()
    assert enc.person == m.P2 and enc.comment == "Sous le pont"

    assert team.medical is not None
    (consult,) = team.medical.consultations.list()
    assert consult.type == "Infirmier" and consult.status == "FAIT"
    (note,) = team.medical.comments.list()  # MANO keeps it inside the consultation
    assert (note.text, note.consultation, note.person) == ("Bien cicatrisé", consult.id, m.P1)
    assert consult.only_visible_by == [m.U1] and consult.teams == [m.T1]
    assert consult.custom_fields[next(
        d.key for d in team.custom_fields.list() if d.label_text == "Motif")] == "Plaie au pied"
    (treat,) = team.medical.treatments.list()
    assert (treat.name, treat.dosage, treat.frequency, treat.indication) == (
        "Amoxicilline", "1 g", "2 fois par jour", "Infection")
    assert treat.start_date == dt.date(2023, 4, 1) and treat.end_date == dt.date(2023, 4, 10)
    (mf,) = team.medical.medical_files.list()
    assert mf.person == m.P1 and mf.custom_fields == {"numeroSecuriteSociale": "2750375000000"}


async def test_import_is_durable_and_a_second_run_finds_everything_present(
        tmp_path: Path) -> None:
    path = tmp_path / "d.mano"
    async with await LocalStore.create(path, PASS, kdf=TEST_KDF) as store:
        team = await Team.create(store, name="Migration", member="member-a")
        team_id = team.id
        await import_mano(team, m.full_export())
    async with await LocalStore.open(path, PASS) as store:
        team = await Device(store).open_team(team_id)
        assert team.persons.get(m.P1).name == "Personne Un"
        again = await import_mano(team, m.full_export())
        assert again.problems == () and again.created == 0
        assert {s.sheet: s.present for s in again.sheets}["personnes suivies"] == 2
        assert len(team.persons.list()) == 2


async def test_a_bad_cell_anywhere_refuses_the_whole_file(store: LocalStore) -> None:
    team = await Team.create(store, name="Migration", member="member-a")
    bad = [dict(a) for a in m.ACTIONS]
    bad[1]["dueAt"] = "le 20 septembre"
    sheets = [("actions", m.mano_sheet(bad)), ("personnes suivies", m.mano_sheet(m.PERSONS)),
              ("équipes", m.mano_sheet(m.TEAMS))]
    result = await import_mano(team, m.workbook(sheets))
    assert not result.applied
    (problem,) = result.problems
    assert (problem.sheet, problem.row, problem.column) == ("actions", 3, "dueAt")
    assert (problem.code, problem.value) == (ImportCode.NOT_A_MOMENT, "le 20 septembre")
    assert team.persons.list() == [] and team.subteams.list() == []
    assert ("feuille « actions », ligne 3, colonne « dueAt » : date ou date et heure attendue "
            "(2026-11-20T14:30:00.000Z ou 20/11/2026 14:30), lu : « le 20 septembre »"
            ) in report(result)
    assert ("sheet “actions”, row 3, column “dueAt”: a date or a date and time expected "
            "(2026-11-20T14:30:00.000Z or 20/11/2026 14:30), read: “le 20 septembre”"
            ) in report(result, "en")


async def test_a_device_without_the_medical_file_imports_no_medical_data(
        store: LocalStore) -> None:
    team = await Team.create(store, name="Migration", member="member-a", medical=False)
    result = await import_mano(team, m.full_export())
    assert result.problems == () and result.applied and result.medical_skipped
    p1 = team.persons.get(m.P1)
    assert "consumptions" not in p1.custom_fields  # health-only: not on this device
    assert "personalSituation" in p1.custom_fields
    assert "cet appareil n'a pas le dossier médical" in report(result)
    assert {n.code for n in result.notices} >= {NoticeCode.MEDICAL_SHEET_SKIPPED}


async def test_mano_persons_example_file_imports_as_is(store: LocalStore) -> None:
    team = await Team.create(store, name="Migration", member="member-a")
    await team.subteams.create(name="Maraude jour")
    result = await import_mano(team, m.persons_example())
    assert result.problems == (), result.problems
    (person,) = team.persons.list()
    assert person.name == "test" and person.gender == "Aucun"
    assert person.birthdate == dt.date(2021, 1, 1) and person.alertness
    assert person.out_of_active_list_reasons == ["Relai vers autre structure"]
    assert [team.subteams.get(i).name for i in person.assigned_teams] == ["Maraude jour"]
    assert person.custom_fields["personalSituation"] == "Aucune"
    assert person.custom_fields["resources"] == ["SANS"]
    assert person.custom_fields["address"] is True
    assert {f.origin for f in result.fields} == {"mano"}


async def test_example_rows_with_comma_separated_choices_and_an_unknown_team(
        store: LocalStore) -> None:
    team = await Team.create(store, name="Migration", member="member-a")
    await team.subteams.create(name="Maraude jour")
    row = list(m.EXAMPLE_ROW)
    row[m.EXAMPLE_HEADER.index("Ressources")] = "RSA,AAH"
    row[m.EXAMPLE_HEADER.index("Motifs de sortie de file active")] = "Décès, Hospitalisation"
    other = list(row)
    other[m.EXAMPLE_HEADER.index("Équipes en charge")] = "Équipe inconnue"
    result = await import_mano(team, m.persons_example([row, other]))
    (problem,) = result.problems
    assert (problem.row, problem.column) == (3, "Équipes en charge")
    assert (problem.code, problem.what, problem.value) == (
        ImportCode.UNKNOWN_REFERENCE, "subteam", "Équipe inconnue")
    assert "équipe inconnue : « Équipe inconnue »" in report(result)
    assert "unknown team: “Équipe inconnue”" in report(result, "en")
    result = await import_mano(team, m.persons_example([row]))
    (person,) = team.persons.list()
    assert person.custom_fields["resources"] == ["RSA", "AAH"]
    assert person.out_of_active_list_reasons == ["Décès", "Hospitalisation"]


async def test_a_workbook_without_mano_sheets_is_refused(store: LocalStore) -> None:
    team = await Team.create(store, name="Migration", member="member-a")
    result = await import_mano(team, m.workbook([("Feuil1", [["a", "b"], [1, 2]])]))
    assert not result.applied and result.problems[0].code is ImportCode.NO_MANO_SHEET
    assert "aucune feuille de MANO reconnue (Feuil1)" in report(result)
    result = await import_mano(team, b"not a workbook")
    assert result.problems[0].code is ImportCode.NOT_A_WORKBOOK
    assert "ce n'est pas un classeur XLSX" in report(result)
