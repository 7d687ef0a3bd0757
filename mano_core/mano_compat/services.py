"""MANO's service counters (the ``services`` sheet: one row per team, day and service), as
the counters of that day's report (a report created for a day without one)."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from mano_core.document import layout
from mano_core.model import records as r
from mano_core.reporting.problems import ImportCode

from . import cells
from .discovery import map_header
from .plan import IDS_NAMESPACE, Plan
from .result import cell_problem, problem
from .values import cell_value
from .workbook import Sheet


def read_services(plan: Plan, sheet: Sheet | None) -> dict[tuple[str, str], dict[str, int]]:
    """MANO's service counters (one row per team, day and service) by (team, day)."""
    out: dict[tuple[str, str], dict[str, int]] = {}
    if sheet is None:
        return out
    mapped = map_header(sheet, "services", plan)[0]
    for number, row in sheet.rows:
        values: dict[str, Any] = {}
        try:
            for index, col in mapped.items():
                value = row[index] if index < len(row) else None
                if not cells.is_empty(value):
                    values[col.field] = cell_value(plan, col, value)
        except cells.CellError as exc:
            plan.problems.append(cell_problem(sheet.title, number, "", exc))
            continue
        if not values.get("team") or not values.get("date") or not values.get("service"):
            plan.problems.append(problem(sheet.title, number, "",
                                         ImportCode.INCOMPLETE_SERVICE))
            continue
        day = out.setdefault((values["team"], values["date"]), {})
        day[values["service"]] = day.get(values["service"], 0) + int(values.get("count", 0))
    return out


def reports_from_services(plan: Plan, services: dict[tuple[str, str], dict[str, int]]) -> None:
    """A report for each (team, day) whose counters no report row took."""
    out = plan.records.setdefault("reports", [])
    known = plan.known.setdefault("reports", set())
    stamp = msgspec.to_builtins(plan.now)
    for (team, day), counters in sorted(services.items()):
        # the same id on every run, so that running the import again finds it present
        report_id = str(uuid.uuid5(IDS_NAMESPACE, f"{team}/{day}"))
        if report_id in known:
            continue
        known.add(report_id)
        wire = {"id": report_id, "createdAt": stamp, "updatedAt": stamp,
                "createdBy": plan.author, "updatedBy": plan.author, "team": team, "date": day,
                "services": counters}
        out.append(layout.decode(r.Report, wire))
    services.clear()
