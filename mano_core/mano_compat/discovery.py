"""Which sheet of the workbook is which collection (found by name, never by position; the
medical ones left out on a device without the medical file), and which column of a sheet is
which field, which a custom field, which not read."""

from __future__ import annotations

from mano_core.document.queries import fold
from mano_core.reporting.problems import NoticeCode

from .columns import BY_COLLECTION, CUSTOM_SCOPES, Column
from .plan import Plan
from .result import SheetReport
from .vocabulary import (
    EXPORT_SHEETS,
    EXTRA_SHEETS,
    MEDICAL_SHEETS,
    TECHNICAL_COLUMNS,
)
from .workbook import Sheet, find_sheet


def identify(sheets: list[Sheet], plan: Plan) -> dict[str, Sheet]:
    """Collection → sheet; the medical sheets left out (and said) without the medical file."""
    found: dict[str, Sheet] = {}
    for name, collection in (*EXPORT_SHEETS, *EXTRA_SHEETS):
        if collection in found:
            continue
        sheet = find_sheet(sheets, name, contains="person" if collection == "persons" else None)
        if sheet is not None and sheet not in found.values():
            found[collection] = sheet
    medical = [c for c in found if c in MEDICAL_SHEETS]
    if medical and not plan.medical:
        for c in medical:
            sheet = found.pop(c)
            plan.notice(NoticeCode.MEDICAL_SHEET_SKIPPED, len(sheet.rows), value=sheet.title)
            plan.sheets.append(SheetReport(sheet=sheet.title, collection=c, rows=len(sheet.rows),
                                           new=0, present=0, columns=(),
                                           ignored=tuple(sheet.header)))
    return found


def map_header(sheet: Sheet, collection: str, plan: Plan) -> tuple[
        dict[int, Column], dict[int, str], list[str]]:
    """(index → column, index → custom-field label, ignored headers) of a sheet."""
    columns = BY_COLLECTION[collection]
    # Exact names first: MANO's "action" (an id) and our label "Action" (a readable copy)
    # differ only by case. Then accents and case aside.
    exact: dict[str, Column] = {}
    by_name: dict[str, Column] = {}
    for col in columns:
        for name in (*col.mano, col.label):
            exact.setdefault(name, col)
        for name in (col.label, *col.mano, col.field):
            by_name.setdefault(fold(name), col)
    mapped: dict[int, Column] = {}
    custom: dict[int, str] = {}
    ignored: list[str] = []
    scope = CUSTOM_SCOPES.get(collection)
    for index, header in enumerate(sheet.header):
        if not header:
            continue
        found = exact.get(header) or by_name.get(fold(header))
        if found is not None and found.kind != "display":
            mapped[index] = found
        elif header in TECHNICAL_COLUMNS or header == "oldDateSystem":
            continue  # no data of the team: not worth a line in the report
        elif found is not None:
            continue  # a readable copy of another column (a name beside an id)
        elif scope is not None:
            custom[index] = header
        elif collection == "reports":
            custom[index] = header  # a service counter column (MANO's older reports)
        else:
            ignored.append(header)
    return mapped, custom, ignored
