"""The Documents tab of a person's file (tui/widgets/person_documents.py), as a worker uses it
with the keyboard: attach a file from a path, see it listed in its folder, rename it, move
it, save a copy to a path (byte for byte), delete it after a confirmation; on this health
device, a document attached to the person's treatment is listed too. In French."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from textual.widgets import Input, Static

from tui.screens.person_file import PersonFileScreen
from tui.widgets.confirm import ConfirmScreen
from tui.widgets.forms import FormScreen
from tui.widgets.person_documents import PersonDocuments
from tui.widgets.table import LiteralTable

from .conftest import SIZE, app_on, wait_for
from .test_erasure_screens import open_file
from .test_flows import opened

pytestmark = pytest.mark.timeout(240)


def rows(screen: PersonFileScreen) -> list[list[str]]:
    table = screen.query_one("#documents", LiteralTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def fill(pilot, values: dict[str, str]) -> None:
    form = pilot.app.screen
    assert isinstance(form, FormScreen)
    for name, value in values.items():
        form.query_one(f"#field-{name}", Input).value = value
    await pilot.press("ctrl+s")
    await wait_for(pilot, lambda: not isinstance(pilot.app.screen, FormScreen), what="saved")


async def test_attach_list_rename_move_save_a_copy_and_delete(demo_store, tmp_path: Path):
    scan = tmp_path / "carte-ame.pdf"
    body = b"%PDF-1.7\n" + os.urandom(40_000)
    scan.write_bytes(body)
    app = app_on(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        team = app.session.team
        person = await team.persons.create(name="Nadia Documentée")
        assert team.medical is not None
        treatment = await team.medical.treatments.create(person=person.id, name="Insuline")
        await team.documents.add(treatment.id, "ordonnance.pdf", b"%PDF ordonnance")
        screen = await open_file(pilot, "Nadia Documentée")
        await pilot.press("9")
        await pilot.pause()
        screen.query_one("#documents", LiteralTable).focus()
        help_text = str(screen.query_one("#documents-help", Static).render())
        assert "joindre un fichier" in help_text
        assert [r[1] for r in rows(screen)] == ["ordonnance.pdf"]
        assert "traitement Insuline" in rows(screen)[0][4]

        await pilot.press("j")
        await fill(pilot, {"path": str(scan), "folder": "Papiers"})
        await wait_for(pilot, lambda: len(rows(screen)) == 2, what="the new document")
        assert ["Papiers", "carte-ame.pdf", "application/pdf", "39 Ko", "la personne",
                "à envoyer"] in rows(screen)
        (doc,) = team.documents.of(person.id)

        table = screen.query_one("#documents", LiteralTable)
        table.move_cursor(row=table.get_row_index(doc.id))
        await pilot.press("n")
        await fill(pilot, {"name": "AME 2026.pdf"})
        await pilot.press("m")
        await fill(pilot, {"folder": "Papiers/Santé"})
        assert (team.documents.get(doc.id).name, team.documents.get(doc.id).folder) == (
            "AME 2026.pdf", "Papiers/Santé")
        await wait_for(pilot, lambda: ["Papiers/Santé", "AME 2026.pdf"] in
                       [r[:2] for r in rows(screen)], what="renamed and moved")

        copy = tmp_path / "copie.pdf"
        await pilot.press("s")
        await fill(pilot, {"path": str(copy)})
        assert copy.read_bytes() == body
        await pilot.press("s")  # never over an existing file: the form says so and stays
        form = app.screen
        form.query_one("#field-path", Input).value = str(copy)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, FormScreen)
        assert "existe déjà" in str(app.screen.query_one("#error-path", Static).render())
        await pilot.press("escape")

        await pilot.press("delete")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirm")
        await pilot.click("#confirm")
        await wait_for(pilot, lambda: team.documents.of(person.id) == [], what="deleted")
        await wait_for(pilot, lambda: [r[1] for r in rows(screen)] == ["ordonnance.pdf"],
                       what="the list without it")
        assert isinstance(screen.query_one(PersonDocuments), PersonDocuments)


async def test_a_missing_path_or_a_file_too_big_is_said_under_the_field(demo_store,
                                                                         tmp_path: Path):
    app = app_on(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        team = app.session.team
        await team.persons.create(name="Nadia Documentée")
        team.documents.max_size = 10
        big = tmp_path / "gros.bin"
        big.write_bytes(b"x" * 11)
        screen = await open_file(pilot, "Nadia Documentée")
        await pilot.press("9")
        await pilot.pause()
        screen.query_one("#documents", LiteralTable).focus()
        await pilot.press("j")
        form = app.screen
        for path, says in ((str(tmp_path / "absent.pdf"), "aucun fichier"),
                           (str(big), "trop gros")):
            form.query_one("#field-path", Input).value = path
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert says in str(form.query_one("#error-path", Static).render())
        await pilot.press("escape")
        assert rows(screen) == []
