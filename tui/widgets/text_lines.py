"""Many lines of text in one widget, drawn a line at a time (Textual's Line API): the
statistics' charts (issue 24).

A ``Static`` renders its whole text whenever it is drawn (one Static of every chart: 10–25 ms
of the UI loop), and a widget per chart costs a mount each, styled against every rule of the
app (30–50 ms for a screen of charts, 4 at a time still 15–25 ms a step). This widget is
mounted once, with the screen; new lines replace the old ones without a mount, and only the
lines on screen are rendered (``render_line``), each once per width. A line wider than the
widget wraps as a Static would wrap it, so no text is cut (a custom field's long label)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget


class TextLines(Widget):
    """Lines of ``rich.text.Text`` (no line breaks inside one), as tall as they are."""

    DEFAULT_CSS = "TextLines { height: auto; }"

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._lines: list[Text] = []
        self._width = -1                 # the width _shown was wrapped to
        self._shown: list[Text] = []     # the lines as drawn at that width (long ones wrapped)
        self._strips: dict[int, Strip] = {}

    def set_lines(self, lines: Sequence[Text]) -> None:
        """Show ``lines`` instead (a layout: their count may differ)."""
        self._lines = list(lines)
        self._width = -1
        self.refresh(layout=True)

    @property
    def text(self) -> str:
        """The lines as plain text (what the screen reads)."""
        return "\n".join(line.plain for line in self._lines)

    def _at(self, width: int) -> list[Text]:
        if width != self._width:
            console = self.app.console
            shown: list[Text] = []
            for line in self._lines:
                if line.cell_len <= width or width <= 0:
                    shown.append(line)
                else:
                    shown.extend(line.wrap(console, width))
            self._shown, self._width, self._strips = shown, width, {}
        return self._shown

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips = {}   # drawn in the old style

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._at(width))

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        shown = self._at(width)
        style = self.visual_style.rich_style
        if y >= len(shown):
            return Strip.blank(width, style)
        strip = self._strips.get(y)
        if strip is None:
            segments = list(shown[y].render(self.app.console))
            strip = Strip(segments).apply_style(style)
            self._strips[y] = strip
        return strip
