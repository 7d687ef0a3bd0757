"""The statistics' charts are one widget drawn a line at a time (tui/widgets/text_lines.py,
issue 24): what it draws reads as a Static of the same lines reads, a line wider than the
screen wrapped rather than cut (a custom field's long label), and new lines replace the old
ones, taller or shorter."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.geometry import Region
from textual.widgets import Static

from tui.text import lines, styled
from tui.widgets.text_lines import TextLines

LINES = ["", "Genre  (total : 29)", "Homme      │██████████  18", "Femme      │█████       9",
         "", "Un champ personnalisé au libellé très long, plus large que l'écran " * 2,
         "日本語の名前 😀 │▍ 1"]


class Both(App[None]):
    CSS = "TextLines, Static { width: 40; height: auto; }"

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield TextLines(id="lines")
            yield Static(id="static")


def shown(widget: TextLines | Static) -> list[str]:
    region = Region(0, 0, widget.size.width, widget.size.height)
    return ["".join(s.text for s in strip).rstrip() for strip in widget.render_lines(region)]


async def test_the_lines_read_as_a_static_of_them() -> None:
    app = Both()
    async with app.run_test(size=(60, 40)) as pilot:
        text = [styled(("Genre", "bold"), "  (total : 29)") if i == 1 else Text(line)
                for i, line in enumerate(LINES)]
        app.query_one(TextLines).set_lines(text)
        app.query_one(Static).update(lines(LINES))
        await pilot.pause()
        mine, static = shown(app.query_one(TextLines)), shown(app.query_one(Static))
        assert mine == static
        assert len(mine) > len(LINES)                        # the long line wrapped
        assert "".join(mine).replace(" ", "") == "".join(static).replace(" ", "")
        # fewer lines: the widget is as tall as they are
        app.query_one(TextLines).set_lines([Text("seule")])
        await pilot.pause()
        assert shown(app.query_one(TextLines)) == ["seule"]
        assert app.query_one(TextLines).text == "seule"
