"""What an import of MANO's files found and did: its result, sheet and field reports,
problems and notices, each with a stable code and its parameters
(mano_core.reporting.problems)."""

from __future__ import annotations

from typing import Any

import msgspec

from mano_core.codes import Code
from mano_core.reporting.problems import ImportCode, NoticeCode, invalid_fields, problem_fields

from . import cells


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


def problem(sheet: str, row: int, column: str, code: ImportCode, **values: Any) -> Problem:
    """A problem of ``code`` with its parameters and English reason."""
    return Problem(sheet=sheet, row=row, column=column, **problem_fields(code, **values))


def cell_problem(sheet: str, row: int, column: str, exc: cells.CellError) -> Problem:
    """The problem a cell's CellError says."""
    return Problem(sheet=sheet, row=row, column=column, **exc.fields())


def invalid(sheet: str, row: int, column: str, code: Code, params: Any) -> Problem:
    """A record's own refusal (a ValidationError's code and parameters)."""
    return Problem(sheet=sheet, row=row, column=column, **invalid_fields(code, params))


class SheetReport(msgspec.Struct, frozen=True, kw_only=True):
    """What one sheet held and what the import makes of it."""
    sheet: str
    collection: str
    rows: int
    new: int  # records this import creates
    present: int  # records the team already holds (same id): left as they are
    columns: tuple[str, ...]  # headers read
    ignored: tuple[str, ...]  # headers not read (technical, or medical on this device)


class FieldReport(msgspec.Struct, frozen=True, kw_only=True):
    """A custom field a sheet's column fills (found, MANO's default, or new)."""
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
