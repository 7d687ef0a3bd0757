"""Imports of persons and actions from CSV or XLSX, all or nothing.

Every row is first converted (column by column: each bad cell is a problem) and then built
into a record through the same checks as ``Collection.create`` (msgspec types, then the domain
rules of ``model.validation``). Only if no row has a problem, and it is not a dry run, are
all the records inserted in one CRDT transaction and one commit; otherwise nothing changes.

Rows are numbered as a spreadsheet shows them: the header is row 1, the first data row is
row 2; a problem with the whole file is on row 0. Every problem has a stable code and its
parameters (``problems.py``, docs/reports.md "Problem codes"). Limits: ``MAX_IMPORT_BYTES``,
``MAX_IMPORT_ROWS`` (LimitExceededError, nothing read)."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Final, Literal

import msgspec

from mano_core.document import layout
from mano_core.document.queries import fold
from mano_core.errors import LimitExceededError, ValidationError
from mano_core.codes import Code
from mano_core.ids import Compartment
from mano_core.mano_compat import cells as mano_cells
from mano_core.mano_compat.vocabulary import OUT_OF_ACTIVE_LIST_REASONS as MANO_REASONS
from mano_core.mano_compat.vocabulary import PERSON_FIELDS as MANO_PERSON_FIELDS
from mano_core.model.records import (
    ACTION_STATUSES,
    GENDERS,
    OUT_OF_ACTIVE_LIST_REASONS,
    Action,
    CustomFieldDefinition,
    Person,
    Record,
)
from mano_core.model.validation import field_names, validate
from mano_core.optional import require
from mano_core.team import Team

from . import cells
from .problems import ImportCode, invalid_fields, problem_fields
from .tables import ACTION_COLUMNS, PERSON_COLUMNS
from .view import TeamView

MAX_IMPORT_BYTES: Final = 20 * 1024 * 1024
MAX_IMPORT_ROWS: Final = 50_000
IGNORED: Final = frozenset({"id", "created_at"})  # an import always creates new records

ImportKind = Literal["persons", "actions"]
FileFormat = Literal["csv", "xlsx"]
Parser = Callable[[Any], Any]


class RowProblem(msgspec.Struct, frozen=True, kw_only=True):
    """Why one row (or the header, row 1, or the file, row 0) cannot be imported: ``code``
    and its parameters (``problems.py``); ``reason`` is the English text, for logs."""

    row: int
    column: str
    code: ImportCode
    value: str = ""
    expected: tuple[str, ...] = ()
    what: str = ""
    validation: str = ""  # a mano_core.codes.Code when ``code`` is INVALID
    params: dict[str, Any] = {}
    reason: str = ""


def _problem(row: int, column: str, code: ImportCode, **values: Any) -> RowProblem:
    return RowProblem(row=row, column=column, **problem_fields(code, **values))


class ImportResult(msgspec.Struct, frozen=True, kw_only=True):
    """What an import found and did. ``applied`` is false after a dry run or any problem."""

    kind: str
    rows: int
    valid: int
    problems: tuple[RowProblem, ...]
    columns: dict[str, str]  # header → field used
    ignored_columns: tuple[str, ...]
    applied: bool
    created: tuple[str, ...] = ()


# --- reading files ------------------------------------------------------------------------------


def read_rows(data: bytes, fmt: FileFormat, *, encoding: str = "utf-8-sig",
              sheet: str = "") -> tuple[list[str], list[tuple[int, list[Any]]], list[RowProblem]]:
    """(header, numbered non-empty rows, problems) of a CSV or XLSX file: of an XLSX, the
    first sheet whose name contains ``sheet`` (accents and case aside: MANO's export has one
    sheet per collection), else its first sheet."""
    if len(data) > MAX_IMPORT_BYTES:
        raise LimitExceededError("MAX_IMPORT_BYTES", len(data), MAX_IMPORT_BYTES)
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ValidationError("import", "encoding", Code.UNKNOWN_ENCODING,
                              encoding=encoding) from None
    table, problems = _xlsx_rows(data, sheet) if fmt == "xlsx" else _csv_rows(data, encoding)
    if problems:
        return [], [], problems
    if not table:
        return [], [], [_problem(0, "", ImportCode.EMPTY_FILE)]
    header = [cells.text(h) if not cells.is_empty(h) else "" for h in table[0]]
    rows = [(n, row) for n, row in enumerate(table[1:], 2)
            if any(not cells.is_empty(c) for c in row)]
    if len(rows) > MAX_IMPORT_ROWS:
        raise LimitExceededError("MAX_IMPORT_ROWS", len(rows), MAX_IMPORT_ROWS)
    return header, rows, []


def _csv_rows(data: bytes, encoding: str) -> tuple[list[list[Any]], list[RowProblem]]:
    bad = []
    for number, line in enumerate(data.split(b"\n"), 1):
        try:
            line.decode(encoding)
        except UnicodeDecodeError as exc:
            bad.append(_problem(number, "", ImportCode.BAD_ENCODING,
                                value=f"0x{line[exc.start]:02x}", expected=(encoding,)))
    if bad:
        return [], bad
    text = data.decode(encoding)
    first = text.split("\n", 1)[0]
    delimiter = max(";,\t", key=first.count) if first else ";"
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    return [list(row) for row in reader], []


def _xlsx_rows(data: bytes, name: str) -> tuple[list[list[Any]], list[RowProblem]]:
    openpyxl = require("openpyxl", "xlsx")  # only XLSX needs it (extra [xlsx])
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a non-workbook
        return [], [_problem(0, "", ImportCode.NOT_A_WORKBOOK, value=type(exc).__name__)]
    try:
        named = [ws for ws in book.worksheets if name and fold(name) in fold(ws.title)]
        sheet = (named or book.worksheets)[0]
        return [list(row) for row in sheet.iter_rows(values_only=True)], []
    finally:
        book.close()


# --- columns ------------------------------------------------------------------------------------


def known_columns(kind: ImportKind, definitions: list[CustomFieldDefinition]) -> dict[str, str]:
    """Folded header → field: labels, snake_case and camelCase names, custom fields."""
    record = Person if kind == "persons" else Action
    columns = PERSON_COLUMNS if kind == "persons" else ACTION_COLUMNS
    known = {fold(label): field for field, label in columns}
    if kind == "persons":  # MANO's labels ("Nom prénom ou Pseudonyme"…) and field names
        for mano_name, field, label in MANO_PERSON_FIELDS:
            known.setdefault(fold(label), field)
            known.setdefault(fold(mano_name), field)
    for name, wire in field_names(record):
        known.setdefault(fold(name), name)
        known.setdefault(fold(wire), name)
    if kind == "persons":
        for d in definitions:
            if d.scope == "person":
                for name in (d.label_text, d.key, f"customFields.{d.key}"):
                    known.setdefault(fold(name), f"customFields.{d.key}")
    return known


def map_columns(header: list[str], kind: ImportKind, definitions: list[CustomFieldDefinition],
                mapping: Mapping[str, str] | None) -> tuple[dict[int, str], list[str],
                                                             list[RowProblem]]:
    """(column index → field, ignored headers, header problems). ``mapping`` (header →
    field, or "" to skip a column) overrides the automatic matching of headers."""
    known = known_columns(kind, definitions)
    explicit = {fold(k): v for k, v in (mapping or {}).items()}
    fields: dict[int, str] = {}
    ignored: list[str] = []
    problems: list[RowProblem] = []
    for index, name in enumerate(header):
        target = known.get(fold(name))
        if fold(name) in explicit:
            wanted = explicit[fold(name)].strip()
            target = known.get(fold(wanted)) if wanted else None
            if wanted and target is None:
                problems.append(_problem(1, name, ImportCode.UNKNOWN_FIELD, value=wanted))
                continue
        if target is None or target in IGNORED:
            if name:
                ignored.append(name)
            continue
        if target in fields.values():
            problems.append(_problem(1, name, ImportCode.SECOND_COLUMN, value=target))
            continue
        fields[index] = target
    present = {fold(h) for h in header}
    problems += [_problem(1, name, ImportCode.NO_SUCH_COLUMN)
                 for name in (mapping or {}) if fold(name) not in present]
    if "name" not in fields.values():
        problems.append(_problem(1, "name", ImportCode.NO_NAME_COLUMN))
    if kind == "actions" and "due_at" not in fields.values():
        problems.append(_problem(1, "due_at", ImportCode.NO_DUE_COLUMN))
    return fields, ignored, problems


# --- converting and building --------------------------------------------------------------------


def _parsers(view: TeamView, kind: ImportKind,
             definitions: list[CustomFieldDefinition]) -> dict[str, Parser]:
    teams = {t.id: t.id for t in view.subteams.list()}
    teams.update((fold(t.name), t.id) for t in view.subteams.list())

    def lookup(table: dict[str, str], what: str, ambiguous: frozenset[str] = frozenset()
               ) -> Parser:
        def parse(value: Any) -> list[str]:
            out = []
            for item in cells.items(value):
                found = table.get(item) or table.get(fold(item))
                if found is None:
                    code = (ImportCode.AMBIGUOUS_NAME if fold(item) in ambiguous
                            else ImportCode.UNKNOWN_REFERENCE)
                    raise cells.CellError(code, value=item, what=what)
                out.append(found)
            return list(dict.fromkeys(out))
        return parse

    def many(options: list[str], what: str) -> Parser:
        # "; " (Mano) or ", " (MANO) between values; a known value holding a comma stays whole
        return lambda v: [cells.choice(i, options, what)
                          for i in mano_cells.split_choices(v, options)]

    common: dict[str, Parser] = {"name": cells.text, "description": cells.text}
    if kind == "actions":
        persons: dict[str, str] = {}
        ambiguous: set[str] = set()
        for p in view.persons.list():
            persons[p.id] = p.id
            if fold(p.name) in persons:
                ambiguous.add(fold(p.name))
            persons[fold(p.name)] = p.id
        for name in ambiguous:  # two persons share that name: only their ids are accepted
            del persons[name]
        structures = {s.id: s.id for s in view.structures.list()}
        structures.update((fold(s.name), s.id) for s in view.structures.list())
        categories = list(view.settings.values("actionCategories"))
        return common | {
            "persons": lookup(persons, "person", frozenset(ambiguous)),
            "teams": lookup(teams, "subteam"), "due_at": cells.instant,
            "with_time": cells.boolean, "completed_at": lambda v: cells.instant(v)[0],
            "status": lambda v: cells.choice(v, ACTION_STATUSES, "status"),
            "categories": many(categories, "category"),
            "urgent": cells.boolean, "group": cells.boolean,
            "structure": lambda v: lookup(structures, "structure")(cells.text(v))[0],
        }
    parsers = common | {
        "other_names": cells.items, "gender": lambda v: cells.choice(v, GENDERS, "gender"),
        "birthdate": _day, "phone": cells.text, "email": cells.text,
        "alertness": cells.boolean, "wandering_at": _day, "followed_since": _day,
        "assigned_teams": lookup(teams, "subteam"), "out_of_active_list": cells.boolean,
        "out_of_active_list_date": _day,
        "out_of_active_list_reasons": many(list(dict.fromkeys(
            [*view.settings.values("outOfActiveListReasons"), *MANO_REASONS,
             *OUT_OF_ACTIVE_LIST_REASONS])), "reason"),
    }
    for d in definitions:
        if d.scope == "person":
            parsers[f"customFields.{d.key}"] = _custom_parser(d)
    return parsers


def _day(value: Any) -> dt.date:
    """A day, also as MANO writes it (``1975-03-02T00:00:00.000Z``: its day in Paris)."""
    try:
        return cells.day(value)
    except cells.CellError:
        try:
            return mano_cells.day(value)
        except mano_cells.CellError:
            pass
        raise


def _custom_parser(d: CustomFieldDefinition) -> Parser:
    kind = d.type
    if kind == "number":
        return cells.number
    if kind in ("yes-no", "boolean"):
        return cells.boolean
    if kind == "date":
        return lambda v: _day(v).isoformat()
    if kind == "date-with-time":
        return lambda v: msgspec.to_builtins(cells.instant(v)[0])  # "…Z", as stored
    if kind == "enum":
        return lambda v: cells.choice(v, d.options, "option")
    if kind == "multi-choice":
        return lambda v: [cells.choice(i, d.options, "option")
                          for i in mano_cells.split_choices(v, d.options)]
    return cells.text


def _build(kind: type[Record], fields: dict[str, Any], custom: dict[str, Any],
           definitions: list[CustomFieldDefinition], now: dt.datetime,
           author: str | None) -> Record:
    """A record through the same checks as Collection.create (types, then domain rules)."""
    names = dict(field_names(kind))
    wire = {names[k]: msgspec.to_builtins(v) for k, v in fields.items()}
    if custom:
        wire["customFields"] = custom
    stamp = now.isoformat()
    wire.update(id=str(uuid.uuid4()), createdAt=stamp, updatedAt=stamp, createdBy=author,
                updatedBy=author)
    record = layout.decode(kind, wire)
    validate(record, definitions)
    return record


def plan(view: TeamView, kind: ImportKind, header: list[str],
         rows: list[tuple[int, list[Any]]], mapping: Mapping[str, str] | None = None, *,
         now: dt.datetime, author: str | None) -> tuple[
             list[Record], list[RowProblem], dict[int, str], list[str]]:
    """(records, problems, column index → field, ignored headers) for rows already read."""
    definitions = list(view.custom_fields.list())
    columns, ignored, problems = map_columns(header, kind, definitions, mapping)
    if problems:
        return [], problems, columns, ignored
    parsers = _parsers(view, kind, definitions)
    record_kind: type[Record] = Person if kind == "persons" else Action
    header_of = {field: header[i] for i, field in columns.items()}
    wire_to_field = {wire: name for name, wire in field_names(record_kind)}
    records: list[Record] = []
    for number, row in rows:
        fields: dict[str, Any] = {}
        custom: dict[str, Any] = {}
        bad = False
        for index, field in columns.items():
            value = row[index] if index < len(row) else None
            if cells.is_empty(value):
                continue
            try:
                parsed = parsers[field](value)
            except cells.CellError as exc:
                problems.append(RowProblem(row=number, column=header[index], **exc.fields()))
                bad = True
                continue
            if field.startswith("customFields."):
                custom[field.split(".", 1)[1]] = parsed
            elif field == "due_at":
                fields["due_at"], timed = parsed
                fields.setdefault("with_time", timed)
            else:
                fields[field] = parsed
        if bad:
            continue
        try:
            records.append(_build(record_kind, fields, custom, definitions, now, author))
        except ValidationError as exc:
            field = wire_to_field.get(exc.field, exc.field)
            column = header_of.get(field) or header_of.get(exc.field) or exc.field
            problems.append(RowProblem(row=number, column=column,
                                       **invalid_fields(exc.code, exc.params)))
    return records, problems, columns, ignored


async def import_file(team: Team, kind: ImportKind, data: bytes, fmt: FileFormat, *,
                      mapping: Mapping[str, str] | None = None, dry_run: bool = False,
                      encoding: str = "utf-8-sig") -> ImportResult:
    """Check every row of a file and, if none has a problem and it is not a dry run, create
    all its records at once (durable on return). With any problem nothing is changed."""
    header, rows, problems = read_rows(data, fmt, encoding=encoding,
                                       sheet="person" if kind == "persons" else "action")
    records: list[Record] = []
    columns: dict[int, str] = {}
    ignored: list[str] = []
    holder = team.compartment(Compartment.GENERAL)
    if not problems:
        records, problems, columns, ignored = plan(
            team, kind, header, rows, mapping, now=holder.core.now(), author=team.info.member)
    apply = not problems and not dry_run and bool(records)
    if apply:
        core = holder.core
        with core.doc.transaction():  # one update: every record or none
            core.collections[kind].insert_many(records)
            for record in records:
                core.write_history(kind, record.id, "created", None, None)
        await holder.commit()
    return ImportResult(
        kind=kind, rows=len(rows), valid=len(records),
        problems=tuple(sorted(problems, key=lambda p: (p.row, p.column))),
        columns={header[i]: f for i, f in columns.items()}, ignored_columns=tuple(ignored),
        applied=apply, created=tuple(r.id for r in records) if apply else ())
