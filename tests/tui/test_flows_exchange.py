"""Pilot tests of exports and imports from the app: the decrypted-data warning, a progress
bar, files only their owner reads, and an import that is checked (dry run, report shown)
before anything is applied, applied only to the file that was checked."""

from __future__ import annotations

import csv
import os

import pytest
from textual.widgets import Button, DataTable, Input, ProgressBar, Select

from mano_core.reporting import persons_table
from tui.screens.agenda import AgendaScreen
from tui.screens.exchange import ExchangeScreen
from tui.screens.stats import StatsScreen

from .conftest import app_on, wait_for
from .rendered import shows

pytestmark = pytest.mark.timeout(180)
SIZE = (110, 44)


async def open_exchange(pilot) -> ExchangeScreen:
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, AgendaScreen), what="the agenda")
    await pilot.press("f7")
    await wait_for(pilot, lambda: isinstance(app.screen, StatsScreen))
    await pilot.press("ctrl+x")
    await wait_for(pilot, lambda: isinstance(app.screen, ExchangeScreen), what="the screen")
    await pilot.pause()
    return app.screen


def status(screen: ExchangeScreen) -> str:
    return str(screen.query_one("#exchange-status").render())


async def test_flow_export_in_app(demo_store, tmp_path):
    app = app_on(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_exchange(pilot)
        assert shows(app, "données DÉCHIFFRÉES")             # said before anything is written
        team = app.session.team

        screen.query_one("#export-kind", Select).value = "persons"
        await pilot.pause()
        screen.query_one("#export-format", Select).value = "csv"
        await pilot.pause()
        target = tmp_path / "personnes.csv"
        screen.query_one("#export-path", Input).value = str(target)
        screen.query_one("#export-go", Button).press()
        await wait_for(pilot, lambda: "exportée" in status(screen), what="the export")
        expected = persons_table(team)
        rows = list(csv.reader(target.open(encoding="utf-8-sig"), delimiter=";"))
        assert len(rows) - 1 == len(expected.rows)
        assert {p.name for p in team.persons.list()} <= {r[1] for r in rows[1:]}
        assert os.stat(target).st_mode & 0o777 == 0o600
        assert f"{len(expected.rows)} lignes exportées" in status(screen)
        assert "déchiffrées" in status(screen)               # and said again after
        bar = screen.query_one("#exchange-progress", ProgressBar)
        assert bar.display and bar.total == len(expected.rows) and bar.progress == bar.total

        # MANO's full export: one workbook, a sheet per collection, then the figures
        openpyxl = pytest.importorskip("openpyxl")
        screen.query_one("#export-kind", Select).value = "all"
        await pilot.pause()
        book_path = tmp_path / "complet.xlsx"
        screen.query_one("#export-path", Input).value = str(book_path)
        screen.query_one("#export-go", Button).press()
        await wait_for(pilot, lambda: book_path.exists() and "exporté" in status(screen)
                       and not screen.query_one("#export-go", Button).disabled,
                       what="the full export")
        sheets = openpyxl.load_workbook(book_path, read_only=True).sheetnames
        assert {"actions", "personnes suivies", "comptes rendus", "Statistiques MANO"} <= set(
            sheets)

        # a folder that does not exist is said, nothing written
        screen.query_one("#export-path", Input).value = str(tmp_path / "nowhere" / "x.xlsx")
        screen.query_one("#export-go", Button).press()
        await wait_for(pilot, lambda: "dossier n'existe pas" in status(screen))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, StatsScreen), what="back")


