"""Reading one sheet of a collection into records: its custom-field columns chosen, each row
converted cell by cell, completed with what MANO leaves implicit, built through the same checks
as a record created by hand; health-only person values as medical records."""

from __future__ import annotations

import uuid
from typing import Any, Final

import msgspec

from mano_core.document import layout
from mano_core.document.health import health_value_id
from mano_core.document.queries import fold
from mano_core.errors import ValidationError
from mano_core.model import records as r
from mano_core.model.validation import custom_value_problem, validate
from mano_core.reporting.problems import ImportCode, NoticeCode

from . import cells, customs
from .columns import CUSTOM_SCOPES, Column
from .customs import FieldChoice
from .discovery import map_header
from .extras import ride_along
from .plan import Plan
from .result import SheetReport, cell_problem, invalid, problem
from .values import cell_value
from .workbook import Sheet

_RECORDS: Final[dict[str, type[r.Record]]] = {
    k.collection: k for k in (*r.GENERAL_RECORDS, *r.MEDICAL_RECORDS)}


def read_sheet(plan: Plan, collection: str, sheet: Sheet,
               services: dict[tuple[str, str], dict[str, int]] | None) -> None:
    """Every row of a collection's sheet into the plan (records, problems, report)."""
    mapped, custom, ignored = map_header(sheet, collection, plan)
    if collection == "persons" and "name" not in {c.field for c in mapped.values()}:
        plan.problems.append(problem(sheet.title, 1, "Nom prénom ou Pseudonyme",
                                     ImportCode.NO_NAME_COLUMN))
        return
    scope = CUSTOM_SCOPES.get(collection)
    choices: dict[int, FieldChoice] = {}
    if scope is not None:
        known = [*plan.team.custom_fields.list(), *plan.file_definitions]
        taken = {d.key for d in known} | {c.definition.key for c in plan.fields.values()}
        for index, label in custom.items():
            prior = plan.fields.get((scope, fold(label)))
            values = [row[index] for _n, row in sheet.rows if index < len(row)]
            choice = customs.choose(scope, label, values,
                                    known + [c.definition for c in plan.fields.values()],
                                    taken, now=plan.now, author=plan.author)
            if prior is not None:
                choice = prior
            plan.fields[(scope, fold(label))] = choice
            choices[index] = choice
    kind = _RECORDS["medicalFiles" if collection == "medicalFiles" else collection]
    definitions = [*plan.team.custom_fields.list(include_deleted=False),
                   *plan.file_definitions, *[c.definition for c in plan.fields.values()]]
    definitions = list({d.key: d for d in definitions}.values())
    out = plan.records.setdefault(collection, [])
    known_ids = plan.known.setdefault(collection, set())
    present = 0
    new = 0
    for number, row in sheet.rows:
        record = _row(plan, collection, kind, sheet, number, row, mapped, custom, choices,
                      definitions, services)
        if record is None:
            continue
        if record.id in plan.in_file(collection):
            plan.problems.append(problem(sheet.title, number, "_id", ImportCode.DUPLICATE_ID,
                                         value=record.id))
            continue
        plan.in_file(collection).add(record.id)
        if record.id in known_ids or _same_field_held(plan, record):
            present += 1
            continue
        if isinstance(record, r.CustomFieldDefinition):
            plan.file_definitions.append(record)
        known_ids.add(record.id)
        out.append(record)
        new += 1
        name = getattr(record, "name", None)
        if isinstance(name, str) and collection in ("persons", "subteams", "territories",
                                                    "places"):
            names = plan.by_name.setdefault(collection, {})
            key = fold(name.strip())
            names[key] = None if key in names and names[key] != record.id else record.id
    plan.sheets.append(SheetReport(
        sheet=sheet.title, collection=collection, rows=len(sheet.rows), new=new,
        present=present, columns=tuple(sheet.header[i] for i in (*mapped, *custom)),
        ignored=tuple(ignored)))


def _row(plan: Plan, collection: str, kind: type[r.Record], sheet: Sheet, number: int,
         row: list[Any], mapped: dict[int, Column], custom: dict[int, str],
         choices: dict[int, FieldChoice], definitions: list[r.CustomFieldDefinition],
         services: dict[tuple[str, str], dict[str, int]] | None) -> r.Record | None:
    """One row as a record, or None with its problems in the plan."""
    wire: dict[str, Any] = {}
    extras: dict[str, Any] = {}
    bad = False
    for index, col in mapped.items():
        value = row[index] if index < len(row) else None
        if cells.is_empty(value) and col.kind != "bool":
            continue
        try:
            parsed = cell_value(plan, col, value)
        except cells.CellError as exc:
            plan.problems.append(cell_problem(sheet.title, number, sheet.header[index], exc))
            bad = True
            continue
        if col.field in ("history", "documents", "comments") and kind is not r.Comment:
            extras[col.field] = parsed
        elif isinstance(parsed, list) and isinstance(wire.get(col.field), list):
            wire[col.field] = list(dict.fromkeys([*wire[col.field], *parsed]))
        elif col.field not in wire or cells.is_empty(wire[col.field]):
            wire[col.field] = parsed
    custom_values: dict[str, Any] = {}
    counters: dict[str, int] = {}
    for index, label in custom.items():
        value = row[index] if index < len(row) else None
        if cells.is_empty(value):
            continue
        if collection == "reports":
            try:
                counters[label] = int(cells.number(value))
            except cells.CellError as exc:
                plan.problems.append(cell_problem(sheet.title, number, label, exc))
                bad = True
            continue
        definition = choices[index].definition
        if definition.scope == "person" and definition.health_only and not plan.medical:
            plan.health_dropped += 1
            continue
        try:
            custom_values[definition.key] = customs.parse_value(definition, value)
        except cells.CellError as exc:
            plan.problems.append(cell_problem(sheet.title, number, label, exc))
            bad = True
    if bad:
        return None
    health = {k: custom_values.pop(k) for k in list(custom_values)
              if kind is r.Person and _health_only(choices, k)}
    if custom_values:
        wire["customFields"] = custom_values
    if any(c.field == "updatedBy" for c in mapped.values()):
        wire.setdefault("updatedBy", None)  # our export: an empty cell is "nobody"
    _complete(plan, collection, kind, wire, counters, services)
    try:
        record = layout.decode(kind, wire)
        validate(record, definitions)
    except ValidationError as exc:
        column = _column_of(exc.field, mapped, sheet)
        plan.problems.append(invalid(sheet.title, number, column, exc.code, exc.params))
        return None
    if health and not _health_values(plan, record, health, choices, sheet, number, custom):
        return None
    ride_along(plan, collection, record, extras, sheet, number)
    return record


