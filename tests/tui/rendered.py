"""What a Pilot-run app shows, as lines of text: read from ``App.export_screenshot()`` (the
SVG that Textual draws from the screen's compositor), so the tests assert on the rendered
screen, not on the values handed to a widget."""

from __future__ import annotations

import html
import re
import unicodedata

from rich.cells import cell_len
from textual.app import App

CELL_PX = 12.2   # Rich's SVG export: width of one terminal cell
_TEXT = re.compile(r'<text class="[^"]*" x="([\d.]+)" y="[\d.]+" textLength="[\d.]+" '
                   r'clip-path="url\(#[\w-]+-line-(\d+)\)">(.*?)</text>', re.S)


def screen_lines(app: App[object]) -> list[str]:
    """The screen's rows, left to right (cells without text become spaces)."""
    rows: dict[int, list[tuple[int, str]]] = {}
    for x, line, chunk in _TEXT.findall(app.export_screenshot()):
        rows.setdefault(int(line), []).append((round(float(x) / CELL_PX),
                                               html.unescape(chunk).replace("\xa0", " ")))
    out = []
    for n in sorted(rows):
        text = ""
        for col, chunk in sorted(rows[n]):
            text += " " * max(0, col - cell_len(text)) + chunk
        out.append(text.rstrip("\n").rstrip())
    return out


def screen_text(app: App[object]) -> str:
    return "\n".join(screen_lines(app))


def invisible_removed(text: str) -> str:
    """``text`` without zero-width and direction marks (category Cf) and variation
    selectors: what a comparison of what is seen must ignore."""
    return "".join(c for c in text if unicodedata.category(c) != "Cf"
                   and not 0xFE00 <= ord(c) <= 0xFE0F)


def shows(app: App[object], text: str) -> bool:
    """True if ``text`` is on the screen as it is drawn (zero-width marks aside)."""
    return invisible_removed(text) in invisible_removed(screen_text(app))


def notices(app: App[object]) -> str:
    """The text of the notices (toasts) on screen now, one per line."""
    return "\n".join(str(toast.render()) for toast in app.screen.query("Toast"))
