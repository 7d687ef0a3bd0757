"""Tables that fit their screen: the last column (free text) takes the width the others
leave, so that nothing needs sideways scrolling to be read."""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from rich.text import Text

CELL_PADDING = 1      # DataTable's padding on each side of a cell
SCROLLBAR = 2         # the vertical scrollbar's width
MIN_TEXT = 16         # below this, the last column keeps its width and the table scrolls


def last_column_width(table_width: int, headers: Sequence[str],
                      rows: Sequence[Sequence[str | Text]]) -> int:
    """Characters the last column may hold so that every column fits in ``table_width``."""
    used = 0
    for i, header in enumerate(headers[:-1]):
        widest = max([cell_len(header), *(cell_len(str(r[i])) for r in rows)])
        used += widest + 2 * CELL_PADDING
    return max(MIN_TEXT, table_width - used - 2 * CELL_PADDING - SCROLLBAR)
