"""Importing what MANO exports: its full export (``Exporter les données en .xlsx``, one sheet
per collection) or its persons file (``Télécharger un exemple``), all or nothing.

Sheets are found by name (vocabulary.EXPORT_SHEETS), columns by MANO's field names or the
French labels (columns.py), values read as MANO writes them (cells.py). Ids are kept, so the
links between sheets (an action's person, a comment's action, an observation's territory…)
stay true; MANO's users become member names (``memberName.<id>`` settings) and authors;
MANO's sub-teams (``équipes``) become sub-teams with the same ids (or the team's sub-team of
the same name). A column that is not a field of the record is a custom field (customs.py).
Values of the team's lists (categories, collaborations, territory types, services,
consultation types, out-of-active-list reasons) that the team lacks are added to its lists.

Nothing is written unless every row of every sheet converts and validates: then the general
compartment's records, history, custom fields and settings are inserted in one CRDT
transaction and committed, and the medical compartment's in a second. A record whose id the
team already holds is left as it is and counted as present, so an import interrupted between
the two commits (or run twice) completes when run again. On a device without the medical
compartment the medical sheets and the health-only person fields are not imported, and the
report says so. Every problem and notice has a stable code with its parameters
(mano_core.reporting.problems); an interface says them in its language."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any, Final

import msgspec

from mano_core.document import layout
from mano_core.document.health import health_value_id
from mano_core.document.queries import fold
from mano_core.codes import Code
from mano_core.errors import ValidationError
from mano_core.ids import Compartment
from mano_core.model import records as r
from mano_core.model.validation import custom_value_problem, validate
from mano_core.reporting.problems import ImportCode, NoticeCode, invalid_fields, problem_fields
from mano_core.team import Team

from . import cells, customs, history
from .columns import BY_COLLECTION, CUSTOM_SCOPES, Column
from .customs import FieldChoice
from .vocabulary import (
    EXPORT_SHEETS,
    EXTRA_SHEETS,
    LIST_LABELS,
    MEDICAL_SHEETS,
    OUT_OF_ACTIVE_LIST_REASONS,
    TECHNICAL_COLUMNS,
    TERRITORY_TYPES,
)
from .workbook import Sheet, find_sheet, read_workbook

MEMBER_NAMES_KEY: Final = "memberName."  # team setting: memberName.<member id> → display name
_SERVICES_NAMESPACE: Final = uuid.UUID("1b6f8f6c-6a8e-4c55-9a57-3f1f0a0d6d2e")
Progress = Callable[[int, int], None]

_ENUMS: Final[dict[str, tuple[str, ...]]] = {
    "GENDERS": r.GENDERS, "ACTION_STATUSES": r.ACTION_STATUSES, "ATMOSPHERES": r.ATMOSPHERES}
_RECORDS: Final[dict[str, type[r.Record]]] = {
    k.collection: k for k in (*r.GENERAL_RECORDS, *r.MEDICAL_RECORDS)}
# Build order: a sheet's links point to sheets built before it.
_ORDER: Final = ("subteams", "customFields", "persons", "places", "personPlaces", "territories",
                 "observations", "structures", "actions", "comments", "passages", "encounters",
                 "groups", "reports", "consultations", "treatments", "medicalFiles",
                 "medicalComments")
_ENUM_WHAT: Final = {"GENDERS": "gender", "ACTION_STATUSES": "status",
                     "ATMOSPHERES": "atmosphere"}
_LIST_DEFAULTS: Final[dict[str, tuple[str, ...]]] = {
    "outOfActiveListReasons": OUT_OF_ACTIVE_LIST_REASONS + r.OUT_OF_ACTIVE_LIST_REASONS,
    "territoryTypes": TERRITORY_TYPES,
}


class Problem(msgspec.Struct, frozen=True, kw_only=True):
    """Why a cell, a row or a sheet cannot be imported: ``code`` and its parameters
    (mano_core.reporting.problems); ``reason`` is the English text, for logs."""

    sheet: str
    row: int  # as a spreadsheet shows it: the header is row 1; 0 for the whole sheet
    column: str
    code: ImportCode
    value: str = ""
    expected: tuple[str, ...] = ()
    what: str = ""
    validation: str = ""  # a mano_core.codes.Code when ``code`` is INVALID
    params: dict[str, Any] = {}
    reason: str = ""


class Notice(msgspec.Struct, frozen=True, kw_only=True):
    """What the coordinator should know (nothing blocks the import)."""

    code: NoticeCode
    count: int
    value: str = ""
    what: str = ""


def _problem(sheet: str, row: int, column: str, code: ImportCode, **values: Any) -> Problem:
    return Problem(sheet=sheet, row=row, column=column, **problem_fields(code, **values))


def _cell_problem(sheet: str, row: int, column: str, exc: cells.CellError) -> Problem:
    return Problem(sheet=sheet, row=row, column=column, **exc.fields())


def _invalid(sheet: str, row: int, column: str, code: Code, params: Any) -> Problem:
    return Problem(sheet=sheet, row=row, column=column, **invalid_fields(code, params))


class SheetReport(msgspec.Struct, frozen=True, kw_only=True):
    sheet: str
    collection: str
    rows: int
    new: int  # records this import creates
    present: int  # records the team already holds (same id): left as they are
    columns: tuple[str, ...]  # headers read
    ignored: tuple[str, ...]  # headers not read (technical, or medical on this device)


class FieldReport(msgspec.Struct, frozen=True, kw_only=True):
    scope: str
    label: str
    key: str
    type: str
    origin: str  # "existing", "mano" (MANO's default field) or "new" (type read from values)
    added_options: tuple[str, ...] = ()
    health_only: bool = False


class MigrationResult(msgspec.Struct, frozen=True, kw_only=True):
    """What an import of MANO's files found and did. ``applied`` is false after a dry run or
    with any problem (then nothing was changed)."""

    sheets: tuple[SheetReport, ...]
    problems: tuple[Problem, ...]
    notices: tuple[Notice, ...]  # what the coordinator should know (nothing blocks)
    fields: tuple[FieldReport, ...]
    settings_added: dict[str, list[str]]
    members: dict[str, str]  # MANO user id → name
    medical_skipped: bool
    dry_run: bool
    applied: bool
    created: int  # records created (0 unless applied)


class _Plan:
    def __init__(self, team: Team, medical: bool, now: dt.datetime, author: str) -> None:
        self.team = team
        self.medical = medical
        self.now = now
        self.author = author
        self.records: dict[str, list[r.Record]] = {}
        self.present: dict[str, int] = {}
        self.history: dict[Compartment, list[r.HistoryEntry]] = {
            Compartment.GENERAL: [], Compartment.MEDICAL: []}
        self.problems: list[Problem] = []
        self.notices: dict[tuple[NoticeCode, str, str], int] = {}
        self.fields: dict[tuple[str, str], FieldChoice] = {}
        self.settings_added: dict[str, list[str]] = {}
        self.members: dict[str, str] = {}  # MANO user id → name
        self.member_ids: dict[str, str] = {}  # MANO user id → our member id
        self.known: dict[str, set[str]] = {}  # collection → ids (team's and the file's)
        self.by_name: dict[str, dict[str, str | None]] = {}  # collection → folded name → id
        self.sheets: list[SheetReport] = []
        self.health_dropped = 0
        self.file_ids: dict[str, set[str]] = {}  # collection → ids met in the file
        self.file_definitions: list[r.CustomFieldDefinition] = []  # "champs personnalisés"

    def in_file(self, collection: str) -> set[str]:
        return self.file_ids.setdefault(collection, set())

    def notice(self, code: NoticeCode, count: int = 1, *, value: str = "",
               what: str = "") -> None:
        key = (code, value, what)
        self.notices[key] = self.notices.get(key, 0) + count

    def list_values(self, kind: str) -> list[str]:
        return [*self.team.settings.values(kind), *self.settings_added.get(kind, [])]

    def add_values(self, kind: str, values: list[str]) -> None:
        current = set(self.list_values(kind))
        for value in values:
            if value not in current:
                self.settings_added.setdefault(kind, []).append(value)
                current.add(value)


# --- entry point --------------------------------------------------------------------------------


async def import_mano(team: Team, data: bytes, *, dry_run: bool = False,
                      progress: Progress | None = None) -> MigrationResult:
    """Import MANO's full export or persons file (XLSX bytes), all or nothing.

    ``progress(done, total)`` is called as rows are read and once the records are written.
    LimitExceededError past the workbook limits (nothing read). Never partly applied: with
    any problem, or a dry run, nothing is changed."""
    report = progress or (lambda done, total: None)
    try:
        sheets = read_workbook(data)
    except ValidationError as exc:
        problem = (_problem("", 0, "", ImportCode.NOT_A_WORKBOOK,
                            value=str(exc.params.get("detail", "")))
                   if exc.code is Code.NOT_A_WORKBOOK else _invalid("", 0, "", exc.code,
                                                                     exc.params))
        return _result(None, [problem], [], dry_run, False, 0)
    holder = team.compartment(Compartment.GENERAL)
    plan = _Plan(team, team.medical is not None, holder.core.now(), team.info.member)
    found = _identify(sheets, plan)
    if not found:
        names = ", ".join(s.title for s in sheets)
        plan.problems.append(_problem("", 0, "", ImportCode.NO_MANO_SHEET, value=names))
    else:
        _build(plan, found, report)
    apply = not plan.problems and not dry_run
    created = 0
    if apply:
        created = await _apply(plan)
    total = sum(len(s.rows) for s in found.values()) if found else 0
    report(total, total)
    return _result(plan, plan.problems, plan.sheets, dry_run, apply, created)


def _result(plan: _Plan | None, problems: list[Problem], sheets: list[SheetReport],
            dry_run: bool, applied: bool, created: int) -> MigrationResult:
    if plan is None:
        return MigrationResult(sheets=(), problems=tuple(problems), notices=(), fields=(),
                               settings_added={}, members={}, medical_skipped=False,
                               dry_run=dry_run, applied=False, created=0)
    fields = tuple(
        FieldReport(scope=c.definition.scope, label=c.definition.label_text,
                    key=c.definition.key, type=c.definition.type,
                    origin="existing" if not c.created else
                    "mano" if c.from_mano_defaults else "new",
                    added_options=c.added_options, health_only=c.definition.health_only)
        for c in plan.fields.values())
    notices = tuple(Notice(code=code, count=n, value=value, what=what)
                    for (code, value, what), n in plan.notices.items())
    return MigrationResult(
        sheets=tuple(sheets), problems=tuple(sorted(problems, key=lambda p: (p.sheet, p.row))),
        notices=notices, fields=fields, settings_added=plan.settings_added,
        members=plan.members, medical_skipped=(not plan.medical and any(
            s.collection in MEDICAL_SHEETS for s in sheets)) or plan.health_dropped > 0,
        dry_run=dry_run, applied=applied, created=created)


def _identify(sheets: list[Sheet], plan: _Plan) -> dict[str, Sheet]:
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


# --- building ----------------------------------------------------------------------------------


def _build(plan: _Plan, found: dict[str, Sheet], report: Progress) -> None:
    team = plan.team
    for collection in ("persons", "actions", "territories", "places", "subteams", "structures",
                       "observations", "comments", "passages", "encounters", "reports",
                       "groups", "personPlaces", "customFields"):
        records = getattr(team, {"personPlaces": "person_places",
                                 "customFields": "custom_fields"}.get(collection, collection))
        plan.known[collection] = {x.id for x in records.list(include_deleted=True)}
    if team.medical is not None:
        for collection, attr in (("consultations", "consultations"),
                                 ("treatments", "treatments"),
                                 ("medicalFiles", "medical_files"),
                                 ("medicalComments", "comments")):
            plan.known[collection] = {
                x.id for x in getattr(team.medical, attr).list(include_deleted=True)}
    plan.by_name["subteams"] = _names(team.subteams.list())
    plan.by_name["persons"] = _names(team.persons.list())
    _users(plan, found.get("users"))
    _settings(plan, found.get("settings"))
    total = sum(len(s.rows) for s in found.values())
    done = 0
    services: dict[tuple[str, str], dict[str, int]] = {}
    for collection in _ORDER:
        if collection == "reports":  # service counters name sub-teams: read after them
            services = _services(plan, found.get("services"))
        sheet = found.get(collection)
        if sheet is None:
            continue
        _sheet(plan, collection, sheet, services if collection == "reports" else None)
        done += len(sheet.rows)
        report(done, total)
    if services:  # counters of days without a report row: a report each
        _reports_from_services(plan, services)
    if "services" in found:
        s = found["services"]
        plan.sheets.append(SheetReport(sheet=s.title, collection="services", rows=len(s.rows),
                                       new=len(s.rows), present=0, columns=tuple(s.header),
                                       ignored=()))


def _names(items: Any) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for item in items:
        key = fold(item.name.strip())
        out[key] = None if key in out and out[key] != item.id else item.id  # None: ambiguous
    return out


def _same_field_held(plan: _Plan, record: r.Record) -> bool:
    """A field definition of the file whose key the team already has in that scope."""
    if not isinstance(record, r.CustomFieldDefinition):
        return False
    return any(d.scope == record.scope and d.key == record.key
               for d in plan.team.custom_fields.list())


def _settings(plan: _Plan, sheet: Sheet | None) -> None:
    """Our "listes" sheet: (list, value) rows, values of the team's lists."""
    if sheet is None:
        return
    cols = _map_header(sheet, "settings", plan)[0]
    by_label = {fold(label): kind for kind, label in LIST_LABELS.items()}
    by_label.update((fold(kind), kind) for kind in LIST_LABELS)
    for number, row in sheet.rows:
        values = {c.field: cells.text(row[i]) for i, c in cols.items() if i < len(row)}
        kind = by_label.get(fold(values.get("list", "")))
        if kind is None or not values.get("value"):
            plan.problems.append(_problem(sheet.title, number, "Liste", ImportCode.UNKNOWN_LIST,
                                          value=values.get("list", "")))
            continue
        plan.add_values(kind, [values["value"]])
    plan.sheets.append(SheetReport(sheet=sheet.title, collection="settings",
                                   rows=len(sheet.rows), new=len(sheet.rows), present=0,
                                   columns=tuple(sheet.header), ignored=()))


