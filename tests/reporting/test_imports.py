"""Imports: row-level problems for malformed files, and a team unchanged unless all rows pass."""

from __future__ import annotations

import datetime as dt
import io

from openpyxl import Workbook

from mano_core.ids import Compartment
from mano_core.reporting import import_file
from mano_core.team import Team, doc_name

HEADER = "Nom;Genre;Date de naissance;Personne très vulnérable;Équipes en charge;Nombre d'enfants"


async def snapshot(team: Team) -> tuple[int, int, int, int]:
    """What must not change after a refused import: records, history and the store."""
    stored = await team.store.updates_since_snapshot(doc_name(team.id, Compartment.GENERAL))
    return len(team.persons), len(team.actions), len(team.history), stored


def csv_bytes(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8")


async def test_good_csv_creates_every_person_in_one_commit(team: Team) -> None:
    before = len(team.persons)
    data = csv_bytes(HEADER, "Personne Z;Femme;12/03/1980;oui;Maraude jour;2",
                     "Momo;homme;1975-01-31;non;\"maraude soir; Maraude jour\";",
                     ";;;;;", "Sans genre;;;;;")
    result = await import_file(team, "persons", data, "csv")
    assert result.problems == () and result.applied and result.rows == 3
    assert len(team.persons) == before + 3
    zoe = team.persons.get(result.created[0])
    assert (zoe.gender, zoe.birthdate, zoe.alertness) == ("Femme", dt.date(1980, 3, 12), True)
    assert zoe.custom_fields == {"custom-enfants": 2} and zoe.created_by == team.info.member
    momo = team.persons.get(result.created[1])
    names = {t.id: t.name for t in team.subteams.list()}
    assert [names[t] for t in momo.assigned_teams] == ["Maraude soir", "Maraude jour"]
    assert [h.field for h in team.history_of(zoe.id)] == ["created"]


async def test_malformed_rows_are_all_listed_and_nothing_changes(team: Team) -> None:
    before = await snapshot(team)
    data = csv_bytes(
        HEADER,
        "Personne Z;Femme;12/03/1980;oui;Maraude jour;2",        # row 2: good
        ";Homme;1970-01-01;non;;",                               # row 3: no name
        "Ali;Homme;31/02/1990;peut-être;;beaucoup",              # row 4: three bad cells
        "Bob;Robot;;;;",                                         # row 5: unknown gender
        "Carla;Femme;;;Équipe inconnue;",                        # row 6: unknown sub-team
    )
    result = await import_file(team, "persons", data, "csv")
    assert not result.applied and result.created == ()
    got = {(p.row, p.column) for p in result.problems}
    assert got == {(3, "Nom"), (4, "Date de naissance"), (4, "Personne très vulnérable"),
                   (4, "Nombre d'enfants"), (5, "Genre"), (6, "Équipes en charge")}
    reasons = {(p.row, p.column): p.reason for p in result.problems}
    assert reasons[(3, "Nom")] == "is required"
    assert "Robot" in reasons[(5, "Genre")]
    assert await snapshot(team) == before


async def test_bad_encoding_is_reported_by_line(team: Team) -> None:
    before = await snapshot(team)
    data = HEADER.encode() + b"\nPersonne Z\xe9;Femme;;;;\nAli;Homme;;;;\nJos\xe9;;;;;\n"
    result = await import_file(team, "persons", data, "csv")
    assert [(p.row, p.column) for p in result.problems] == [(2, ""), (4, "")]
    assert "0xe9" in result.problems[0].reason and not result.applied
    assert await snapshot(team) == before
    fixed = await import_file(team, "persons", data, "csv", encoding="latin-1")
    assert fixed.applied and team.persons.get(fixed.created[0]).name == "Personne Zé"


async def test_actions_unknown_category_bad_dates_and_rules(team: Team) -> None:
    before = await snapshot(team)
    person = team.persons.list()[0]
    header = "Nom de l'action;À faire le;Statut;Faite ou annulée le;Catégories;Personnes suivies"
    data = csv_bytes(
        header,
        f"RDV CMP;20/11/2026 14:30;A faire;;Santé;{person.id}",   # row 2: good
        "Domiciliation;2026-11-40;;;Administratif;",               # row 3: bad date
        "Banque alimentaire;2026-11-21;;;Pique-nique;",            # row 4: unknown category
        "Audience;2026-11-21;FAIT;;Justice;",                      # row 5: FAIT without date
        "Appel;2026-11-21;;;;Personne inexistante",                # row 6: unknown person
        ";2026-11-21;;;;",                                         # row 7: no name
    )
    result = await import_file(team, "actions", data, "csv")
    got = {(p.row, p.column) for p in result.problems}
    assert got == {(3, "À faire le"), (4, "Catégories"), (5, "Faite ou annulée le"),
                   (6, "Personnes suivies"), (7, "Nom de l'action")}
    assert await snapshot(team) == before
    good = await import_file(team, "actions", csv_bytes(header, data.decode().split("\n")[1]),
                             "csv")
    action = team.actions.get(good.created[0])
    assert action.with_time and action.due_at == dt.datetime(2026, 11, 20, 13, 30,
                                                             tzinfo=dt.UTC)
    assert action.persons == [person.id] and action.categories == ["Santé"]


async def test_xlsx_with_native_cells_mapping_and_dry_run(team: Team) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["Prénom et nom", "Né le", "Vulnérable", "Animal", "Remarque"])
    sheet.append(["Personne I", dt.datetime(1969, 6, 2), True, "Oui", "x"])
    sheet.append(["Fantine", "pas de date", 1, "non", ""])
    buffer = io.BytesIO()
    book.save(buffer)
    mapping = {"Prénom et nom": "name", "Né le": "birthdate", "Vulnérable": "alertness",
               "Animal": "customFields.custom-animal", "Remarque": ""}
    before = await snapshot(team)
    bad = await import_file(team, "persons", buffer.getvalue(), "xlsx", mapping=mapping)
    assert [(p.row, p.column) for p in bad.problems] == [(3, "Né le")]
    assert bad.ignored_columns == ("Remarque",) and await snapshot(team) == before
    sheet["B3"] = dt.date(1990, 1, 1)
    buffer = io.BytesIO()
    book.save(buffer)
    dry = await import_file(team, "persons", buffer.getvalue(), "xlsx", mapping=mapping,
                            dry_run=True)
    assert dry.problems == () and dry.valid == 2 and not dry.applied
    assert await snapshot(team) == before
    done = await import_file(team, "persons", buffer.getvalue(), "xlsx", mapping=mapping)
    jean = team.persons.get(done.created[0])
    assert (jean.birthdate, jean.alertness, jean.custom_fields) == (
        dt.date(1969, 6, 2), True, {"custom-animal": True})


async def test_file_level_problems(team: Team) -> None:
    before = await snapshot(team)
    cases = [
        (b"not a workbook", "xlsx", None, [(0, "")]),
        (b"", "csv", None, [(0, "")]),
        (csv_bytes("Genre;Téléphone", "Femme;06"), "csv", None, [(1, "name")]),
        (csv_bytes("Nom;Age", "Zoé;40"), "csv", {"Age": "age"}, [(1, "Age")]),
        (csv_bytes("Nom", "Zoé"), "csv", {"Absente": "phone"}, [(1, "Absente")]),
    ]
    for data, fmt, mapping, expected in cases:
        result = await import_file(team, "persons", data, fmt, mapping=mapping)  # type: ignore[arg-type]
        assert [(p.row, p.column) for p in result.problems] == expected, data
    assert await snapshot(team) == before
