"""`mano report`, `stats`, `export` and `import` on a store made by `mano demo`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tui.cli import main

PASSPHRASE = "phrase de test"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "demo.mano"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MANO_PASSPHRASE", PASSPHRASE)
        assert main(["demo", "--scale", "0.02", "--store", str(path)]) == 0
    return path


@pytest.fixture(autouse=True)
def passphrase(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MANO_PASSPHRASE", PASSPHRASE)


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> object:
    capsys.readouterr()
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_report_increments_and_reads_back(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["report", "--store", str(store), "--subteam", "équipe de nuit", "--day",
            "2026-11-21"]
    run_json(capsys, *args, "--increment", "Repas=3", "--increment", "Douches", "--json")
    (entry,) = run_json(capsys, *args, "--increment", "Repas=2", "--json")  # type: ignore[misc]
    assert entry["report"]["services"] == {"Repas": 5, "Douches": 1}
    assert entry["activity"]["start"] == "2026-11-21T11:00:00Z"  # noon, Paris
    assert main(["report", "--store", str(store), "--increment", "Repas"]) == 2  # which team?
    assert main(["--lang", "en", "report", "--store", str(store), "--day", "2026-11-18"]) == 0
    assert "Report — Équipe de nuit — 2026-11-18" in capsys.readouterr().out


def test_stats_json_and_text(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stats = run_json(capsys, "stats", "--store", str(store), "--from", "2026-01-01", "--to",
                     "2026-11-20", "--json")
    assert stats["persons"]["followed"] > 0 and stats["period"]["end"] == "2026-11-20"  # type: ignore[index]
    evolution = run_json(capsys, "stats", "--store", str(store), "--evolution", "gender",
                         "--json")
    assert len(evolution["points"]) >= 2  # type: ignore[index]
    assert main(["stats", "--store", str(store)]) == 0
    assert "Personnes suivies" in capsys.readouterr().out


def test_export_warns_and_writes(store: Path, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "team.json"
    summary = run_json(capsys, "export", "team", "--store", str(store), "-o", str(out),
                       "--json")
    assert summary["rows"] == sum(len(v) for v in json.loads(out.read_text())["general"].values()) \
        + sum(len(v) for v in json.loads(out.read_text())["medical"].values())  # type: ignore[index]
    assert main(["export", "persons", "--store", str(store), "-o", str(tmp_path / "p.csv")]) == 0
    err = capsys.readouterr().err
    assert "DÉCHIFFRÉES" in err
    assert main(["export", "team", "--format", "csv", "--store", str(store)]) == 2


def test_import_refuses_bad_files_then_applies(store: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("Prénom;Genre\nZoé;Femme\n;Homme\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["import", "persons", str(bad), "--store", str(store), "--map",
                 "Prénom=name", "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert [(p["row"], p["column"]) for p in result["problems"]] == [(3, "Prénom")]
    good = tmp_path / "good.csv"
    good.write_text("Prénom;Genre\nZoé Import;Femme\n", encoding="utf-8")
    assert main(["import", "persons", str(good), "--store", str(store), "--map",
                 "Prénom=name"]) == 0
    capsys.readouterr()
    assert main(["search", "zoe import", "--store", str(store)]) == 0
    assert "Zoé Import" in capsys.readouterr().out


def test_a_bad_row_s_reason_is_said_in_the_interface_s_language(
        store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("Nom;Genre;Date de naissance\nZoé;Robot;31/02/1990\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["import", "persons", str(bad), "--store", str(store)]) == 1
    said = capsys.readouterr()
    out = said.out + said.err
    assert "ligne 2, colonne Genre : valeur inconnue : « Robot » (connues : Aucun, Homme," in out
    assert ("ligne 2, colonne Date de naissance : date attendue (2026-11-20 ou 20/11/2026), "
            "lu : « 31/02/1990 »") in out
    assert "Import refusé : 2 problèmes (lignes lues : 1)" in out
    assert main(["--lang", "en", "import", "persons", str(bad), "--store", str(store)]) == 1
    said = capsys.readouterr()
    out = said.out + said.err
    assert "row 2, column Genre: unknown value: “Robot” (known: Aucun, Homme," in out
    assert ("row 2, column Date de naissance: a date expected (2026-11-20 or 20/11/2026), "
            "read: “31/02/1990”") in out
    assert "Import refused: 2 problems (rows read: 1)" in out
    for french in ("ligne", "inconnue", "attendue", "refusé"):
        assert french not in out, french


def test_import_example_then_import_it_and_mano_full_export(
        store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from openpyxl import load_workbook

    from . import mano_files

    example = tmp_path / "exemple.xlsx"
    assert main(["import", "--example", "-o", str(example), "--store", str(store)]) == 0
    sheet = load_workbook(example).worksheets[0]
    assert sheet.title == "personne"
    header = [c.value for c in sheet[1]]
    assert header[:2] == ["Nom prénom ou Pseudonyme", "Autres pseudos"]
    assert "Suivi(e) depuis le / Créé(e) le" in header
    result = run_json(capsys, "import", "persons", str(example), "--dry-run", "--store",
                      str(store), "--json")
    assert result["problems"] == [] and result["valid"] == 1  # type: ignore[index]
    assert result["columns"]["Nom prénom ou Pseudonyme"] == "name"  # type: ignore[index]

    export = tmp_path / "mano.xlsx"
    export.write_bytes(mano_files.full_export())
    capsys.readouterr()
    assert main(["import", "mano", str(export), "--dry-run", "--store", str(store)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Vérification sans problème (essai) : rien n'a été modifié.")
    assert "« actions » (actions) : 2 lignes, 2 à créer" in out
    assert "Relancez sans --dry-run pour importer." in out
    assert main(["--lang", "en", "import", "mano", str(export), "--dry-run", "--store",
                 str(store)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Check without problems (trial): nothing was changed.")
    assert "“actions” (actions): 2 rows, 2 to create" in out and "à créer" not in out


def test_export_all_is_mano_s_workbook_and_imports_back(
        store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from openpyxl import load_workbook

    out = tmp_path / "tout.xlsx"
    assert main(["export", "all", "--store", str(store), "-o", str(out)]) == 0
    book = load_workbook(out, read_only=True)
    assert book.sheetnames[:3] == ["actions", "personnes suivies", "comments"]
    assert book.sheetnames[-2:] == ["Statistiques", "Statistiques MANO"]
    mano = {row[1]: row[2] for row in book["Statistiques MANO"].iter_rows(values_only=True)}
    assert {"Personnes créées", "Personnes suivies", "Temps de suivi moyen (jours)"} <= set(mano)
    sections = {row[0] for row in book["Statistiques MANO"].iter_rows(values_only=True)}
    assert {"Général", "Services", "Observations", "Consultations", "Dossiers médicaux"} <= sections
    stats = list(book["Statistiques"].iter_rows(values_only=True))
    assert stats[0] == ("Rubrique", "Indicateur", "Valeur")
    indicators = {row[1] for row in stats[1:]}
    assert "Par genre : Homme" in indicators and not any(
        "by_gender" in str(i) for i in indicators)
    capsys.readouterr()
    assert main(["import", "mano", str(out), "--dry-run", "--store", str(store)]) == 0
    report = capsys.readouterr().out
    assert "déjà présents (laissés tels quels)" in report and "à créer" in report