def _users(plan: _Plan, sheet: Sheet | None) -> None:
    if sheet is None:
        return
    cols = _map_header(sheet, "users", plan)[0]
    ours = {}
    for member in _our_members(plan.team):
        name = plan.team.settings.get(MEMBER_NAMES_KEY + member)
        if name:
            ours[fold(str(name))] = member
    for _number, row in sheet.rows:
        values = {c.field: row[i] for i, c in cols.items() if i < len(row)}
        user_id = cells.text(values.get("id"))
        name = cells.text(values.get("name")) or cells.text(values.get("email"))
        if not user_id:
            continue
        plan.members[user_id] = name
        plan.member_ids[user_id] = ours.get(fold(name), user_id) if name else user_id
    plan.sheets.append(SheetReport(sheet=sheet.title, collection="users", rows=len(sheet.rows),
                                   new=len(plan.members), present=0,
                                   columns=tuple(sheet.header[i] for i in cols), ignored=()))


def _our_members(team: Team) -> set[str]:
    """This device's member and, on a team with keys, every member of the membership log."""
    members = {team.info.member}
    log = getattr(team.keys, "log", None)
    if log is not None:
        members |= {d.member for d in log.active_devices()}
    return members


def _member(plan: _Plan, mano_id: str | None) -> str | None:
    if not mano_id:
        return None
    return plan.member_ids.get(mano_id, mano_id)


