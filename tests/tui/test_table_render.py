"""The app's tables draw their one-line text cells without Rich's general pipeline, and the
styles of a frame once (tui/widgets/table.py, issue 24): what they draw is what Textual
draws, character for character and style for style, whatever the cell holds (cut names,
wide characters, markup-looking text, styled pieces) and wherever the cursor is."""

from __future__ import annotations

from typing import Any

import pytest

from rich.segment import Segment
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.widgets import DataTable

from tui.text import cell, cells, styled
from tui.widgets.table import LiteralTable

from .rendered import screen_lines

VALUES = [
    ("Personne Z", "La Frisée, autre", "01/02/1990", "⚠ VULNÉRABLE", "Équipe A"),
    ("", "", "", "", ""),
    ("x" * 300, "très long " * 20, "—", "! URGENT", "Maraude soir, Maraude jour, Nuit"),
    ("日本語の名前", "😀 emoji", "a\tb", "[b]pas[/b] de markup", "\x1b[31mrouge"),
    ("  espaces  ", "fin ", " début", "x", "y"),
]


class Tables(App[None]):
    CSS = "LiteralTable { height: 1fr; }"

    def compose(self) -> ComposeResult:
        yield LiteralTable(cursor_type="row", zebra_stripes=True)


def drawn(table: LiteralTable) -> list[list[Segment]]:
    table._clear_caches()
    region = Region(0, 0, table.size.width, table.size.height)
    return [list(Segment.simplify(list(strip))) for strip in table.render_lines(region)]


async def test_text_cells_are_drawn_as_textual_draws_them(monkeypatch: Any) -> None:
    app = Tables()
    async with app.run_test(size=(100, 32)) as pilot:
        table = app.query_one(LiteralTable)
        table.add_columns("Nom", "Autres", "Naissance", "Signalement", "Équipes")
        for i in range(60):
            row: list[Any] = list(cells(*VALUES[i % len(VALUES)]))
            if i % 7 == 3:
                row[0] = styled(("Gras", "bold"), " et normal")
            table.add_row(*row, key=str(i))
        await pilot.pause()
        fast = 0
        own = LiteralTable._render_text_cell

        def counted(self: LiteralTable, *args: Any) -> Any:
            nonlocal fast
            found = own(self, *args)
            fast += found is not None
            return found

        for row_index in (0, 3, 10, 20):
            table.move_cursor(row=row_index)
            table.hover_coordinate = table.cursor_coordinate
            await pilot.pause()
            with monkeypatch.context() as m:
                m.setattr(LiteralTable, "_render_text_cell", counted)
                ours = drawn(table)
            with monkeypatch.context() as m:   # Textual's own drawing, cell and frame
                m.setattr(LiteralTable, "_render_text_cell", lambda self, *a: None)
                m.setattr(LiteralTable, "render_lines", DataTable.render_lines)
                textual = drawn(table)
            assert len(ours) == table.size.height
            assert ours == textual
        assert fast > 100   # the body's cells were drawn by ours


def kept(table: LiteralTable) -> list[list[Segment]]:
    """What the table draws now from what it kept (only the widget's line cache dropped)."""
    table._styles_cache.clear()
    region = Region(0, 0, table.size.width, table.size.height)
    return [list(Segment.simplify(list(strip))) for strip in table.render_lines(region)]


async def test_rows_added_below_keep_the_lines_drawn_and_redraw_when_widths_change() -> None:
    """A row added below the others leaves the lines drawn valid (they are kept, not drawn
    again); a row that widens a column, and the cursor moved, draw everything again: what
    the table shows is at each step what it draws from nothing, and what Textual draws."""
    app = Tables()
    async with app.run_test(size=(100, 32)) as pilot:
        table = app.query_one(LiteralTable)
        table.add_columns("Nom", "Autres", "Naissance", "Signalement", "Équipes")
        short = ("Zoé", "Frisée", "01/02/1990", "⚠", "A")

        def add(start: int, stop: int, values: tuple[str, ...] = short) -> None:
            for i in range(start, stop):
                table.add_row(*cells(*values), key=str(i))

        add(0, 10)   # fewer rows than the table shows: the next ones appear in view
        await pilot.pause()
        before = kept(table)
        add(10, 20)
        await pilot.pause()
        after = kept(table)
        assert after[:11] == before[:11]           # the header and the first ten rows
        assert after != before                      # rows 10-19 came into view
        assert after == drawn(table)
        add(20, 21, ("Un nom bien plus long que les autres", "x", "y", "z", "w"))
        await pilot.pause()
        wide = kept(table)
        assert wide[1] != after[1]                  # the first row drawn at the new widths
        assert wide == drawn(table)
        table.move_cursor(row=5)
        await pilot.pause()
        assert kept(table) == drawn(table)
        ours = drawn(table)
        with pytest.MonkeyPatch.context() as m:     # Textual's own drawing, cell and frame
            m.setattr(LiteralTable, "_render_text_cell", lambda self, *a: None)
            m.setattr(LiteralTable, "render_lines", DataTable.render_lines)
            assert drawn(table) == ours


async def test_columns_measured_as_textual_measures_them() -> None:
    """The widths measured for rows of text cells (``_measure_text_rows``) are Textual's:
    a plain DataTable given the same rows, one at a time and at once, gets the same."""
    app = Tables()
    async with app.run_test(size=(100, 32)) as pilot:
        table = app.query_one(LiteralTable)
        names = ("Nom", "Autres", "Naissance", "Signalement", "Équipes")
        table.add_columns(*names)
        textual: DataTable[Any] = DataTable()
        await app.mount(textual)
        textual.add_columns(*names)
        for i, values in enumerate(VALUES * 3):
            row = list(cells(*values))
            if i == 4:
                row[1] = styled(("Gras", "bold"), " et la suite, plus longue encore")
            if i == 7:
                row[2] = None
            if i == 9:   # wide characters: two cells each
                row[3] = cell("日本語の名前です日本語の名前です")
            table.add_row(*row, key=str(i))
            textual.add_row(*row, key=str(i))
            if i % 4 == 0:
                await pilot.pause()
        await pilot.pause()
        ours = [c.content_width for c in table.ordered_columns]
        assert ours == [c.content_width for c in textual.ordered_columns]
        assert max(ours) >= 60   # the long cells were measured (cut by tui.text.cells)


async def test_rows_replaced_by_as_many_others_are_drawn() -> None:
    """A table cleared and filled again with as many rows of other keys, at the same widths
    (a family relation corrected: 'fils' → 'mère'), draws the new rows. Before, it drew the
    header in their place: Textual's clear() measures the old rows once more while clearing,
    and the row count kept by add_row made that measure valid for the new ones."""
    app = Tables()
    async with app.run_test(size=(60, 10)) as pilot:
        table = app.query_one(LiteralTable)
        table.add_columns("Personne", "Relation")
        table.add_row(*cells("Personne M", "fils"), key="a|fils")
        await pilot.pause()
        table.clear()
        table.add_row(*cells("Personne M", "mère"), key="a|mère")
        await pilot.pause()
        shown = screen_lines(app)
        assert "mère" in shown[1] and "Relation" not in shown[1], shown[:2]
