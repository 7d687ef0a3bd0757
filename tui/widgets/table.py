"""A DataTable whose text cells are always literal (``tui.text.cell``): a name holding
``[/]`` or an escape sequence is shown as typed, never parsed as markup nor sent to the
terminal. Every table of the app is one of these.

Its columns fit the table's width (80 columns included): when the cells are wider than the
table, the widest columns are cut (with ``…``) to the same width, down to ``FIT_MIN``, so
that every column stays on screen and the record's own view shows the whole text. Without
it the last columns (the flags, the sub-teams, a phone number) hid behind a sideways
scrollbar at 80 columns.

Its one-line text cells are drawn without Rich's general pipeline (``_render_cell``): what
Textual draws for a cell (the text cut to the column, padded, the row's and the cursor's
styles around the cell's own), the same segments and styles, at a fraction of the cost
(the visible rows of a table were 25–45 ms of the UI loop each time they changed, issue 24:
a search typed, a page shown). Other cells (several lines, not a Rich ``Text``, the header)
go through Textual's own. And while it draws its lines (``render_lines``, one frame), the
styles Textual computes again for each line from the CSS of every ancestor (the table's
own, each component's: header, odd and even rows, and its background) are computed once, as
are the table's settings a cell reads (``_cell_settings``); a plain cell that fits is one
segment (its padding, text and filling share one style: the line's strip is simplified to
that anyway)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Self, cast

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.color import Color
from textual.css.styles import RenderStyles
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey

from tui.text import cell

FIT_MIN = 8   # characters a cut column keeps at least (below, the table scrolls sideways)


def fit_level(natural: list[int], room: int, minimum: int = FIT_MIN) -> int | None:
    """The width to cut the widest columns to so that they all fit in ``room`` characters
    (None: they fit as they are); never below ``minimum``."""
    if sum(natural) <= room:
        return None
    low, high = minimum, max(natural)
    while low < high:   # the largest level whose cut columns still fit
        mid = (low + high + 1) // 2
        if sum(min(n, mid) for n in natural) <= room:
            low = mid
        else:
            high = mid - 1
    return low


def _text_width(text: Text) -> int:
    """A ``Text``'s width as Textual measures a cell (``Text.__rich_measure__``: its longest
    line's)."""
    return max((cell_len(line) for line in text.plain.splitlines()), default=0)


class _FrameStyles:
    """A component's styles as ``get_component_styles`` gives them, its Rich style computed
    once (Textual's ``rich_style`` walks every ancestor's CSS each time it is read)."""

    def __init__(self, styles: RenderStyles) -> None:
        self._styles = styles
        self.rich_style = styles.rich_style

    def __getattr__(self, name: str) -> Any:
        return getattr(self._styles, name)