def _map_header(sheet: Sheet, collection: str, plan: _Plan) -> tuple[
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


def _sheet(plan: _Plan, collection: str, sheet: Sheet,
           services: dict[tuple[str, str], dict[str, int]] | None) -> None:
    mapped, custom, ignored = _map_header(sheet, collection, plan)
    if collection == "persons" and "name" not in {c.field for c in mapped.values()}:
        plan.problems.append(_problem(sheet.title, 1, "Nom prénom ou Pseudonyme",
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
            plan.problems.append(_problem(sheet.title, number, "_id", ImportCode.DUPLICATE_ID,
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


def _row(plan: _Plan, collection: str, kind: type[r.Record], sheet: Sheet, number: int,
         row: list[Any], mapped: dict[int, Column], custom: dict[int, str],
         choices: dict[int, FieldChoice], definitions: list[r.CustomFieldDefinition],
         services: dict[tuple[str, str], dict[str, int]] | None) -> r.Record | None:
    wire: dict[str, Any] = {}
    extras: dict[str, Any] = {}
    bad = False
    for index, col in mapped.items():
        value = row[index] if index < len(row) else None
        if cells.is_empty(value) and col.kind != "bool":
            continue
        try:
            parsed = _cell(plan, col, value)
        except cells.CellError as exc:
            plan.problems.append(_cell_problem(sheet.title, number, sheet.header[index], exc))
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
                plan.problems.append(_cell_problem(sheet.title, number, label, exc))
                bad = True
            continue
        definition = choices[index].definition
        if definition.scope == "person" and definition.health_only and not plan.medical:
            plan.health_dropped += 1
            continue
        try:
            custom_values[definition.key] = customs.parse_value(definition, value)
        except cells.CellError as exc:
            plan.problems.append(_cell_problem(sheet.title, number, label, exc))
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
        plan.problems.append(_invalid(sheet.title, number, column, exc.code, exc.params))
        return None
    if health and not _health_values(plan, record, health, choices, sheet, number, custom):
        return None
    _extras(plan, collection, record, extras, sheet, number)
    return record


def _health_only(choices: dict[int, FieldChoice], key: str) -> bool:
    return any(c.definition.key == key and c.definition.health_only for c in choices.values())


def _health_values(plan: _Plan, person: r.Record, values: dict[str, Any],
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
            plan.problems.append(_invalid(sheet.title, number, labels.get(key, key),
                                          problem.code, problem.params))
            ok = False
            continue
        out.append(r.HealthValue(
            id=health_value_id(person.id, key), created_at=person.created_at,
            updated_at=person.updated_at, created_by=person.created_by,
            updated_by=person.updated_by, person=person.id, field=key, value=value))
    return ok


def _cell(plan: _Plan, col: Column, value: Any) -> Any:
    k = col.kind
    if k == "id":
        return cells.text(value)
    if k in ("text", "long"):  # a text is kept as written (spaces and line ends included)
        return value if isinstance(value, str) else cells.text(value)
    if k == "aliases":
        return [p.strip() for p in cells.text(value).split(";") if p.strip()]
    if k == "day":
        return cells.day(value).isoformat()
    if k == "instant":
        return msgspec.to_builtins(cells.instant(value))
    if k == "bool":
        return cells.boolean(value)
    if k == "number":
        return cells.number(value)
    if k == "member":
        return _member(plan, cells.text(value))
    if k == "members":
        return [m for m in (_member(plan, i) for i in cells.ids(value)) if m]
    if k == "json":
        return cells.json_value(value)
    if k in ("values", "value"):
        options = [*plan.list_values(col.target), *_LIST_DEFAULTS.get(col.target, ())]
        items = (cells.split_choices(value, options) if k == "values"
                 else [cells.choice(value, options)])
        plan.add_values(col.target, items)
        return items if k == "values" else items[0]
    if k == "enum":
        fixed = _ENUMS[col.target]
        found = {fold(o): o for o in fixed}.get(fold(cells.text(value)))
        if found is None:
            raise cells.CellError(ImportCode.UNKNOWN_VALUE, value=cells.text(value),
                                  expected=fixed, what=_ENUM_WHAT[col.target])
        return found
    if k == "ref":
        return _ref(plan, col.target, cells.text(value))
    if k == "refs":
        names = [n for n, i in plan.by_name.get(col.target, {}).items() if i]
        raw = cells.ids(value) if _looks_like_ids(value) else cells.split_choices(value, names)
        return list(dict.fromkeys(_ref(plan, col.target, i) for i in raw))
    raise AssertionError(f"unknown column kind {k}")


def _looks_like_ids(value: Any) -> bool:
    raw = cells.text(value)
    return raw.startswith("[") or all(_is_uuid(p.strip()) for p in raw.split(",") if p.strip())


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _ref(plan: _Plan, target: str, raw: str) -> str:
    if _is_uuid(raw) or raw in plan.known.get(target, ()):
        if raw not in plan.known.get(target, ()):
            plan.notice(NoticeCode.MISSING_LINK, what=_WHAT.get(target, "value"))
        return raw
    found = plan.by_name.get(target, {}).get(fold(raw))
    if found is None:
        code = (ImportCode.AMBIGUOUS_NAME if fold(raw) in plan.by_name.get(target, {})
                else ImportCode.UNKNOWN_REFERENCE)
        raise cells.CellError(code, value=raw, what=_WHAT.get(target, "value"))
    return found


_WHAT: Final = {"persons": "person", "subteams": "subteam", "actions": "action",
                "territories": "territory", "places": "place", "structures": "structure"}


def _complete(plan: _Plan, collection: str, kind: type[r.Record], wire: dict[str, Any],
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


def _services(plan: _Plan, sheet: Sheet | None) -> dict[tuple[str, str], dict[str, int]]:
    """MANO's service counters (one row per team, day and service) by (team, day)."""
    out: dict[tuple[str, str], dict[str, int]] = {}
    if sheet is None:
        return out
    mapped = _map_header(sheet, "services", plan)[0]
    for number, row in sheet.rows:
        values: dict[str, Any] = {}
        try:
            for index, col in mapped.items():
                value = row[index] if index < len(row) else None
                if not cells.is_empty(value):
                    values[col.field] = _cell(plan, col, value)
        except cells.CellError as exc:
            plan.problems.append(_cell_problem(sheet.title, number, "", exc))
            continue
        if not values.get("team") or not values.get("date") or not values.get("service"):
            plan.problems.append(_problem(sheet.title, number, "",
                                          ImportCode.INCOMPLETE_SERVICE))
            continue
        day = out.setdefault((values["team"], values["date"]), {})
        day[values["service"]] = day.get(values["service"], 0) + int(values.get("count", 0))
    return out


def _reports_from_services(plan: _Plan, services: dict[tuple[str, str], dict[str, int]]) -> None:
    out = plan.records.setdefault("reports", [])
    known = plan.known.setdefault("reports", set())
    stamp = msgspec.to_builtins(plan.now)
    for (team, day), counters in sorted(services.items()):
        # the same id on every run, so that running the import again finds it present
        report_id = str(uuid.uuid5(_SERVICES_NAMESPACE, f"{team}/{day}"))
        if report_id in known:
            continue
        known.add(report_id)
        wire = {"id": report_id, "createdAt": stamp, "updatedAt": stamp,
                "createdBy": plan.author, "updatedBy": plan.author, "team": team, "date": day,
                "services": counters}
        out.append(layout.decode(r.Report, wire))
    services.clear()


def _extras(plan: _Plan, collection: str, record: r.Record, extras: dict[str, Any],
            sheet: Sheet, number: int) -> None:
    medical = collection in MEDICAL_SHEETS
    compartment = Compartment.MEDICAL if medical else Compartment.GENERAL
    plan.history[compartment].append(r.HistoryEntry(
        id=str(uuid.uuid4()), created_at=record.created_at, updated_at=record.created_at,
        created_by=record.created_by, updated_by=record.created_by,
        record_collection=collection, record_id=record.id, field="created",
        at=record.created_at, author=record.created_by))
    raw = extras.get("history")
    if raw:
        fields = plan.fields
        custom = {k[1]: c.definition.key for k, c in fields.items()}

        def field_name(mano: str) -> str | None:
            key = custom.get(fold(mano))
            if key is not None:
                return f"customFields.{key}"
            for col in BY_COLLECTION[collection]:
                if mano in col.mano and col.kind not in ("json", "display"):
                    return col.field
            return mano

        try:
            found = history.entries(collection, record.id, raw, field_name=field_name,
                                    member=lambda m: _member(plan, m))
        except cells.CellError as exc:
            plan.problems.append(_cell_problem(sheet.title, number, "history", exc))
            found = []
        health = {f"customFields.{c.definition.key}" for c in fields.values()
                  if c.definition.scope == "person" and c.definition.health_only}
        for entry in found:
            if entry.field in health:  # health data: medical history, or not at all
                if plan.medical:
                    plan.history[Compartment.MEDICAL].append(entry)
            else:
                plan.history[compartment].append(entry)
    documents = extras.get("documents")
    if isinstance(documents, list) and documents:
        plan.notice(NoticeCode.DOCUMENTS_NOT_IMPORTED, len(documents))
    comments = extras.get("comments")
    if isinstance(comments, list) and comments and medical:
        try:
            plan.records.setdefault("medicalComments", []).extend(
                _medical_comments(plan, collection, record, comments))
        except cells.CellError as exc:
            plan.problems.append(_cell_problem(sheet.title, number, "comments", exc))
        except ValidationError as exc:
            plan.problems.append(_invalid(sheet.title, number, "comments", exc.code,
                                          exc.params))


def _medical_comments(plan: _Plan, collection: str, parent: r.Record,
                      raw: list[Any]) -> list[r.MedicalComment]:
    """The comments MANO keeps inside a consultation, treatment or medical file, as our
    medical comments (each its own record, in the medical compartment)."""
    person = getattr(parent, "person", "")
    out = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            raise cells.CellError(ImportCode.BAD_COMMENT)
        given = str(item.get("_id") or "")
        comment_id = given if _is_uuid(given) else str(
            uuid.uuid5(_SERVICES_NAMESPACE, f"comment/{parent.id}/{index}"))
        when = cells.instant(item.get("date") or item.get("createdAt")
                             or msgspec.to_builtins(parent.created_at))
        author = _member(plan, str(item["user"])) if item.get("user") else parent.created_by
        wire = {"id": comment_id, "createdAt": msgspec.to_builtins(when),
                "updatedAt": msgspec.to_builtins(when), "createdBy": author,
                "updatedBy": author, "person": person, "text": cells.text(item.get("comment")),
                "date": msgspec.to_builtins(when), "urgent": bool(item.get("urgent")),
                "team": str(item["team"]) if item.get("team") else None,
                "consultation": parent.id if collection == "consultations" else None,
                "treatment": parent.id if collection == "treatments" else None}
        record = layout.decode(r.MedicalComment, wire)
        validate(record, [])
        assert isinstance(record, r.MedicalComment)
        out.append(record)
    return out


def _column_of(field: str, mapped: dict[int, Column], sheet: Sheet) -> str:
    base = field.split(".", 1)[-1] if field.startswith("customFields.") else field
    for index, col in mapped.items():
        if col.field == base:
            return sheet.header[index]
    return base


# --- writing -----------------------------------------------------------------------------------


async def _apply(plan: _Plan) -> int:
    team = plan.team
    general = team.compartment(Compartment.GENERAL)
    core = general.core
    created = 0
    medical = {"consultations", "treatments", "medicalFiles", "personHealthValues",
               "medicalComments"}
    with core.doc.transaction():  # one update: everything of the general compartment or none
        for kind, values in plan.settings_added.items():
            core.settings.add(kind, *values)  # type: ignore[attr-defined]
        for mano_id, name in plan.members.items():
            member = plan.member_ids.get(mano_id, mano_id)
            if name and not team.settings.get(MEMBER_NAMES_KEY + member):
                core.settings.set(MEMBER_NAMES_KEY + member, name)  # type: ignore[attr-defined]
        fields = core.collections["customFields"]
        new_fields = [c.definition for c in plan.fields.values() if c.created]
        fields.insert_many([*plan.records.pop("customFields", []), *new_fields])
        for choice in plan.fields.values():
            if not choice.created and choice.added_options:
                fields.update(choice.definition.id, options=choice.definition.options)
        for collection, items in plan.records.items():
            if collection not in medical and items:
                created += core.collections[collection].insert_many(items)
        core.collections["history"].insert_many(plan.history[Compartment.GENERAL])
    await general.commit()
    if team.medical is not None and (any(plan.records.get(c) for c in medical)
                                     or plan.history[Compartment.MEDICAL]):
        holder = team.compartment(Compartment.MEDICAL)
        with holder.core.doc.transaction():
            for collection in sorted(medical):
                target = holder.core.collections[collection]
                held = {x.id for x in target.list(include_deleted=True)}
                fresh = [x for x in plan.records.get(collection, []) if x.id not in held]
                if fresh:
                    created += target.insert_many(fresh)
            holder.core.collections["history"].insert_many(plan.history[Compartment.MEDICAL])
        await holder.commit()
    return created


__all__ = ["FieldReport", "MigrationResult", "Notice", "Problem", "SheetReport",
           "import_mano"]
