"""User and teammate text on screen: always data, never markup, never terminal control.

Everything a person typed (names, aliases, comments, actions, structures, categories, custom
fields, member names) may hold ``[b]``, ``[/]``, ``\\x1b[31m``… It reaches the screen only
through this module: as a ``rich.text.Text`` (never parsed as markup) whose control characters
are replaced one for one by visible pictures (``␛`` for ESC), so that nothing a teammate typed
can restyle, hide words, crash the markup parser or drive the terminal. Our own styling (a bold
name, a bold heading) is added with :func:`styled`, around the user's text, never inside it.

Messages of the catalog that carry user values (``t("persons.saved", name=...)``) are user
text too: show them with :func:`plain`, and notify with ``markup=False`` (``ManoApp.say``).
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.highlighter import Highlighter
from rich.text import Text

CELL_LIMIT = 60        # characters of a list cell; the record's screen shows all of it
LONG_CELL_LIMIT = 300  # the last column of a list (a comment's text)
ELLIPSIS = "…"


def _picture(code: int) -> str:
    if code < 0x20:
        return chr(0x2400 + code)     # ␀ … ␟ (U+2400 block: "control pictures")
    if code == 0x7F:
        return "\u2421"               # ␡
    return "\ufffd"                   # C1 controls (0x80–0x9f): �


# One visible character for one control character: offsets (cursor, selection) stay right.
_TABLE = {c: _picture(c) for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)]}
# In an editor (Input, TextArea): one for one, tabs kept (the editor expands them itself).
_EDITOR = {c: p for c, p in _TABLE.items() if c != 0x09}
_ONE_LINE = {**_TABLE, 0x0A: "↵", 0x09: " ", 0x2028: "↵", 0x2029: "↵"}
# Several lines: newlines and tabs kept, a carriage return (of "\r\n") dropped.
_MULTILINE: dict[int, str | None] = {
    **{c: p for c, p in _TABLE.items() if c not in (0x0A, 0x09)}, 0x0D: None}


def clean(text: object, *, one_line: bool = False) -> str:
    """``text`` with every control character made visible (newlines and tabs kept, unless
    ``one_line``: then a newline reads ``↵``)."""
    return str(text).translate(_ONE_LINE if one_line else _MULTILINE)


def visible(text: str) -> str:
    """For editors: every control character but the tab made visible, one for one, so
    that the cursor and selection offsets of the value still point at the right place."""
    return text.translate(_EDITOR)


def plain(text: object, style: str = "") -> Text:
    """User text (or a message carrying some) as literal text, on as many lines as it has."""
    return Text(clean(text), style=style, end="")


def cell(text: object, limit: int = CELL_LIMIT) -> Text:
    """A table cell: one line, literal, cut at ``limit`` characters with ``…``."""
    line = clean(text, one_line=True)
    if len(line) > limit:
        line = line[:limit - 1] + ELLIPSIS
    return Text(line, no_wrap=True, overflow="ellipsis", end="")


def excerpt(text: object, limit: int) -> str:
    """The start of user text on one line (a newline reads ``↵``), at most ``limit``
    characters, cut after a whole word with ``…`` when it is longer (a printed list: a
    comment's lines, or a word cut in two, read as something else)."""
    line = clean(text, one_line=True)
    if len(line) <= limit:
        return line
    cut = line[:limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:   # (one very long word is cut inside it)
        cut = cut[:space]
    return cut.rstrip() + ELLIPSIS


def cells(*values: object, last_limit: int = CELL_LIMIT) -> tuple[Text, ...]:
    """A table row of literal cells (the last one may be longer: free text)."""
    out = [cell(v) for v in values[:-1]]
    if values:
        out.append(cell(values[-1], last_limit))
    return tuple(out)


def styled(*parts: str | Text | tuple[str, str]) -> Text:
    """Literal pieces joined on one Text: ``str`` plain, ``(text, "bold")`` styled; a ready
    ``Text`` is taken as it is (made by this module)."""
    out = Text(end="")
    for part in parts:
        if isinstance(part, Text):
            out.append_text(part)
        elif isinstance(part, tuple):
            out.append(clean(part[0]), style=part[1])
        else:
            out.append(clean(part))
    return out


def lines(items: Iterable[str | Text]) -> Text:
    """Lines (each literal) joined with newlines."""
    return Text("\n", end="").join(plain(i) if isinstance(i, str) else i for i in items)


class Visible(Highlighter):
    """For ``Input(highlighter=Visible())``: the value is drawn with its control characters
    made visible (one for one, so the cursor stays on the right character); the value
    itself is left as it is."""

    def __call__(self, text: str | Text) -> Text:
        source = text if isinstance(text, Text) else Text(text)
        shown = source.copy()
        shown.plain = visible(source.plain)
        return shown

    def highlight(self, text: Text) -> None:  # pragma: no cover - __call__ does the work
        pass
