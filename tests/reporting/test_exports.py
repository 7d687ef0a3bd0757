"""Exports: CSV and XLSX tables, the full JSON backup, progress, private files."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import stat
from pathlib import Path

import msgspec
from openpyxl import load_workbook

from mano_core.demo import DemoTeam
from mano_core.document.compartments import GeneralDocument
from mano_core.reporting import (
    Period,
    Table,
    actions_table,
    comments_table,
    compute,
    export_team_json,
    import_file,
    persons_table,
    reports_table,
    write_csv,
    write_xlsx,
)
from mano_core.reporting.tables import statistics_table
from mano_core.team import Team

from .conftest import NOW


def test_csv_of_persons_has_one_row_per_person(doc: GeneralDocument, demo: DemoTeam,
                                               tmp_path: Path) -> None:
    path = tmp_path / "personnes.csv"
    seen: list[tuple[int, int]] = []
    assert write_csv(persons_table(doc), path, progress=lambda d, t: seen.append((d, t))) \
        == len(demo.persons)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: French Excel reads accents right
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:3] == ["Identifiant", "Nom", "Autres pseudos"]
    assert "Couverture maladie" in rows[0]
    assert {r[0] for r in rows[1:]} == {p.id for p in demo.persons}
    assert seen[-1] == (len(demo.persons), len(demo.persons))


async def test_exported_persons_import_back_identically(team: Team, empty_team: Team,
                                                        demo: DemoTeam) -> None:
    for sub in demo.subteams:  # the same sub-teams and custom fields, by name and key
        await empty_team.subteams.create(name=sub.name, night_session=sub.night_session)
    for d in demo.custom_fields:
        fields = msgspec.structs.asdict(d)
        for common in ("id", "created_at", "updated_at", "created_by", "updated_by",
                       "deleted_at"):
            fields.pop(common)
        await empty_team.custom_fields.create(**fields)
    buffer = io.StringIO()
    write_csv(persons_table(team), buffer)
    result = await import_file(empty_team, "persons", buffer.getvalue().encode(), "csv")
    assert result.problems == () and result.rows == len(demo.persons)
    names = {t.id: t.name for t in demo.subteams}
    new_names = {t.id: t.name for t in empty_team.subteams.list()}

    def comparable(p: object, teams: dict[str, str]) -> tuple[object, ...]:
        b = msgspec.to_builtins(p)
        b["assignedTeams"] = [teams[t] for t in b["assignedTeams"]]
        for key in ("id", "createdAt", "updatedAt", "createdBy", "updatedBy"):
            b.pop(key)
        return tuple(sorted((k, json.dumps(v, sort_keys=True)) for k, v in b.items()))

    assert sorted(comparable(p, new_names) for p in empty_team.persons.list()) == \
        sorted(comparable(p, names) for p in demo.persons)


def test_xlsx_workbook_of_several_sheets(doc: GeneralDocument, tmp_path: Path) -> None:
    stats = compute(doc, Period(dt.date(2026, 1, 1), dt.date(2026, 11, 20)), now=NOW)
    tables = [actions_table(doc), comments_table(doc), reports_table(doc),
              statistics_table(stats), Table("Notes", ("texte",), [("=HYPERLINK(1)",)])]
    path = tmp_path / "export.xlsx"
    calls: list[tuple[int, int]] = []
    total = write_xlsx(tables, path, progress=lambda d, t: calls.append((d, t)))
    assert total == sum(len(t.rows) for t in tables) and calls[-1] == (total, total)
    assert [d for d, _t in calls] == sorted(d for d, _t in calls) and len(calls) > 1
    book = load_workbook(path, read_only=True)
    assert book.sheetnames == ["Actions", "Commentaires", "Comptes rendus", "Statistiques",
                               "Notes"]
    for table, sheet in zip(tables, book.worksheets):
        assert sum(1 for _row in sheet.iter_rows()) == len(table.rows) + 1
    notes = list(book["Notes"].iter_rows(min_row=2))
    assert notes[0][0].value == "=HYPERLINK(1)"  # a text, read back unchanged…
    assert notes[0][0].data_type == "s"  # …never a formula
    action = next(book["Actions"].iter_rows(min_row=2, values_only=True))
    assert isinstance(action[5], dt.datetime)  # due date as a real date cell


async def test_full_json_backup_holds_every_record(team: Team, demo: DemoTeam,
                                                   tmp_path: Path) -> None:
    path = tmp_path / "sauvegarde.json"
    calls: list[tuple[int, int]] = []
    written = export_team_json(team, path, progress=lambda d, t: calls.append((d, t)))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    backup = json.loads(path.read_text())
    assert backup["format"] == "mano-team-export" and backup["team"]["id"] == team.id
    assert len(backup["general"]["persons"]) == len(demo.persons)
    assert len(backup["general"]["comments"]) == len(demo.comments)
    assert len(backup["medical"]["treatments"]) == len(demo.treatments)
    assert backup["settings"]["lists"]["services"] == list(demo.settings.services)
    counted = sum(len(v) for part in ("general", "medical") for v in backup[part].values())
    assert written == counted and calls[-1] == (written, written)
    first = backup["general"]["persons"][0]
    assert msgspec.convert(first, type(demo.persons[0])) in demo.persons