async def test_flow_import_in_app(demo_store, tmp_path):
    app = app_on(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_exchange(pilot)
        team = app.session.team
        before = len(team.persons.list())
        source = tmp_path / "personnes.csv"
        source.write_text("Nom;Genre;Date de naissance\n"
                          "Importée Une;Femme;1975-03-02\n"
                          "Importé Deux;Pas un genre;1980-01-01\n", encoding="utf-8")
        screen.query_one("#import-kind", Select).value = "persons"
        screen.query_one("#import-path", Input).value = str(source)
        await pilot.pause()
        apply = screen.query_one("#import-apply", Button)
        assert apply.disabled                                  # nothing applies unchecked

        # the check: a bad row is reported, nothing changes, nothing can be applied
        screen.query_one("#import-check", Button).press()
        await wait_for(pilot, lambda: "Import impossible" in status(screen), what="the report")
        problems = screen.query_one("#import-problems", DataTable)
        assert problems.display and problems.row_count == 1
        assert [str(c) for c in problems.get_row_at(0)] == [
            "3", "Genre", "valeur inconnue : « Pas un genre » (connues : Aucun, Homme, Femme, "
            "Homme transgenre, Femme transgenre, Non binaire, Autre)"]
        assert len(team.persons.list()) == before and apply.disabled
        assert shows(app, "Rien n'a été modifié")

        # fixed: checked clean, the report says what will be created, still nothing changed
        source.write_text("Nom;Genre;Date de naissance\n"
                          "Importée Une;Femme;1975-03-02\n"
                          "Importé Deux;Homme;1980-01-01\n", encoding="utf-8")
        screen.query_one("#import-check", Button).press()
        await wait_for(pilot, lambda: "Vérification sans problème" in status(screen))
        assert "2 enregistrements seront créés" in status(screen)
        assert len(team.persons.list()) == before
        assert not apply.disabled and "Importer 2 enregistrements" in str(apply.label)
        report = str(screen.query_one("#import-report").render())
        assert "Nom → Nom prénom ou pseudonyme" in report  # the field in words, not ``name``
        assert "→ name" not in report and "→ gender" not in report and "birth" not in report

        # the file changes after the check: refused until checked again
        source.write_text(source.read_text() + "Importé Trois;Homme;1990-01-01\n")
        apply.press()
        await wait_for(pilot, lambda: "a changé depuis la vérification" in status(screen))
        assert len(team.persons.list()) == before

        screen.query_one("#import-check", Button).press()
        await wait_for(pilot, lambda: "3 enregistrements seront créés" in status(screen))
        apply.press()
        await wait_for(pilot, lambda: "importés" in status(screen), what="the import")
        names = {p.name for p in team.persons.list()}
        assert {"Importée Une", "Importé Deux", "Importé Trois"} <= names
        assert len(team.persons.list()) == before + 3
        assert apply.disabled                                  # one check, one import


@pytest.mark.parametrize(("lang", "said"), [
    ("fr", ("Import impossible : 1 problème", "Import refusé : 1 problème.", "Feuilles lues :",
            "« actions » (actions) : 2 lignes, 1 à créer",
            "date ou date et heure attendue (2026-11-20T14:30:00.000Z ou 20/11/2026 14:30), "
            "lu : « le 20 septembre »")),
    ("en", ("Import impossible: 1 problem", "Import refused: 1 problem.", "Sheets read:",
            "“actions” (actions): 2 rows, 1 to create",
            "a date or a date and time expected (2026-11-20T14:30:00.000Z or 20/11/2026 14:30), "
            "read: “le 20 septembre”")),
])
async def test_mano_import_report_in_the_interface_s_language(demo_store, tmp_path, lang, said):
    """The dry run of MANO's export with a bad cell: the report and the problem's reason are
    wholly in the interface's language (French by default, English on request)."""
    pytest.importorskip("openpyxl")
    from tests.reporting import mano_files as m

    bad = [dict(a) for a in m.ACTIONS]
    bad[1]["dueAt"] = "le 20 septembre"
    source = tmp_path / "mano.xlsx"
    source.write_bytes(m.workbook([("actions", m.mano_sheet(bad)),
                                   ("personnes suivies", m.mano_sheet(m.PERSONS)),
                                   ("équipes", m.mano_sheet(m.TEAMS))]))
    app = app_on(demo_store, lang=lang)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_exchange(pilot)
        screen.query_one("#import-kind", Select).value = "mano"
        screen.query_one("#import-path", Input).value = str(source)
        await pilot.pause()
        screen.query_one("#import-check", Button).press()
        await wait_for(pilot, lambda: said[0] in status(screen), what="the report")
        report = str(screen.query_one("#import-report").render())
        for text in said[1:4]:
            assert text in report, text
        problems = screen.query_one("#import-problems", DataTable)
        assert problems.row_count == 1
        assert [str(c) for c in problems.get_row_at(0)] == ["3", "actions / dueAt", said[4]]
        other = ("Sheets read", "to create", "rows") if lang == "fr" else (
            "Feuilles lues", "à créer", "lignes", "ligne", "attendue")
        assert not any(word in report for word in other)
        assert screen.query_one("#import-apply", Button).disabled   # nothing can be applied
