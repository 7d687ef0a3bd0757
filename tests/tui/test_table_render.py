"""The app's tables draw their one-line text cells without Rich's general pipeline, and the
styles of a frame once (tui/widgets/table.py, issue 24): what they draw is what Textual
draws, character for character and style for style, whatever the cell holds (cut names,
wide characters, markup-looking text, styled pieces) and wherever the cursor is."""

from __future__ import annotations

from typing import Any

from rich.segment import Segment
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.widgets import DataTable

from tui.text import cells, styled
from tui.widgets.table import LiteralTable

VALUES = [
    ("Zoé Martin", "La Frisée, autre", "01/02/1990", "⚠ VULNÉRABLE", "Équipe A"),
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
