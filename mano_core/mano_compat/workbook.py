"""The sheets of an XLSX workbook, found by name (bounded before anything is built).

MANO's full export is one workbook with one sheet per collection, ``actions`` first; its
persons example file has a single sheet ``personne``. A sheet is found by its name, ignoring
case and accents, never by its position."""

from __future__ import annotations

import io
from typing import Any, Final

import msgspec

from mano_core.document.queries import fold
from mano_core.errors import LimitExceededError, ValidationError
from mano_core.codes import Code
from mano_core.optional import require

from . import cells

MAX_WORKBOOK_BYTES: Final = 200 * 1024 * 1024  # a 50,000-item organisation is ~40 MB
MAX_WORKBOOK_ROWS: Final = 1_000_000  # data rows over every sheet
MAX_SHEET_COLUMNS: Final = 500


class Sheet(msgspec.Struct, frozen=True):
    """One sheet: its title, its header and its non-empty rows, numbered as a spreadsheet
    shows them (the header is row 1)."""

    title: str
    header: list[str]
    rows: list[tuple[int, list[Any]]]


def read_workbook(data: bytes) -> list[Sheet]:
    """Every sheet of an XLSX file. ValidationError if it is not a workbook;
    LimitExceededError past ``MAX_WORKBOOK_BYTES``/``MAX_WORKBOOK_ROWS``/``MAX_SHEET_COLUMNS``."""
    if len(data) > MAX_WORKBOOK_BYTES:
        raise LimitExceededError("MAX_WORKBOOK_BYTES", len(data), MAX_WORKBOOK_BYTES)
    openpyxl = require("openpyxl", "xlsx")  # only XLSX needs it (extra [xlsx])
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a non-workbook
        raise ValidationError("import", "file", Code.NOT_A_WORKBOOK,
                              detail=type(exc).__name__) from None
    sheets: list[Sheet] = []
    total = 0
    try:
        for ws in book.worksheets:
            header: list[str] = []
            rows: list[tuple[int, list[Any]]] = []
            for number, row in enumerate(ws.iter_rows(values_only=True), 1):
                values = list(row)
                if number == 1:
                    while values and cells.is_empty(values[-1]):
                        values.pop()
                    if len(values) > MAX_SHEET_COLUMNS:
                        raise LimitExceededError("MAX_SHEET_COLUMNS", len(values),
                                                 MAX_SHEET_COLUMNS)
                    header = [cells.text(v) for v in values]
                    continue
                if not any(not cells.is_empty(v) for v in values):
                    continue
                total += 1
                if total > MAX_WORKBOOK_ROWS:
                    raise LimitExceededError("MAX_WORKBOOK_ROWS", total, MAX_WORKBOOK_ROWS)
                rows.append((number, values[:len(header)]))
            sheets.append(Sheet(ws.title, header, rows))
    finally:
        book.close()
    return sheets


def find_sheet(sheets: list[Sheet], *names: str, contains: str | None = None) -> Sheet | None:
    """The first sheet named one of ``names`` (case and accents ignored), else the first whose
    name contains ``contains``."""
    wanted = [fold(n) for n in names]
    for name in wanted:
        for sheet in sheets:
            if fold(sheet.title) == name:
                return sheet
    if contains:
        for sheet in sheets:
            if fold(contains) in fold(sheet.title):
                return sheet
    return None