class LiteralTable(DataTable[Any]):
    """``add_row`` takes str cells as literal text (cut at ``tui.text.CELL_LIMIT``); cells
    already built by ``tui.text`` (a ``Text``) are kept as they are."""

    _frame: dict[object, Any] | None = None   # styles computed during this frame's drawing

    def render_lines(self, crop: Region) -> list[Strip]:
        self._frame = {}
        try:
            return super().render_lines(crop)
        finally:
            self._frame = None

    def get_component_styles(self, *names: str) -> RenderStyles:
        frame = self._frame
        if frame is None:
            return super().get_component_styles(*names)
        found = frame.get(names)
        if found is None:
            found = frame[names] = _FrameStyles(super().get_component_styles(*names))
        return cast(RenderStyles, found)

    @property
    def rich_style(self) -> Style:
        frame = self._frame
        if frame is None:
            return super().rich_style
        found = frame.get("rich_style")
        if found is None:
            found = frame["rich_style"] = super().rich_style
        return cast(Style, found)

    @property
    def background_colors(self) -> tuple[Color, Color]:
        frame = self._frame
        if frame is None:
            return super().background_colors
        found = frame.get("background_colors")
        if found is None:
            found = frame["background_colors"] = super().background_colors
        return cast("tuple[Color, Color]", found)

    def clear(self, columns: bool = False) -> Self:
        super().clear(columns)
        # Textual's clear() reads its rows' order once more before removing them (its
        # ``_y_offsets.clear()``), caching them under (row count, update count); add_row below
        # keeps the update count, so as many rows added again at the same widths were drawn
        # from that cache: rows of other keys as the header (a corrected family relation).
        self._ordered_row_cache.clear()
        self._offset_cache.clear()
        return self

    def add_row(self, *cells: Any, height: int | None = 1, key: str | None = None,
                label: Any = None) -> RowKey:
        count = self._update_count
        row_key = super().add_row(*(c if isinstance(c, Text) else cell(c) for c in cells),
                                  height=height, key=key, label=label)
        if height is not None and label is None:
            # A row added below the others changes none of them: their drawings stay valid
            # (Textual's caches are keyed by this count, which it moves at every row added:
            # each slice of a page added redrew every visible line, 20-40 ms, issue 24).
            # Only the lines' offsets take the new row; a change of the columns' widths
            # it brings moves the count when it is measured (``_update_dimensions``).
            self._update_count = count
            self._offset_cache.clear()
        return row_key

    def _render_cell(self, row_index: int, column_index: int, base_style: Style, width: int,
                     cursor: bool = False, hover: bool = False) -> list[list[Segment]]:
        lines = self._render_text_cell(row_index, column_index, base_style, width, cursor,
                                       hover)
        if lines is None:
            return super()._render_cell(row_index, column_index, base_style, width,
                                        cursor, hover)
        return lines

    def _render_text_cell(self, row_index: int, column_index: int, base_style: Style,
                          width: int, cursor: bool, hover: bool) -> list[list[Segment]] | None:
        """Textual's ``_render_cell`` for a body cell holding a one-line ``Text`` in a row of
        height 1 (None: another cell, left to it). Textual renders ``Styled(Padding(text,
        (0, cell_padding)), pre, post)`` through the console; this is what that gives."""
        settings = self._cell_settings()
        fixed_rows, fixed_columns, padding, show_cursor, fg_css, bg_css = settings
        if row_index < fixed_rows or column_index < fixed_columns:
            return None   # the header (-1), the row labels, fixed cells
        row_key = self._row_locations.get_key(row_index)
        column_key = self._column_locations.get_key(column_index)
        if row_key is None or column_key is None:
            return None
        row = self.rows.get(row_key)
        if row is None or row.height != 1:
            return None
        key = (row_key, column_key, base_style, cursor, hover, self._show_hover_cursor,
               self._update_count, self._pseudo_class_state)
        cached = self._cell_render_cache.get(key)
        if cached is not None:
            return cached
        text = self._data[row_key].get(column_key)
        inner = width - 2 * padding
        if not isinstance(text, Text) or "\n" in text.plain or inner <= 0:
            return None
        component, post = self._get_styles_to_render_cell(
            False, False, False, hover, cursor, show_cursor, self._show_hover_cursor,
            fg_css, bg_css)
        pre = base_style + Style.from_meta({"row": row_index, "column": column_index}) \
            + component
        plain = text.plain
        null = Style.null()
        if not text.spans and not text.style and "\t" not in plain:
            used = cell_len(plain)
            if used <= inner and pre:
                # What Rich gives for an unstyled one-line Text that fits (Text.render: one
                # segment of its characters), padded: every piece takes ``pre`` then
                # ``post`` (below), so the line is one segment of that style (the strip
                # is simplified to it anyway, DataTable._render_line).
                pad = " " * padding
                style = pre + post if post else pre
                lines = [[Segment(pad + plain + " " * (inner - used) + pad, style)]]
                self._cell_render_cache[key] = lines
                return lines
        console = self.app.console
        options = self.app.console_options.update_dimensions(inner, 1).update(no_wrap=True)
        body = [s for s in text.__rich_console__(console, options) if s.text != "\n"]
        used = sum(s.cell_length for s in body)
        if used > inner or any(s.control for s in body):
            return None
        line = [Segment(" " * padding, null)] if padding else []
        line += body
        if used < inner:
            line.append(Segment(" " * (inner - used), null))
        if padding:
            line.append(Segment(" " * padding, null))
        # Styled's ``Segment.apply_style(segments, pre, post)``, as Rich writes it
        if pre:
            line = [Segment(s.text, pre + s.style) for s in line]
        if post:
            line = [Segment(s.text, s.style + post if s.style else post) for s in line]
        lines = [line]
        self._cell_render_cache[key] = lines
        return lines

    def _cell_settings(self) -> tuple[int, int, int, bool, bool, bool]:
        """The table's settings a cell's drawing reads (reactive attributes, each read a
        lookup through Textual's descriptor), once a frame while the lines are drawn."""
        frame = self._frame
        if frame is not None:
            found = frame.get("cell_settings")
            if found is not None:
                return cast("tuple[int, int, int, bool, bool, bool]", found)
        settings = (self.fixed_rows, self.fixed_columns, self.cell_padding, self.show_cursor,
                    self.cursor_foreground_priority == "css",
                    self.cursor_background_priority == "css")
        if frame is not None:
            frame["cell_settings"] = settings
        return settings

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        widths = self._drawn_widths()
        super()._update_dimensions(self._measure_text_rows(new_rows))
        if self._fit_columns():
            super()._update_dimensions(())   # the virtual size with the new widths
        if self._drawn_widths() != widths:
            self._update_count += 1   # every line is drawn again, at the new widths

    def widen(self, rows: Iterable[Sequence[Any]]) -> None:
        """Widen the columns now to the ``Text`` cells of rows about to be added (what
        ``_measure_text_rows`` will find for them), so that rows added in slices never
        change the widths the lines were drawn at."""
        columns = self.ordered_columns
        widths = [c.content_width for c in columns]
        for cells in rows:
            for i, value in enumerate(cells[:len(widths)]):
                if isinstance(value, Text):
                    widths[i] = max(widths[i], _text_width(value))
        for column, width in zip(columns, widths, strict=True):
            column.content_width = width
        # Cut to the table's width now too (once the table has one): fitted later, when the
        # rows are measured (``_update_dimensions``, at the next idle), the widths changed
        # after the first lines were drawn, and every visible line was drawn again (a
        # second full draw of the table, 12-14 ms, on a section's first show, issue 24).
        self._fit_columns()

    def _measure_text_rows(self, new_rows: Iterable[RowKey]) -> list[RowKey]:
        """Widen the columns for the new rows whose cells are all ``Text`` (or empty), in
        rows of height 1 without a label, as Textual measures them (a ``Text``'s width is
        its longest line's, ``Text.__rich_measure__``), without asking the console for its
        options once a cell (0.15-0.2 ms a row, issue 24); the other rows are returned, for
        Textual to measure."""
        columns = self.ordered_columns
        widths = [c.content_width for c in columns]
        rest: list[RowKey] = []
        for row_key in new_rows:
            row = self.rows.get(row_key)
            if row is None or row_key not in self._row_locations:
                continue   # removed since it was added (Textual skips it too)
            data = self._data.get(row_key, {})
            values = [data.get(c.key) for c in columns]
            if row.label is not None or row.auto_height or row.height != 1 or \
                    not all(v is None or isinstance(v, Text) for v in values):
                rest.append(row_key)
                continue
            for i, value in enumerate(values):
                if value is not None:
                    widths[i] = max(widths[i], _text_width(value))
        for column, width in zip(columns, widths, strict=True):
            column.content_width = width
        return rest

    def _drawn_widths(self) -> tuple[object, ...]:
        """What the drawing of a row depends on besides its own cells (``add_row``)."""
        return (self._labelled_row_exists, self._row_label_column_width,
                tuple(c.get_render_width(self) for c in self.ordered_columns))

    def on_resize(self, event: events.Resize) -> None:
        if self._fit_columns():
            super()._update_dimensions(())

    def _fit_columns(self) -> bool:
        """Cut the widest columns so that all fit the table's width; True if a width
        changed (the rendering caches are then cleared)."""
        if self.size.width <= 0 or not self.columns:
            return False
        columns = list(self.columns.values())
        natural = [max(c.content_width, c.label.cell_len) for c in columns]
        room = (self.size.width - self.styles.scrollbar_size_vertical
                - 2 * self.cell_padding * len(columns))
        level = fit_level(natural, room)
        changed = False
        for column, width in zip(columns, natural, strict=True):
            auto = level is None or width <= level
            if auto != column.auto_width or (not auto and column.width != level):
                column.auto_width = auto
                if not auto:
                    assert level is not None
                    column.width = level
                changed = True
        if changed:
            self._clear_caches()
            self.refresh()
        return changed