def _same_field_held(plan: Plan, record: r.Record) -> bool:
    """A field definition of the file whose key the team already has in that scope."""
    if not isinstance(record, r.CustomFieldDefinition):
        return False
    return any(d.scope == record.scope and d.key == record.key
               for d in plan.team.custom_fields.list())


def _health_only(choices: dict[int, FieldChoice], key: str) -> bool:
    return any(c.definition.key == key and c.definition.health_only for c in choices.values())


def _health_values(plan: Plan, person: r.Record, values: dict[str, Any],
                   choices: dict[int, FieldChoice], sheet: Sheet, number: int,
                   custom: dict[int, str]) -> bool:
    """Health-only values of a person become records of the medical compartment
    (mano_core.document.health), never fields of the general one."""
    definitions = {c.definition.key: c.definition for c in choices.values()}
    labels = {choices[i].definition.key: label for i, label in custom.items()}
    out = plan.records.setdefault("personHealthValues", [])
    ok = True
    for key, value in values.items():
        problem = custom_value_problem(definitions[key], value)
        if problem:
            plan.problems.append(invalid(sheet.title, number, labels.get(key, key),
                                         problem.code, problem.params))
            ok = False
            continue
        out.append(r.HealthValue(
            id=health_value_id(person.id, key), created_at=person.created_at,
            updated_at=person.updated_at, created_by=person.created_by,
            updated_by=person.updated_by, person=person.id, field=key, value=value))
    return ok


def _complete(plan: Plan, collection: str, kind: type[r.Record], wire: dict[str, Any],
              counters: dict[str, int],
              services: dict[tuple[str, str], dict[str, int]] | None) -> None:
    """Fill what MANO leaves implicit: ids, dates, authors, dates its rules did not require."""
    if not wire.get("id"):
        wire["id"] = str(uuid.uuid4())
    stamp = msgspec.to_builtins(plan.now)
    wire.setdefault("createdAt", wire.get("updatedAt") or stamp)
    wire.setdefault("updatedAt", wire["createdAt"])
    wire.setdefault("createdBy", plan.author)
    wire.setdefault("updatedBy", wire["createdBy"])
    updated_day = cells.day(wire["updatedAt"]).isoformat()
    if kind is r.Person and wire.get("outOfActiveList") and not wire.get("outOfActiveListDate"):
        wire["outOfActiveListDate"] = updated_day
        plan.notice(NoticeCode.EXIT_DATE_FROM_UPDATE)
    if kind in (r.Action, r.Consultation):
        status = wire.get("status", "A FAIRE")
        if status in ("FAIT", "ANNULEE") and not wire.get("completedAt"):
            wire["completedAt"] = wire["updatedAt"]
            plan.notice(NoticeCode.COMPLETION_FROM_UPDATE)
        if status == "A FAIRE" and wire.get("completedAt"):
            del wire["completedAt"]
            plan.notice(NoticeCode.OLD_COMPLETION_DROPPED)
        if kind is r.Action and "dueAt" not in wire:
            wire["dueAt"] = wire["createdAt"]
        if kind is r.Consultation:
            wire.setdefault("dueAt", wire["createdAt"])
            wire.setdefault("type", "")
    if kind in (r.Comment, r.Passage, r.Encounter) and "date" not in wire:
        wire["date"] = wire["createdAt"]
    if kind is r.TerritoryObservation and "observedAt" not in wire:
        wire["observedAt"] = wire["createdAt"]
    if kind is r.Report:
        key = (str(wire.get("team", "")), str(wire.get("date", "")))
        from_sheet = services.pop(key, None) if services is not None else None
        wire["services"] = from_sheet if from_sheet is not None else counters
        plan.add_values("services", list(wire["services"]))


def _column_of(field: str, mapped: dict[int, Column], sheet: Sheet) -> str:
    """The header of the column a field was read from."""
    base = field.split(".", 1)[-1] if field.startswith("customFields.") else field
    for index, col in mapped.items():
        if col.field == base:
            return sheet.header[index]
    return base
