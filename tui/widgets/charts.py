"""Bar charts from block characters: a label, a bar, and the number (readable without colour)."""

from __future__ import annotations

from collections.abc import Mapping

from tui.text import clean

BLOCKS = " ▏▎▍▌▋▊▉█"


def bar(value: float, top: float, width: int) -> str:
    """A horizontal bar of ``width`` cells at most, with eighth-of-a-cell resolution."""
    if top <= 0 or value <= 0:
        return ""
    eighths = round(value / top * width * 8)
    full, rest = divmod(eighths, 8)
    return "█" * full + (BLOCKS[rest] if rest else "")


def bar_chart(counts: Mapping[str, int], *, width: int = 30, label_width: int = 22,
              limit: int = 12) -> str:
    """Lines ``label  ████▌ 42``, largest first (at most ``limit`` lines)."""
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    if not items:
        return "—"
    top = max(v for _k, v in items)
    lines = []
    for raw, v in items:
        label = clean(raw, one_line=True)
        name = label if len(label) <= label_width else label[:label_width - 1] + "…"
        lines.append(f"{name:<{label_width}} {bar(v, top, width):<{width}} {v:>6}")
    return "\n".join(lines)
