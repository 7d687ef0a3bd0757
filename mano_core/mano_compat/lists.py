"""Our ``listes`` sheet: (list, value) rows, values of the team's lists."""

from __future__ import annotations

from mano_core.document.queries import fold
from mano_core.reporting.problems import ImportCode

from . import cells
from .discovery import map_header
from .plan import Plan
from .result import SheetReport, problem
from .vocabulary import (
    LIST_LABELS,
)
from .workbook import Sheet


def read_lists(plan: Plan, sheet: Sheet | None) -> None:
    """Our "listes" sheet: (list, value) rows, values of the team's lists."""
    if sheet is None:
        return
    cols = map_header(sheet, "settings", plan)[0]
    by_label = {fold(label): kind for kind, label in LIST_LABELS.items()}
    by_label.update((fold(kind), kind) for kind in LIST_LABELS)
    for number, row in sheet.rows:
        values = {c.field: cells.text(row[i]) for i, c in cols.items() if i < len(row)}
        kind = by_label.get(fold(values.get("list", "")))
        if kind is None or not values.get("value"):
            plan.problems.append(problem(sheet.title, number, "Liste", ImportCode.UNKNOWN_LIST,
                                         value=values.get("list", "")))
            continue
        plan.add_values(kind, [values["value"]])
    plan.sheets.append(SheetReport(sheet=sheet.title, collection="settings",
                                   rows=len(sheet.rows), new=len(sheet.rows), present=0,
                                   columns=tuple(sheet.header), ignored=()))
