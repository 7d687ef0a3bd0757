"""Numbers as the interface's language writes them: the one helper behind every count and
size on screen (the Translator, tables, charts, the sync bar, exports and imports)."""

from __future__ import annotations

from typing import Final

# French groups thousands with a space that never breaks a line (U+00A0: every terminal font
# has it; CLDR's narrow one, U+202F, is missing from some); English with a comma.
GROUPING: Final = {"fr": ("\u00a0", ","), "en": (",", ".")}


def number(value: float | None, lang: str, *, decimals: int = 0) -> str:
    """A count or a figure as ``lang`` writes it: ``10 000`` and ``311,6`` in French,
    ``10,000`` and ``311.6`` in English; at most ``decimals`` digits after the point (none
    shown when they are zeros); ``—`` for None. The one place numbers are written: the
    Translator passes every whole number it places through it."""
    if value is None:
        return "—"
    group, point = GROUPING.get(lang, GROUPING["en"])
    if decimals <= 0 or float(value).is_integer():
        text = f"{round(value):,}"
    else:
        text = f"{value:,.{decimals}f}".rstrip("0").rstrip(".")
    return text.translate({ord(","): group, ord("."): point})
