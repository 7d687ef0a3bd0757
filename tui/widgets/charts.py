"""Charts from block characters, readable without colour: every bar carries its number, every
chart has an axis with its scale, and a column chart names its first, middle and last
periods under the axis."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from tui.numbers import number
from tui.text import clean

BLOCKS = " ▏▎▍▌▋▊▉█"
COLUMN_BLOCKS = " ▁▂▃▄▅▆▇█"


def bar(value: float, top: float, width: int) -> str:
    """A horizontal bar of ``width`` cells at most, with eighth-of-a-cell resolution."""
    if top <= 0 or value <= 0:
        return ""
    eighths = round(value / top * width * 8)
    full, rest = divmod(eighths, 8)
    return "█" * full + (BLOCKS[rest] if rest else "")


def _label(raw: str, width: int) -> str:
    label = clean(raw, one_line=True)
    return label if len(label) <= width else label[:width - 1] + "…"


def axis(top: float, width: int, indent: int, lang: str = "fr") -> list[str]:
    """The scale under horizontal bars: ``└┬────┬────┬`` then ``0    top/2    top``."""
    # the middle tick only when it falls on a whole number (no "5.5" under a chart)
    ticks = sorted({0, width} | ({width // 2} if top % 2 == 0 else set()))
    line = "".join("┬" if i in ticks else "─" for i in range(width + 1))
    labels = [" "] * (width + 8)
    for i in ticks:
        text = number(top * i / width, lang, decimals=1) if width else "0"
        start = max(0, min(i - len(text) // 2, width + 8 - len(text)))
        labels[start:start + len(text)] = list(text)
    return [" " * indent + "└" + line[1:], " " * indent + "".join(labels).rstrip()]


def bar_chart(counts: Mapping[str, int | float], *, width: int = 30, label_width: int = 22,
              limit: int = 12, ordered: bool = False, lang: str = "fr") -> str:
    """Lines ``label │████▌ 42`` over an axis with its scale. Largest first, unless
    ``ordered`` (the mapping's order is meaningful: age bands). At most ``limit`` bars; the
    rest are summed on one last line. Numbers as ``lang`` writes them (``10 000``)."""
    items = list(counts.items())
    if not ordered:
        items.sort(key=lambda kv: (-kv[1], kv[0]))
    if len(items) > limit:
        rest = sum(v for _k, v in items[limit - 1:])
        items = [*items[:limit - 1], ("…", rest)]
    if not items:
        return "—"
    top = max(v for _k, v in items)
    lines = []
    for raw, v in items:
        lines.append(f"{_label(raw, label_width):<{label_width}} │"
                     f"{bar(v, top, width):<{width}} {number(v, lang, decimals=1):>6}")
    return "\n".join([*lines, *axis(top, width, label_width + 1, lang)])


def column_chart(values: Sequence[float], labels: Sequence[str], *, height: int = 6,
                 axis_width: int = 5, lang: str = "fr") -> str:
    """Vertical columns (one a value) with a left axis (0, the middle and the top value)
    and, under the bottom axis, the labels of the first, middle and last columns."""
    if not values:
        return "—"
    top = max(values)
    rows = []
    for level in range(height, 0, -1):
        if level == height:
            name = number(top, lang, decimals=1)
        elif level == (height + 1) // 2 and height > 2:
            name = number(top * level / height, lang, decimals=1)
        else:
            name = ""
        cells = []
        for v in values:
            eighths = round(v / top * height * 8) if top > 0 else 0
            filled = eighths - (level - 1) * 8
            cells.append("█" if filled >= 8 else COLUMN_BLOCKS[max(0, filled)])
        rows.append(f"{name:>{axis_width}} ┤{''.join(cells)}")
    rows.append(f"{'0':>{axis_width}} └" + "─" * len(values))
    under = [" "] * (len(values) + 12)
    picks = sorted({0, len(values) // 2, len(values) - 1})
    last_end = -1
    for i in picks:
        text = labels[i] if i < len(labels) else ""
        start = max(i, last_end + 1)
        if text and start + len(text) <= len(under):
            under[start:start + len(text)] = list(text)
            last_end = start + len(text)
    rows.append(" " * (axis_width + 2) + "".join(under).rstrip())
    return "\n".join(rows)
